"""Run a sweep's runs on a Dask cluster, recording each outcome in the sweep index as it comes.

Runs already completed in ``DIR`` (index and run directory agree) are skipped; failed, pending
or interrupted ones are (re)run from step 0. Every finished run is written to
``DIR/sweep.parquet`` at once (atomically), so neither a failing run, a dying worker nor an
interrupted client loses a completed run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from abm.batch.index import COMPLETED, FAILED, RUNS, SweepIndex, claim_directory
from abm.batch.plan import PlannedRun, SweepPlan
from abm.batch.progress import SweepProgress
from abm.batch.task import RunTask, execute_run
from abm.io.errors import RunDirectoryError
from abm.io.rundir import RunDirectory
from abm.observers.progress import ProgressMode


def run_sweep(
    plan: SweepPlan, out: Path, client: Any, *, progress: ProgressMode = "auto"
) -> SweepIndex:
    """Run every run of ``plan`` not yet completed in ``out`` on ``client``'s cluster.

    Args:
        plan: the resolved sweep.
        out: the sweep directory (created; must hold this sweep or nothing).
        client: a ``distributed.Client``.
        progress: how to report finished runs on standard error.

    Returns:
        The index, with the outcome of every run.

    Raises:
        RunDirectoryError: ``out`` holds a different sweep, or its index is unreadable.
    """
    from distributed import KilledWorker, as_completed

    claim_directory(plan, out)
    index = SweepIndex.for_plan(plan, out)
    todo = [run for run in plan.runs if not _completed(index, run, out)]
    index.write()
    futures = {
        client.submit(execute_run, run_task(run, out), pure=False): run for run in todo
    }
    done = len(plan.runs) - len(todo)
    with SweepProgress(progress, label=out.name, done=done, total=len(plan.runs)) as bar:
        for future in as_completed(futures):
            run = futures.pop(future)
            try:
                outcome = future.result()
            except KilledWorker:
                outcome = _lost("the worker running it died (KilledWorker)")
            except Exception as exc:  # e.g. the scheduler lost the task; the others go on
                outcome = _lost(f"{type(exc).__name__}: {exc}")
            index.record(run.run_id, outcome)
            index.write()
            bar.update(failed=outcome["status"] == FAILED)
            future.release()
    return index


def run_directory(out: Path, run: PlannedRun) -> Path:
    """The run directory of a run of the sweep in ``out``."""
    return out / RUNS / run.run_id


def run_task(run: PlannedRun, out: Path) -> RunTask:
    """What a worker needs to do ``run`` of the sweep in ``out``."""
    return RunTask(run.run_id, run.loaded, run_directory(out, run), run.steps)


def _completed(index: SweepIndex, run: PlannedRun, out: Path) -> bool:
    """Completed in the index, and its run directory says so too (it was not removed)."""
    if index.status(run.run_id) != COMPLETED:
        return False
    try:
        manifest = RunDirectory.open(run_directory(out, run)).read_manifest()
    except RunDirectoryError:
        return False
    return manifest["status"] == COMPLETED


def _lost(message: str) -> dict[str, Any]:
    return {"status": FAILED, "error": message, "wall_time_s": None}
