"""Initial mineralized-bone geometry: the per-voxel mineral fraction at t = 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abm.scenario.schema import BoneFromFile, Domain, NoBone

MINERALIZED_FRACTION = 0.5
"""A voxel whose mineral fraction is at least this is bone: cells cannot enter it. [A]"""


def read_bone_file(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Load a mineral-fraction array from a ``.npy`` file and check it.

    Raises:
        ValueError: one-line reason when the file is unreadable, of the wrong shape, or has
            values outside 0–1.
    """
    if "\0" in str(path):
        raise ValueError(f"{path!r}: a file path cannot contain a NUL character")
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path} as a .npy array: {exc}") from None
    if not isinstance(array, np.ndarray) or array.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array, got shape {getattr(array, 'shape', '?')}")
    if tuple(array.shape) != tuple(shape):
        raise ValueError(f"{path}: shape {array.shape} differs from the lattice shape {shape}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{path}: dtype {array.dtype} is not a real number type")
    values = array.astype(np.float64)
    if not np.all(np.isfinite(values)) or values.min() < 0.0 or values.max() > 1.0:
        raise ValueError(f"{path}: mineral fractions must lie in 0-1")
    return values


def initial_mineral_fraction(domain: Domain) -> np.ndarray:
    """Mineral fraction (0–1) of every voxel at t = 0, ``float64[nx, ny]``."""
    bone = domain.initial_bone
    if isinstance(bone, NoBone):
        return np.zeros(domain.shape)
    if isinstance(bone, BoneFromFile):
        return read_bone_file(bone.path, domain.shape)
    raise TypeError(f"unhandled initial bone kind {bone!r}")
