"""Provenance of a run: package and dependency versions, git revision, clock times."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

DEPENDENCIES = (
    "marrow-abm", "mesa", "numba", "numpy", "pydantic", "ruamel.yaml", "typer", "rich", "zarr",
    "pyarrow", "matplotlib", "imageio-ffmpeg",
)


def versions() -> dict[str, str | None]:
    """Installed version of this package and each dependency (None if not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in DEPENDENCIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_revision() -> dict[str, str | bool] | None:
    """Commit and dirty flag of the checkout this package runs from, or None outside git."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"revision": rev, "dirty": bool(dirty)}


def environment() -> dict[str, str | None]:
    """Settings that can change performance but never results."""
    return {
        "platform": platform.platform(),
        "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS"),
    }


def utc_now() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
