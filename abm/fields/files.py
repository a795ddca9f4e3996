"""Per-voxel arrays read from ``.npy`` files named in a scenario (bone, vessels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_fraction_file(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Load a per-voxel fraction array (``float64[nx, ny]``, values 0–1) from a ``.npy`` file.

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
        raise ValueError(f"{path}: values must lie in 0-1")
    return values
