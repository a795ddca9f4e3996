"""Global sensitivity of a sweep's metric to its parameters: Sobol or Morris indices (SALib),
matching the sweep's design, and a figure.

The output of a design point is the metric's last recorded value, averaged over the point's
completed replicates. Indices are computed on the unit hypercube the design sampled (see
:mod:`abm.batch.design`): Sobol indices are fractions of the output's variance (0–1) whatever
the distributions; Morris ``mu_star`` and ``sigma`` are in the metric's unit per whole
parameter range (a normalised elementary effect).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from abm.batch.design import design_points, design_seed, unit_problem
from abm.batch.index import COMPLETED, INDEX, RUNS, read_index, stored_sweep
from abm.batch.sweepfile import Sweep
from abm.io.errors import RunDirectoryError
from abm.io.rundir import RunDirectory
from abm.scenario.errors import did_you_mean

SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
"""First-order and total Sobol indices and their 95 % bootstrap half-widths (fractions)."""
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma")
"""Mean, mean absolute (with its 95 % bootstrap half-width) and SD of elementary effects."""


@dataclass(frozen=True)
class Indices:
    """Sensitivity indices of one metric: ``values[column][j]`` for parameter ``j``."""

    method: str
    metric: str
    parameters: list[str]
    values: dict[str, list[float]]


def analyse(sweep: Sweep, metric: str, outputs: np.ndarray) -> Indices:
    """Sobol or Morris indices of ``outputs`` (one value per design point, in design order).

    Raises:
        TypeError: the sweep's design is not sobol or morris.
    """
    design = sweep.design
    problem, seed = unit_problem(sweep), design_seed(sweep.seed)
    if design.kind == "sobol":
        from SALib.analyze import sobol

        result = sobol.analyze(
            problem, outputs, calc_second_order=design.second_order, seed=seed
        )
        columns = SOBOL_COLUMNS
    elif design.kind == "morris":
        from SALib.analyze import morris

        samples = design_points(sweep).unit_samples
        result = morris.analyze(problem, samples, outputs, num_levels=design.levels, seed=seed)
        columns = MORRIS_COLUMNS
    else:
        raise TypeError(f"no sensitivity indices for a {design.kind} design")
    values = {name: [float(v) for v in result[name]] for name in columns}
    return Indices(design.kind, metric, problem["names"], values)


def point_outputs(out: Path, sweep: Sweep, metric: str) -> np.ndarray:
    """Last value of ``metric`` per design point, averaged over its completed replicates.

    Raises:
        RunDirectoryError: a point has no completed run, or ``metric`` is not a time-series
            column.
    """
    n_points = len(design_points(sweep).values)
    finals: list[list[float]] = [[] for _ in range(n_points)]
    for row in read_index(out / INDEX):
        if row["status"] != COMPLETED:
            continue
        series = RunDirectory.open(out / RUNS / row["run_id"]).read_timeseries()
        if metric not in series.column_names:
            hint = did_you_mean(metric, series.column_names)
            raise RunDirectoryError(out, f"--metric {metric}: not a time-series column{hint}")
        finals[row["point"]].append(float(series[metric][series.num_rows - 1].as_py()))
    missing = [point for point, values in enumerate(finals) if not values]
    if missing:
        raise RunDirectoryError(
            out / INDEX,
            f"{len(missing)} of {n_points} design points have no completed run (first:"
            f" point {missing[0]}); re-run the sweep to complete them",
        )
    return np.array([np.mean(values) for values in finals])


def sweep_sensitivity(out: Path, metric: str) -> Indices:
    """Indices of ``metric`` for the sweep in ``out`` (see :func:`analyse`).

    Raises:
        RunDirectoryError: not a sweep directory, not a sobol or morris design, incomplete.
    """
    sweep = stored_sweep(out)
    if sweep.design.kind not in ("sobol", "morris"):
        raise RunDirectoryError(
            out,
            f"sensitivity indices need a sobol or morris design; this sweep's is"
            f" {sweep.design.kind}",
        )
    return analyse(sweep, metric, point_outputs(out, sweep, metric))


def plot_indices(indices: Indices, path: Path) -> Path:
    """Bar chart of S1 and ST (Sobol) or ``mu_star`` against ``sigma`` (Morris); PNG."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 1.2 + 0.5 * len(indices.parameters)), layout="constrained")
    axes = figure.add_subplot()
    names, values = indices.parameters, indices.values
    if indices.method == "sobol":
        rows = np.arange(len(names))
        for offset, (index, label) in enumerate((("S1", "first order"), ("ST", "total"))):
            axes.barh(
                rows + 0.4 * offset - 0.2, values[index], height=0.4,
                xerr=values[f"{index}_conf"], label=f"{label} ({index})",
            )
        axes.set_yticks(rows, names)
        axes.invert_yaxis()
        axes.set_xlabel(f"Sobol index of {indices.metric} (fraction of variance)")
        axes.legend()
    else:
        axes.errorbar(values["mu_star"], values["sigma"], xerr=values["mu_star_conf"], fmt="o")
        for name, x, y in zip(names, values["mu_star"], values["sigma"], strict=True):
            axes.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        axes.set_xlabel(f"Morris mu* of {indices.metric} (per parameter range)")
        axes.set_ylabel("sigma")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
