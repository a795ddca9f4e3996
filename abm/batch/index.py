"""The sweep index ``DIR/sweep.parquet``: one row per run, rewritten atomically as runs finish.

Columns: ``run_index``, ``run_id``, ``point``, ``replicate``, ``seed``, one column per varied
key (named by its key path; a key whose values are all numbers holds numbers, any other holds
JSON text),
``status`` (``pending``, ``completed`` or ``failed``), ``error`` (one line, for a failed run),
``attempts``, ``wall_time_s`` (of the last attempt, s) and the summary metrics of a completed
run (``final_<time-series column>``, see :mod:`abm.batch.task`).

The resolved sweep is stored as ``DIR/sweep.yaml``; running a different sweep into the same
directory is refused.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from abm.batch.plan import PlannedRun, SweepPlan
from abm.batch.sweepfile import Sweep
from abm.io.atomic import atomic_write_bytes, atomic_write_text
from abm.io.errors import RunDirectoryError

INDEX = "sweep.parquet"
RESOLVED_SWEEP = "sweep.yaml"
RUNS = "runs"
PENDING, COMPLETED, FAILED = "pending", "completed", "failed"
SUMMARY_PREFIX = "final_"
"""Prefix of the summary columns: the last time-series row of a completed run."""


def claim_directory(plan: SweepPlan, out: Path) -> None:
    """Create ``out`` for this sweep, or check that it already holds this very sweep.

    Raises:
        RunDirectoryError: ``out`` is a file, holds a different sweep (one line naming the
            first setting that differs), or holds other files and no sweep.
    """
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(out, "exists and is not a directory")
    stored_path = out / RESOLVED_SWEEP
    resolved = plan.resolved_yaml()
    if stored_path.is_file():
        stored = stored_path.read_text(encoding="utf-8")
        if stored != resolved:
            raise RunDirectoryError(
                stored_path,
                f"this directory holds a different sweep ({_first_difference(stored, resolved)});"
                f" run {plan.sweep.source} into a new --out directory",
            )
        return
    if out.is_dir() and any(out.iterdir()):
        raise RunDirectoryError(out, f"not empty and holds no {RESOLVED_SWEEP}; use a new --out")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stored_path, resolved)  # first: a directory with anything has it
    (out / RUNS).mkdir(exist_ok=True)


def _first_difference(stored: str, resolved: str) -> str:
    """The first line of the stored sweep that differs from the new one, as ``old -> new``."""
    old_lines, new_lines = stored.splitlines(), resolved.splitlines()
    for old, new in zip(old_lines, new_lines, strict=False):
        if old != new:
            return f"{old.strip()!s} -> {new.strip()!s}"
    return f"{len(old_lines)} -> {len(new_lines)} lines"


class SweepIndex:
    """The rows of ``DIR/sweep.parquet``, keyed by run id."""

    def __init__(self, path: Path, rows: dict[str, dict[str, Any]]):
        self.path = path
        self.rows = rows

    @classmethod
    def for_plan(cls, plan: SweepPlan, out: Path) -> SweepIndex:
        """The index of ``out`` (runs of an earlier attempt keep their rows), else all pending.

        Raises:
            RunDirectoryError: the index exists but is not a readable Parquet file.
        """
        path = out / INDEX
        as_json = {
            key for key in plan.sweep.sweep.parameters
            if not all(_is_number(run.parameters[key]) for run in plan.runs)
        }
        rows = {run.run_id: _pending_row(run, as_json) for run in plan.runs}
        if path.is_file():
            for row in read_index(path):
                if row["run_id"] in rows:
                    rows[row["run_id"]] = row
        return cls(path, rows)

    def status(self, run_id: str) -> str:
        """Status of a run: pending, completed or failed."""
        return self.rows[run_id]["status"]

    def record(self, run_id: str, outcome: dict[str, Any]) -> None:
        """Record the outcome of an attempt (status, error, wall time, summary) of a run."""
        row = {
            key: value
            for key, value in self.rows[run_id].items()
            if not key.startswith(SUMMARY_PREFIX)
        }
        row.update(outcome)
        row["attempts"] = int(self.rows[run_id]["attempts"]) + 1
        self.rows[run_id] = row

    def counts(self) -> dict[str, int]:
        """Number of runs per status."""
        counts = {PENDING: 0, COMPLETED: 0, FAILED: 0}
        for row in self.rows.values():
            counts[row["status"]] += 1
        return counts

    def write(self) -> None:
        """Atomically replace ``sweep.parquet`` with the current rows (in run order)."""
        rows = sorted(self.rows.values(), key=lambda row: row["run_index"])
        columns = dict.fromkeys(key for row in rows for key in row)  # first-seen order
        table = pa.table({key: [row.get(key) for row in rows] for key in columns})
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        atomic_write_bytes(self.path, buffer.getvalue())


def stored_sweep(out: Path) -> Sweep:
    """The sweep stored in a sweep directory by :func:`claim_directory`.

    Raises:
        RunDirectoryError: not a sweep directory, or its ``sweep.yaml`` is unreadable.
    """
    path = out / RESOLVED_SWEEP
    if not path.is_file():
        raise RunDirectoryError(out, f"not a sweep directory (no {RESOLVED_SWEEP})")
    try:
        settings = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
        settings["scenario"] = settings["scenario"]["file"]
        del settings["runs"]
        return Sweep.model_validate(settings)
    except (YAMLError, ValueError, KeyError, TypeError) as exc:
        raise RunDirectoryError(path, f"corrupt stored sweep ({exc})") from exc


def read_index(path: Path) -> list[dict[str, Any]]:
    """The rows of a sweep index file.

    Raises:
        RunDirectoryError: missing or not a readable Parquet file.
    """
    if not path.is_file():
        raise RunDirectoryError(path, "sweep index not found (run `abm sweep run` first)")
    try:
        return pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise RunDirectoryError(path, f"not a readable Parquet file ({exc})") from exc


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _pending_row(run: PlannedRun, as_json: set[str]) -> dict[str, Any]:
    """A run not yet attempted; the varied keys in ``as_json`` are stored as JSON text."""
    parameters = {
        key: json.dumps(value) if key in as_json else value
        for key, value in run.parameters.items()
    }
    return {
        "run_index": run.index,
        "run_id": run.run_id,
        "point": run.point,
        "replicate": run.replicate,
        "seed": run.seed,
        **parameters,
        "status": PENDING,
        "error": None,
        "attempts": 0,
        "wall_time_s": None,
    }
