"""Time series of 2-D field snapshots stored in a Zarr v3 directory store (``fields.zarr``).

Layout of the store (one Zarr group)::

    fields.zarr/
        zarr.json            group; attributes: format_version, shape [nx, ny], layers [names]
        <layer>/             one array per layer, shape (n_snapshots, nx, ny), chunks (1, nx, ny)
        step/                int64 array, shape (n_snapshots,), chunks (4096,)

Snapshot ``i`` of every layer was taken at simulation step ``step[i]`` (steps are strictly
increasing). Values are stored in each layer's own dtype and units (whatever the caller put
in). All arrays use the same explicit codecs (little-endian bytes + Zstandard level 3, no
checksum), so writing identical data produces byte-identical chunk files; truncating and
re-appending produces the same files as never having written the dropped snapshots.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import zarr
from zarr.codecs import BytesCodec, ZstdCodec
from zarr.errors import BaseZarrError
from zarr.storage import LocalStore

from abm.io.errors import RunDirectoryError

STEP_ARRAY = "step"
"""Name of the 1-D int64 array holding the simulation step of each snapshot."""

STEP_CHUNK = 4096
"""Number of step values per chunk of the ``step`` array."""

SNAPSHOT_FORMAT_VERSION = 1
"""Version of the store layout, kept in the group attribute ``format_version``."""

_CHUNK_KEY_ENCODING: dict[str, Any] = {"name": "default", "configuration": {"separator": "/"}}


def _codecs() -> dict[str, Any]:
    """Explicit, deterministic codec settings shared by every array of the store."""
    return {
        "serializer": BytesCodec(endian="little"),
        "compressors": ZstdCodec(level=3, checksum=False),
        "filters": None,
        "chunk_key_encoding": _CHUNK_KEY_ENCODING,
    }


def _check_layer_name(name: str) -> None:
    """Raise ValueError unless ``name`` can be used as a layer (Zarr array) name."""
    if (
        not isinstance(name, str)
        or not name
        or name == STEP_ARRAY
        or name in {".", ".."}
        or name.startswith("__")
        or "/" in name
    ):
        raise ValueError(
            f"invalid layer name {name!r}: must be a non-empty string without '/', "
            f"not starting with '__' and not {STEP_ARRAY!r}"
        )


class SnapshotStore:
    """Append-only (with truncation) store of per-step 2-D field snapshots.

    Build instances with :meth:`create` or :meth:`open`, not with the constructor.
    """

    def __init__(
        self, path: Path, shape: tuple[int, int], layers: dict[str, zarr.Array], step: zarr.Array
    ) -> None:
        """Wrap already validated, writable arrays of one store (internal; use create/open)."""
        self._path = path
        self._shape = shape
        self._layers = tuple(layers)
        self._arrays = layers
        self._step = step

    @classmethod
    def create(
        cls, path: Path, shape: tuple[int, int], layers: Mapping[str, npt.DTypeLike]
    ) -> SnapshotStore:
        """Create a new, empty store at ``path``.

        Args:
            path: Directory of the new store (e.g. ``run/fields.zarr``); must not exist.
            shape: Grid size ``(nx, ny)`` in lattice sites; both must be positive.
            layers: Layer name -> dtype, in the order the layers should be listed.

        Raises:
            RunDirectoryError: If ``path`` already exists.
            ValueError: If ``shape`` or a layer name is invalid, or no layer is given.
        """
        path = Path(path)
        nx, ny = (int(n) for n in shape)
        if nx <= 0 or ny <= 0:
            raise ValueError(f"grid shape must be two positive integers, got {shape!r}")
        if not layers:
            raise ValueError("a snapshot store needs at least one layer")
        for name in layers:
            _check_layer_name(name)
        if path.exists():
            raise RunDirectoryError(path, "snapshot store already exists")
        group = zarr.open_group(
            LocalStore(path),
            mode="w-",
            zarr_format=3,
            attributes={
                "format_version": SNAPSHOT_FORMAT_VERSION,
                "shape": [nx, ny],
                "layers": list(layers),
            },
        )
        arrays = {
            name: group.create_array(
                name, shape=(0, nx, ny), chunks=(1, nx, ny), dtype=np.dtype(dtype), **_codecs()
            )
            for name, dtype in layers.items()
        }
        step = group.create_array(
            STEP_ARRAY, shape=(0,), chunks=(STEP_CHUNK,), dtype=np.int64, **_codecs()
        )
        return cls(path, (nx, ny), arrays, step)

    @classmethod
    def open(cls, path: Path) -> SnapshotStore:
        """Open an existing store at ``path`` for reading and appending.

        Raises:
            RunDirectoryError: (one-line message) if ``path`` is missing, is not a Zarr v3
                group, or does not have the layout written by :meth:`create`.
        """
        path = Path(path)
        if not path.is_dir():
            raise RunDirectoryError(path, "snapshot store not found")
        try:
            group = zarr.open_group(LocalStore(path), mode="r+", zarr_format=3)
        except (BaseZarrError, OSError, ValueError, KeyError, TypeError) as exc:
            raise RunDirectoryError(path, f"not a readable Zarr group ({exc})") from exc
        attrs = group.attrs.asdict()
        shape = attrs.get("shape")
        layers = attrs.get("layers")
        if (
            attrs.get("format_version") != SNAPSHOT_FORMAT_VERSION
            or not isinstance(shape, list)
            or len(shape) != 2
            or not all(isinstance(n, int) and n > 0 for n in shape)
            or not isinstance(layers, list)
            or not layers
            or not all(isinstance(name, str) for name in layers)
        ):
            raise RunDirectoryError(
                path,
                "not a snapshot store (group attributes format_version/shape/layers "
                "missing or invalid)",
            )
        grid = (shape[0], shape[1])
        arrays: dict[str, zarr.Array] = {}
        for name in layers:
            node = group.get(name)
            if not isinstance(node, zarr.Array) or node.ndim != 3 or node.shape[1:] != grid:
                raise RunDirectoryError(
                    path, f"layer {name!r} is missing or is not an (n, {grid[0]}, {grid[1]}) array"
                )
            arrays[name] = node
        step = group.get(STEP_ARRAY)
        if not isinstance(step, zarr.Array) or step.ndim != 1:
            raise RunDirectoryError(path, f"{STEP_ARRAY!r} array is missing or not 1-D")
        return cls(path, grid, arrays, step)

    @property
    def path(self) -> Path:
        """Directory of the Zarr store."""
        return self._path

    @property
    def shape(self) -> tuple[int, int]:
        """Grid size ``(nx, ny)`` of every snapshot, in lattice sites."""
        return self._shape

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Names of the stored layers, in creation order."""
        return self._layers

    def dtype(self, name: str) -> np.dtype[Any]:
        """Return the stored dtype of layer ``name`` (KeyError if there is no such layer)."""
        return self._arrays[name].dtype

    def __len__(self) -> int:
        """Number of stored snapshots (the length of the ``step`` array)."""
        return int(self._step.shape[0])

    def steps(self) -> np.ndarray:
        """Return the simulation step of every snapshot as a 1-D int64 array (increasing)."""
        return np.asarray(self._step[:], dtype=np.int64)

    def read(self, name: str, index: int) -> np.ndarray:
        """Return snapshot number ``index`` (0-based; negative counts from the end) of a layer.

        Returns:
            A new ``(nx, ny)`` array in the layer's dtype.

        Raises:
            KeyError: If there is no layer ``name``.
            IndexError: If ``index`` is out of range.
        """
        array = self._arrays[name]
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"snapshot index {index} out of range for {n} snapshots")
        return np.asarray(array[index % n])

    def append(self, step: int, arrays: Mapping[str, npt.ArrayLike]) -> None:
        """Append one snapshot taken at simulation step ``step``.

        Every array is checked before anything is written. Layers are written first and the
        ``step`` array last, so ``len(self)`` only grows once the snapshot is complete; a
        layer left longer by an interrupted append is cut back by the next append.

        Args:
            step: Simulation step of the snapshot; must exceed the last stored step.
            arrays: Exactly one ``(nx, ny)`` array per layer name. Values are cast to the
                layer's dtype; only casts within a kind (e.g. float64 -> float32) are allowed.

        Raises:
            ValueError: On missing/extra layer names, a wrong shape, an unsafe dtype cast,
                or a step that is not larger than the previous one.
        """
        if set(arrays) != set(self._layers):
            raise ValueError(
                f"snapshot layers {sorted(arrays)} do not match store layers {sorted(self._layers)}"
            )
        n = len(self)
        step = int(step)
        if n and step <= int(self._step[n - 1]):
            raise ValueError(
                f"snapshot step {step} is not after the last stored step {int(self._step[n - 1])}"
            )
        prepared: dict[str, np.ndarray] = {}
        for name in self._layers:
            data = np.asarray(arrays[name])
            target = self._arrays[name].dtype
            if data.shape != self._shape:
                raise ValueError(f"layer {name!r} has shape {data.shape}, expected {self._shape}")
            if not np.can_cast(data.dtype, target, casting="same_kind"):
                raise ValueError(f"layer {name!r}: cannot store {data.dtype} data as {target}")
            prepared[name] = data.astype(target, copy=False)
        for name, data in prepared.items():
            array = self._arrays[name]
            array.resize((n + 1, *self._shape))
            array[n] = data
        self._step.resize((n + 1,))
        self._step[n] = step

    def truncate_after(self, step: int) -> None:
        """Drop every snapshot taken after simulation step ``step`` (e.g. before a resume).

        Chunk files of dropped snapshots are deleted, the partly kept chunk of the ``step``
        array is rewritten without the dropped values, and directories left empty are
        removed, so appending the same snapshots again yields exactly the same files as a
        store that never held the dropped ones.
        """
        steps = self.steps()
        keep = int(np.searchsorted(steps, step, side="right"))
        # The step array goes first: it defines len(self), so an interrupted truncation
        # never leaves step entries without layer data (longer layers are cut by append).
        # Shrinking keeps a partly covered boundary chunk intact, stale values included:
        # cut back to the chunk boundary (deleting that chunk), then rewrite the kept tail.
        boundary = keep - keep % self._step.chunks[0]
        self._step.resize((boundary,))
        self._step.resize((keep,))
        if keep > boundary:
            self._step[boundary:keep] = steps[boundary:keep]
        for array in self._arrays.values():
            array.resize((keep, *self._shape))
        for name in (*self._layers, STEP_ARRAY):
            _remove_empty_directories(self._path / name / "c")


def _remove_empty_directories(root: Path) -> None:
    """Remove ``root`` and every directory below it that holds no file (bottom-up)."""
    if not root.is_dir():
        return
    for directory, _subdirs, _files in os.walk(root, topdown=False):
        if not os.listdir(directory):
            os.rmdir(directory)
