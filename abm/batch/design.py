"""Design points of a sweep: the value of every varied key at every point.

A grid lists every combination of the parameters' values. The sampled designs (Latin
hypercube, Sobol/Saltelli, Morris) draw SALib samples on the unit hypercube and map each
coordinate through its parameter's distribution (inverse CDF), so the unit samples that
:mod:`abm.batch.sensitivity` analyses are the ones the runs used. Sampling is seeded from the
sweep's root seed (its own stream, not any run's).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from abm.batch.sweepfile import Normal, Range, Sweep, Uniform, Values

SIGNIFICANT_DIGITS = 15
"""Digits kept of a linear range's values (drops the last-bit noise of ``start + i·step``)."""

UNIT_MARGIN = 1e-12
"""Unit samples are kept this far inside (0, 1) before a normal's inverse CDF (never ±inf)."""


@dataclass(frozen=True)
class DesignPoints:
    """The points of a design.

    Attributes:
        values: per point, the value of each varied key (in the sweep file's order).
        unit_samples: for sampled designs, the (points × parameters) SALib samples in [0, 1]
            the values came from; None for a grid.
    """

    values: list[dict[str, Any]]
    unit_samples: np.ndarray | None


def design_seed(root_seed: int) -> int:
    """Seed of the design's sampling: the root SeedSequence's own state (runs use its
    children, ``spawn_key=(run index,)``)."""
    return int(np.random.SeedSequence(root_seed).generate_state(1)[0])


def unit_problem(sweep: Sweep) -> dict[str, Any]:
    """SALib problem over the unit hypercube, one dimension per varied key."""
    names = list(sweep.parameters)
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def design_points(sweep: Sweep) -> DesignPoints:
    """Every point of the sweep's design."""
    design = sweep.design
    if design.kind == "grid":
        axes = [grid_values(spec) for spec in sweep.parameters.values()]
        combos = itertools.product(*axes)
        return DesignPoints([dict(zip(sweep.parameters, c, strict=True)) for c in combos], None)
    unit = _unit_samples(sweep)
    columns = [
        from_unit(spec, unit[:, j]) for j, spec in enumerate(sweep.parameters.values())
    ]
    points = [dict(zip(sweep.parameters, row, strict=True)) for row in zip(*columns, strict=True)]
    return DesignPoints(points, unit)


def _unit_samples(sweep: Sweep) -> np.ndarray:
    """SALib's samples on the unit hypercube for a sampled design."""
    problem, seed, design = unit_problem(sweep), design_seed(sweep.seed), sweep.design
    if design.kind == "latin_hypercube":
        from SALib.sample import latin

        return latin.sample(problem, design.samples, seed=seed)
    if design.kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(
            problem, design.base_samples, calc_second_order=design.second_order, seed=seed
        )
    if design.kind == "morris":
        from SALib.sample import morris

        return morris.sample(
            problem, design.trajectories, num_levels=design.levels, seed=seed
        )
    raise TypeError(f"unhandled design {design!r}")


def grid_values(spec: Values | Range) -> list[Any]:
    """The listed values of a grid parameter (a range's ends are included)."""
    if isinstance(spec, Values):
        return list(spec.values)
    if spec.spacing == "log":
        return [float(v) for v in np.geomspace(spec.start, spec.stop, spec.num)]
    step = (spec.stop - spec.start) / (spec.num - 1)
    whole = all(float(v).is_integer() for v in (spec.start, spec.stop, step))
    values = np.linspace(spec.start, spec.stop, spec.num)
    if whole:
        return [int(round(v)) for v in values]
    return [float(f"{v:.{SIGNIFICANT_DIGITS}g}") for v in values]


def from_unit(spec: Uniform | Normal, unit: np.ndarray) -> list[Any]:
    """Map unit samples through a distribution's inverse CDF (rounded if ``integer``)."""
    if isinstance(spec, Normal):
        from scipy.stats import norm

        inside = np.clip(unit, UNIT_MARGIN, 1.0 - UNIT_MARGIN)
        values = spec.mean + spec.sd * norm.ppf(inside)
    elif spec.kind == "log_uniform":
        values = np.exp(np.log(spec.low) + unit * (np.log(spec.high) - np.log(spec.low)))
    else:
        values = spec.low + unit * (spec.high - spec.low)
    if spec.integer:
        return [int(round(v)) for v in values]
    return [float(v) for v in values]
