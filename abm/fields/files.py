"""Per-voxel arrays read from files named in a scenario (bone, vessels): ``.npy`` arrays or
greyscale images (``.png``, ``.tif``/``.tiff``, ``.bmp``).

Orientation: a ``.npy`` array is indexed ``[x, y]`` as the lattice is. An image is as it looks
on screen: pixel column i is x = i and pixel row j (counted from the top row) is y = j, so the
image's width × height is the lattice's nx × ny.

Values: a ``.npy`` array holds fractions 0–1. An image's grey levels are scaled by the largest
level of its bit depth (1-bit: 0/1; 8-bit: /255; 16- and 32-bit integer: /65535); a
floating-point image holds fractions 0–1 as they are. Colour images are read as their luminance
(ITU-R 601-2, 8-bit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".bmp")
"""File name endings read as images (case-insensitive); anything else is read as ``.npy``."""

_INTEGER_FULL_SCALE = {"1": 1.0, "L": 255.0, "I": 65535.0}
"""Grey level read as fraction 1, by Pillow mode ('I;16*' modes count as 'I')."""


def read_fraction_file(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Load a per-voxel fraction array (``float64[nx, ny]``, values 0–1) from a ``.npy`` file
    or a greyscale image (module docstring: orientation and scaling).

    Raises:
        ValueError: one-line reason when the file is unreadable, of the wrong shape, or has
            values outside 0–1.
    """
    if "\0" in str(path):
        raise ValueError(f"{path!r}: a file path cannot contain a NUL character")
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        array = _read_image(path)
    else:
        array = _read_npy(path)
    if tuple(array.shape) != tuple(shape):
        raise ValueError(f"{path}: shape {array.shape} differs from the lattice shape {shape}")
    if not np.all(np.isfinite(array)) or array.min() < 0.0 or array.max() > 1.0:
        raise ValueError(f"{path}: values must lie in 0-1")
    return array


def _read_npy(path: str | Path) -> np.ndarray:
    """A 2-D real array from a ``.npy`` file, as ``float64``."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path} as a .npy array: {exc}") from None
    if not isinstance(array, np.ndarray) or array.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array, got shape {getattr(array, 'shape', '?')}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{path}: dtype {array.dtype} is not a real number type")
    return array.astype(np.float64)


def _read_image(path: str | Path) -> np.ndarray:
    """Grey levels of a single-frame image scaled to fractions, ``float64[width, height]``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if getattr(image, "n_frames", 1) != 1:
                raise ValueError(f"{path}: a multi-frame image; save the one section to use")
            if image.mode not in ("1", "L", "F") and not image.mode.startswith("I"):
                image = image.convert("L")
            mode = "I" if image.mode.startswith("I") else image.mode
            levels = np.asarray(image, dtype=np.float64)
    except FileNotFoundError:
        raise ValueError(f"file not found: {path}") from None
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"cannot read {path} as an image: {exc}") from None
    if mode in _INTEGER_FULL_SCALE:
        levels = levels / _INTEGER_FULL_SCALE[mode]
    return levels.T
