"""What a Dask worker does for one run of a sweep: run it into its own run directory and return
a small summary row (never raises: a failing run is reported as such).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abm.batch.index import COMPLETED, FAILED, SUMMARY_PREFIX
from abm.io.rundir import RunDirectory
from abm.scenario import LoadedScenario

SUMMARY_METRICS = (
    "time_d",
    "n_plasma_cell",
    "n_stromal_cell",
    "n_osteoblast",
    "n_osteoclast",
    "n_endothelial_cell",
    "bone_volume_fraction",
    "microvessel_density_per_mm2",
    "hypoxic_marrow_fraction",
    "vegf_mean",
    "il6_mean",
    "plasma_vegf_pg_per_mL",
    "serum_vegf_pg_per_mL",
    "plasma_il6_pg_per_mL",
    "crp_mg_per_L",
    "platelets_per_nL",
    "capillary_leak_index",
)
"""Time-series columns whose last value goes into the sweep index (those a run has): time (d),
cell counts, BV/TV (0–1), vessels, mean marrow VEGF (pg/mL) and IL-6, and the blood readouts."""


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (pickled to the worker)."""

    run_id: str
    loaded: LoadedScenario
    run_dir: Path
    steps: int


def execute_run(task: RunTask) -> dict[str, Any]:
    """Run ``task`` from step 0 (replacing what an interrupted attempt left) and return
    ``{"status", "error", "wall_time_s", "final_<metric>": ...}``."""
    # The model (and numba) is imported on the worker only, after its environment is set.
    from abm.cells.placement import PlacementError
    from abm.runner import start_run

    t0 = time.perf_counter()
    try:
        _clear_partial(task.run_dir)
        path = start_run(
            task.loaded, task.run_dir, overwrite=True, steps=task.steps, progress="off"
        )
        series = RunDirectory.open(path).read_timeseries()
        final = series.slice(series.num_rows - 1).to_pylist()[0]
    except PlacementError as exc:
        return _failed(f"{exc.key_path}: {exc}", t0)
    except Exception as exc:  # a failing run must not stop the sweep; its message is kept
        return _failed(f"{type(exc).__name__}: {exc}", t0)
    summary = {f"{SUMMARY_PREFIX}{k}": final[k] for k in SUMMARY_METRICS if k in final}
    return {"status": COMPLETED, "error": None, "wall_time_s": _since(t0), **summary}


def _clear_partial(run_dir: Path) -> None:
    """Remove a run directory an attempt left before writing its manifest (it cannot be
    overwritten as a run directory)."""
    if run_dir.is_dir() and not (run_dir / RunDirectory.MANIFEST).is_file():
        shutil.rmtree(run_dir)


def _failed(message: str, t0: float) -> dict[str, Any]:
    return {"status": FAILED, "error": " ".join(message.split()), "wall_time_s": _since(t0)}


def _since(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)
