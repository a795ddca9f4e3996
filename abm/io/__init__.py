"""Run-directory input/output: atomic writes, manifests, time series, snapshots, checkpoints."""

from abm.io.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from abm.io.errors import RunDirectoryError
from abm.io.rundir import MANIFEST_FORMAT_VERSION, RunDirectory
from abm.io.snapshots import SnapshotStore

__all__ = [
    "MANIFEST_FORMAT_VERSION",
    "RunDirectory",
    "RunDirectoryError",
    "SnapshotStore",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
]
