"""The on-disk layout of one simulation run and safe access to every file in it.

Layout::

    <run>/
        manifest.json         run metadata (JSON object; at least format_version and status)
        scenario.yaml         the fully resolved scenario, as YAML text
        timeseries.parquet    per-step scalar observables, one column each
        fields.zarr/          2-D field snapshots (see abm.io.snapshots)
        checkpoints/          step_<step, 10 digits>.npz restart files
        plots/                figures, created on demand

Every single-file write is atomic (see abm.io.atomic). Problems a user can cause or fix
(missing or corrupt files, refusing to clobber a directory) raise RunDirectoryError with a
one-line message; programming errors (bad arguments) raise ValueError or TypeError.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from abm.io.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from abm.io.errors import RunDirectoryError
from abm.io.snapshots import SnapshotStore

MANIFEST_FORMAT_VERSION = 1
"""Value of ``format_version`` in the initial manifest written by RunDirectory.create."""

_CHECKPOINT_NAME = re.compile(r"step_(\d{10,})\.npz")
_CHECKPOINT_META_KEY = "__meta__"
# Names np.savez_compressed takes as its own keyword arguments; they cannot name arrays.
_RESERVED_CHECKPOINT_NAMES = frozenset({_CHECKPOINT_META_KEY, "file", "allow_pickle"})
_JSON_TYPE_NAMES = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


class RunDirectory:
    """Handle to one run directory; build with :meth:`create` or :meth:`open`."""

    MANIFEST = "manifest.json"
    SCENARIO = "scenario.yaml"
    TIMESERIES = "timeseries.parquet"
    FIELDS = "fields.zarr"
    CHECKPOINTS = "checkpoints"
    PLOTS = "plots"
    REQUIRED_MANIFEST_KEYS = ("format_version", "status")

    def __init__(self, path: Path) -> None:
        """Wrap ``path`` without any check (internal; use create/open)."""
        self._path = Path(path)

    @classmethod
    def create(cls, path: Path, *, overwrite: bool = False) -> RunDirectory:
        """Create a fresh run directory at ``path`` (parents included).

        The new directory holds ``checkpoints/`` and an initial manifest
        ``{"format_version": MANIFEST_FORMAT_VERSION, "status": "created"}``, so it can be
        opened, resumed or overwritten like any other run directory. An existing empty
        directory is reused.

        Args:
            path: Run directory to create.
            overwrite: Replace an existing non-empty directory, but only if it contains a
                ``manifest.json`` (a user's unrelated folder is never deleted).

        Raises:
            RunDirectoryError: If ``path`` is a file, is non-empty and ``overwrite`` is
                false, is non-empty but not a run directory (or is a symbolic link) while
                ``overwrite`` is true, or cannot be created or removed.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunDirectoryError(path, "exists and is not a directory")
        if path.is_dir() and any(path.iterdir()):
            if not overwrite:
                raise RunDirectoryError(
                    path,
                    "run directory already exists "
                    "(use --overwrite to replace it or --resume to continue it)",
                )
            if not (path / cls.MANIFEST).is_file():
                raise RunDirectoryError(
                    path,
                    f"refusing to overwrite: not a run directory (no {cls.MANIFEST})",
                )
            if path.is_symlink():
                raise RunDirectoryError(
                    path, "refusing to overwrite a symbolic link; remove it by hand"
                )
            try:
                shutil.rmtree(path)
            except OSError as exc:
                raise RunDirectoryError(path, f"cannot remove old run ({exc})") from exc
        try:
            (path / cls.CHECKPOINTS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirectoryError(path, f"cannot create run directory ({exc})") from exc
        run = cls(path)
        run.write_manifest({"format_version": MANIFEST_FORMAT_VERSION, "status": "created"})
        return run

    @classmethod
    def open(cls, path: Path) -> RunDirectory:
        """Open an existing run directory after validating its manifest.

        Raises:
            RunDirectoryError: If ``path`` does not exist or is not a directory, or its
                manifest is missing, unreadable, not a JSON object or lacks a required key.
        """
        path = Path(path)
        if not path.exists():
            raise RunDirectoryError(path, "run directory does not exist")
        if not path.is_dir():
            raise RunDirectoryError(path, "not a directory")
        run = cls(path)
        run.read_manifest()
        return run

    @property
    def path(self) -> Path:
        """The run directory."""
        return self._path

    # -- manifest ---------------------------------------------------------------------

    def read_manifest(self) -> dict[str, Any]:
        """Read and validate ``manifest.json``.

        Raises:
            RunDirectoryError: If the file is missing, unreadable, not valid UTF-8 JSON, not
                a JSON object, or lacks one of REQUIRED_MANIFEST_KEYS.
        """
        path = self._path / self.MANIFEST
        text = _read_text(path, "manifest")
        try:
            manifest = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RunDirectoryError(
                path, f"not valid JSON (line {exc.lineno}, column {exc.colno})"
            ) from exc
        if not isinstance(manifest, dict):
            kind = _JSON_TYPE_NAMES.get(type(manifest), "a number")
            raise RunDirectoryError(path, f"must be a JSON object, not {kind}")
        missing = [key for key in self.REQUIRED_MANIFEST_KEYS if key not in manifest]
        if missing:
            raise RunDirectoryError(path, f"missing required key(s): {', '.join(missing)}")
        return manifest

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Atomically replace ``manifest.json`` with ``manifest`` (key order kept).

        Raises:
            ValueError: If a key of REQUIRED_MANIFEST_KEYS is missing.
            TypeError: If ``manifest`` is not JSON-serialisable (nothing is written then).
        """
        missing = [key for key in self.REQUIRED_MANIFEST_KEYS if key not in manifest]
        if missing:
            raise ValueError(f"manifest lacks required key(s): {', '.join(missing)}")
        atomic_write_json(self._path / self.MANIFEST, dict(manifest))

    def update_manifest(self, **changes: Any) -> dict[str, Any]:
        """Set the given manifest keys (read-modify-write, atomic) and return the new manifest."""
        manifest = self.read_manifest()
        manifest.update(changes)
        self.write_manifest(manifest)
        return manifest

    # -- scenario ---------------------------------------------------------------------

    def write_scenario_text(self, text: str) -> None:
        """Atomically write the resolved scenario YAML ``text`` to ``scenario.yaml``."""
        atomic_write_text(self._path / self.SCENARIO, text)

    def read_scenario_text(self) -> str:
        """Return the text of ``scenario.yaml`` (RunDirectoryError if missing/unreadable)."""
        return _read_text(self._path / self.SCENARIO, "scenario file")

    # -- time series ------------------------------------------------------------------

    def write_timeseries(self, columns: Mapping[str, npt.ArrayLike]) -> None:
        """Atomically write ``timeseries.parquet`` with one column per entry of ``columns``.

        Columns keep the given order, name and dtype (values in whatever units the caller
        uses). The Parquet options are fixed explicitly (Zstandard level 3, no dictionary
        encoding, statistics on, Arrow schema stored, format 2.6, page index off) and the
        file holds no time stamp, so identical input gives a byte-identical file with a
        given pyarrow version.

        Raises:
            ValueError: If a column is not 1-D or the columns differ in length.
        """
        arrays: dict[str, np.ndarray] = {}
        for name, values in columns.items():
            array = np.asarray(values)
            if array.ndim != 1:
                raise ValueError(f"time-series column {name!r} must be 1-D, got {array.ndim}-D")
            arrays[name] = array
        lengths = {name: len(array) for name, array in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"time-series columns differ in length: {lengths}")
        table = pa.table({name: pa.array(array) for name, array in arrays.items()})
        buffer = io.BytesIO()
        pq.write_table(
            table,
            buffer,
            version="2.6",
            compression="zstd",
            compression_level=3,
            use_dictionary=False,
            write_statistics=True,
            store_schema=True,
            write_page_index=False,
            write_page_checksum=False,
        )
        atomic_write_bytes(self._path / self.TIMESERIES, buffer.getvalue())

    def read_timeseries(self) -> pa.Table:
        """Read ``timeseries.parquet`` (RunDirectoryError if missing or not valid Parquet)."""
        path = self._path / self.TIMESERIES
        if not path.is_file():
            raise RunDirectoryError(path, "time series file not found")
        try:
            return pq.read_table(path)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise RunDirectoryError(path, f"not a readable Parquet file ({exc})") from exc

    # -- checkpoints ------------------------------------------------------------------

    @property
    def checkpoints_dir(self) -> Path:
        """Directory holding the checkpoint files."""
        return self._path / self.CHECKPOINTS

    def checkpoint_path(self, step: int) -> Path:
        """Path of the checkpoint for simulation step ``step`` (whether or not it exists)."""
        return self.checkpoints_dir / f"step_{step:010d}.npz"

    def save_checkpoint(
        self, step: int, arrays: Mapping[str, npt.ArrayLike], meta: Mapping[str, Any]
    ) -> Path:
        """Atomically write the restart state of simulation step ``step``.

        Args:
            step: Non-negative simulation step; names the file ``step_<10 digits>.npz``.
            arrays: Named arrays of any non-object dtype, stored losslessly (compressed
                ``.npz``).
            meta: JSON-serialisable metadata (Python ints of any size are kept exactly,
                e.g. a PCG64 bit-generator state), stored as a JSON string in the 0-d
                unicode array ``__meta__``.

        Returns:
            The path of the written checkpoint file.

        Raises:
            ValueError: If ``step`` is negative, an array name is reserved (``__meta__``,
                ``file``, ``allow_pickle``) or an array has object dtype.
            TypeError: If ``meta`` is not JSON-serialisable.
        """
        if step < 0:
            raise ValueError(f"checkpoint step must be non-negative, got {step}")
        reserved = _RESERVED_CHECKPOINT_NAMES.intersection(arrays)
        if reserved:
            raise ValueError(f"reserved checkpoint array name(s): {sorted(reserved)}")
        payload = {name: np.asarray(values) for name, values in arrays.items()}
        payload[_CHECKPOINT_META_KEY] = np.array(json.dumps(dict(meta)))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **payload)
        path = self.checkpoint_path(step)
        self.checkpoints_dir.mkdir(exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
        return path

    def list_checkpoints(self) -> list[int]:
        """Return the steps of all checkpoint files, ascending (temporary files ignored)."""
        if not self.checkpoints_dir.is_dir():
            return []
        steps = []
        for entry in self.checkpoints_dir.iterdir():
            match = _CHECKPOINT_NAME.fullmatch(entry.name)
            if match and entry.is_file():
                steps.append(int(match.group(1)))
        return sorted(steps)

    def load_checkpoint(self, step: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Load the checkpoint of simulation step ``step``.

        Returns:
            ``(arrays, meta)`` exactly as given to :meth:`save_checkpoint`.

        Raises:
            RunDirectoryError: If the file is missing or corrupt (naming the file).
        """
        path = self.checkpoint_path(step)
        if not path.is_file():
            raise RunDirectoryError(path, "checkpoint not found")
        try:
            loaded = np.load(path, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with loaded:
                arrays = {name: loaded[name] for name in loaded.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise RunDirectoryError(path, f"corrupt checkpoint ({exc})") from exc
        meta_array = arrays.pop(_CHECKPOINT_META_KEY, None)
        if meta_array is None or meta_array.ndim != 0 or meta_array.dtype.kind != "U":
            raise RunDirectoryError(path, f"corrupt checkpoint (no valid {_CHECKPOINT_META_KEY})")
        try:
            meta = json.loads(str(meta_array[()]))
        except json.JSONDecodeError as exc:
            raise RunDirectoryError(path, f"corrupt checkpoint metadata ({exc})") from exc
        if not isinstance(meta, dict):
            raise RunDirectoryError(path, "corrupt checkpoint metadata (not a JSON object)")
        return arrays, meta

    def latest_checkpoint(self) -> tuple[int, dict[str, np.ndarray], dict[str, Any]] | None:
        """Return ``(step, arrays, meta)`` of the highest-step checkpoint, or None if none.

        Raises:
            RunDirectoryError: If that checkpoint is corrupt (no silent fallback to an older
                one).
        """
        steps = self.list_checkpoints()
        if not steps:
            return None
        arrays, meta = self.load_checkpoint(steps[-1])
        return steps[-1], arrays, meta

    # -- fields and plots -------------------------------------------------------------

    @property
    def snapshots(self) -> SnapshotStore:
        """The field snapshot store ``fields.zarr`` (RunDirectoryError if missing/corrupt)."""
        return SnapshotStore.open(self._path / self.FIELDS)

    def create_snapshots(
        self, shape: tuple[int, int], layers: Mapping[str, npt.DTypeLike]
    ) -> SnapshotStore:
        """Create the empty snapshot store ``fields.zarr`` (see SnapshotStore.create)."""
        return SnapshotStore.create(self._path / self.FIELDS, shape, layers)

    @property
    def plots_dir(self) -> Path:
        """Directory for figures; created if it does not exist yet."""
        path = self._path / self.PLOTS
        path.mkdir(exist_ok=True)
        return path


def _read_text(path: Path, what: str) -> str:
    """Read a UTF-8 text file, turning every failure into a one-line RunDirectoryError."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RunDirectoryError(path, f"{what} not found") from exc
    except UnicodeDecodeError as exc:
        raise RunDirectoryError(path, f"{what} is not valid UTF-8 text") from exc
    except OSError as exc:
        raise RunDirectoryError(path, f"cannot read {what} ({exc.strerror or exc})") from exc
