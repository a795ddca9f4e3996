"""Initial mineralized-bone geometry: the per-voxel mineral fraction at t = 0."""

from __future__ import annotations

import numpy as np

from abm.bone.trabeculae import trabecular_network
from abm.fields.files import read_fraction_file
from abm.scenario.schema import BoneFromFile, Domain, NoBone, TrabecularNetwork

MINERALIZED_FRACTION = 0.5
"""A voxel whose matrix (mineral + osteoid) fraction is at least this is bone: cells cannot
enter it. [A]"""


def initial_mineral_fraction(domain: Domain, rng: np.random.Generator) -> np.ndarray:
    """Mineral fraction (0–1) of every voxel at t = 0, ``float64[nx, ny]`` (a procedural
    network draws from ``rng``)."""
    bone = domain.initial_bone
    if isinstance(bone, NoBone):
        return np.zeros(domain.shape)
    if isinstance(bone, BoneFromFile):
        return read_fraction_file(bone.path, domain.shape)
    if isinstance(bone, TrabecularNetwork):
        return trabecular_network(
            domain.shape, domain.voxel_um, bone.bone_volume_fraction,
            bone.trabecular_thickness_um, rng, periodic=domain.boundary == "periodic",
        )
    raise TypeError(f"unhandled initial bone kind {bone!r}")
