"""Crash-safe file writes: readers see either the old complete file or the new complete file.

Each write goes to a hidden temporary file in the destination's directory
(``.<name>.<random>.tmp``), is flushed and ``fsync``-ed, and is then moved onto the
destination with ``os.replace`` (atomic on POSIX within one file system). The directory is
``fsync``-ed afterwards so the rename itself survives a crash. On any failure the temporary
file is removed and the destination is left untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _process_umask() -> int:
    """Return the process umask (permission bits to clear from new files)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Temporary files are created with mode 0o600; the final file gets the mode a plain
# ``open(path, "w")`` would have given it (0o666 minus the umask read once at import).
_FILE_MODE = 0o666 & ~_process_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Atomically replace (or create) the file ``path`` with the bytes ``data``.

    Args:
        path: Destination file; its parent directory must exist.
        data: Complete new file content.

    Raises:
        OSError: If the temporary file cannot be written or moved into place; the previous
            content of ``path`` (if any) is then unchanged and no temporary file remains.
    """
    path = Path(path)
    tmp = tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with tmp:
            tmp.write(data)
            tmp.flush()
            os.fchmod(tmp.fileno(), _FILE_MODE)
            os.fsync(tmp.fileno())
        os.replace(tmp.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp.name)
        raise
    _fsync_directory(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Atomically replace (or create) the file ``path`` with ``text`` encoded as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    """Atomically replace (or create) ``path`` with ``obj`` as indented JSON.

    The JSON is written with an indent of 2, keys in insertion order and a trailing newline.

    Raises:
        TypeError: If ``obj`` is not JSON-serialisable (nothing is written then).
    """
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def _fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (e.g. a just-completed rename) to stable storage."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
