"""Initial mineralized-bone geometry: the per-voxel mineral fraction at t = 0."""

from __future__ import annotations

import numpy as np

from abm.fields.files import read_fraction_file
from abm.scenario.schema import BoneFromFile, Domain, NoBone

MINERALIZED_FRACTION = 0.5
"""A voxel whose mineral fraction is at least this is bone: cells cannot enter it. [A]"""


def initial_mineral_fraction(domain: Domain) -> np.ndarray:
    """Mineral fraction (0–1) of every voxel at t = 0, ``float64[nx, ny]``."""
    bone = domain.initial_bone
    if isinstance(bone, NoBone):
        return np.zeros(domain.shape)
    if isinstance(bone, BoneFromFile):
        return read_fraction_file(bone.path, domain.shape)
    raise TypeError(f"unhandled initial bone kind {bone!r}")
