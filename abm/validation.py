"""Replicate runs for the validation report (``abm validate-model``; docs/validation.md).

Each scenario becomes a sweep without parameters — ``replicates`` runs of the scenario with
seeds from one root seed, for a given number of days — written to ``OUT/sweeps/<label>.yaml``
and run by :mod:`abm.batch` into ``OUT/<label>/``: on Dask, resumable (re-running skips
completed runs and retries failed ones), each run its own run directory. The labels are the
caller's; nothing here knows what a scenario stands for.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from abm.batch.execute import run_directory, run_sweep
from abm.batch.index import COMPLETED
from abm.batch.plan import SweepPlan, plan_sweep
from abm.io.atomic import atomic_write_text
from abm.observers.progress import ProgressMode
from abm.scenario.loader import dump_yaml

SWEEPS = "sweeps"
"""Folder of ``OUT`` holding the generated sweep files."""


def write_replicate_sweep(
    out: Path, label: str, scenario_file: Path, *, replicates: int, days: float, seed: int
) -> Path:
    """Write the sweep file of ``replicates`` runs of ``scenario_file`` lasting ``days``;
    returns its path (``OUT/sweeps/<label>.yaml``)."""
    path = out / SWEEPS / f"{label}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep = {
        "description": f"{label}: {replicates} replicates of {scenario_file.name} for"
        f" {days:g} days (abm validate-model)",
        "scenario": str(scenario_file.resolve()),
        "set": {"time.duration_d": days},
        "design": {"kind": "grid"},
        "replicates": replicates,
        "seed": seed,
    }
    atomic_write_text(path, dump_yaml(sweep))
    return path


def plan_replicates(
    scenarios: Mapping[str, Path], out: Path, *, replicates: int, days: float, seed: int
) -> dict[str, SweepPlan]:
    """Write and plan the replicate sweep of every scenario (label → plan); every scenario
    is checked before anything runs."""
    return {
        label: plan_sweep(write_replicate_sweep(
            out, label, path, replicates=replicates, days=days, seed=seed
        ))
        for label, path in scenarios.items()
    }


def run_replicates(
    plans: Mapping[str, SweepPlan], out: Path, client: Any, *, progress: ProgressMode = "auto"
) -> tuple[dict[str, list[Path]], int]:
    """Run every plan on ``client``'s cluster into ``OUT/<label>/``; returns the run
    directories of the completed runs by label, and the number of failed runs."""
    completed: dict[str, list[Path]] = {}
    failed = 0
    for label, plan in plans.items():
        sweep_dir = out / label
        index = run_sweep(plan, sweep_dir, client, progress=progress)
        completed[label] = [
            run_directory(sweep_dir, run) for run in plan.runs
            if index.status(run.run_id) == COMPLETED
        ]
        failed += len(plan.runs) - len(completed[label])
    return completed, failed
