"""Replicate runs for the validation report (``abm validate-model``; docs/validation.md).

Each scenario becomes a sweep without parameters — ``replicates`` runs of the scenario, with
the role's fixed parameter changes (``set``), seeds from one root seed, for a given number of
days — written to ``OUT/sweeps/<label>.yaml``
and run by :mod:`abm.batch` into ``OUT/<label>/``: on Dask, resumable (re-running skips
completed runs and retries failed ones), each run its own run directory. The labels are the
caller's; nothing here knows what a scenario stands for.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from abm.batch.execute import run_directory, run_sweep
from abm.batch.index import COMPLETED, SweepIndex
from abm.batch.plan import SweepPlan, plan_sweep
from abm.io.atomic import atomic_write_text
from abm.observers.progress import ProgressMode
from abm.scenario.loader import dump_yaml

SWEEPS = "sweeps"
"""Folder of ``OUT`` holding the generated sweep files."""


def write_replicate_sweep(
    out: Path, label: str, scenario_file: Path, *, overrides: Mapping[str, Any],
    replicates: int, days: float, seed: int,
) -> Path:
    """Write the sweep file of ``replicates`` runs of ``scenario_file`` with ``overrides``
    (``--set`` keys → values) lasting ``days``; returns its path
    (``OUT/sweeps/<label>.yaml``)."""
    path = out / SWEEPS / f"{label}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep = {
        "description": f"{label}: {replicates} replicates of {scenario_file.name} for"
        f" {days:g} days (abm validate-model)",
        "scenario": str(scenario_file.resolve()),
        "set": {**overrides, "time.duration_d": days},
        "design": {"kind": "grid"},
        "replicates": replicates,
        "seed": seed,
    }
    atomic_write_text(path, dump_yaml(sweep))
    return path


def plan_replicates(
    scenarios: Mapping[str, tuple[Path, Mapping[str, Any]]], out: Path, *, replicates: int,
    days: float, seed: int,
) -> dict[str, SweepPlan]:
    """Write and plan the replicate sweep of every label's scenario file and overrides
    (label → plan); every scenario is checked before anything runs."""
    return {
        label: plan_sweep(write_replicate_sweep(
            out, label, path, overrides=overrides, replicates=replicates, days=days, seed=seed
        ))
        for label, (path, overrides) in scenarios.items()
    }


def run_replicates(
    plans: Mapping[str, SweepPlan], out: Path, client: Any, *, progress: ProgressMode = "auto"
) -> tuple[dict[str, list[Path]], int]:
    """Run every plan on ``client``'s cluster into ``OUT/<label>/``, all at once (one thread
    per sweep submits to the same cluster, so no worker waits for a scenario's last run);
    each reports its finished runs as plain lines (``off`` silences them). Returns the run
    directories of the completed runs by label, and the number of failed runs."""
    mode: ProgressMode = "off" if progress == "off" else "lines"

    def run(label: str) -> SweepIndex:
        return run_sweep(plans[label], out / label, client, progress=mode)

    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        indexes = dict(zip(plans, pool.map(run, plans), strict=True))
    completed = {
        label: [run_directory(out / label, r) for r in plan.runs
                if indexes[label].status(r.run_id) == COMPLETED]
        for label, plan in plans.items()
    }
    failed = sum(len(plan.runs) - len(completed[label]) for label, plan in plans.items())
    return completed, failed
