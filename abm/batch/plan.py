"""The plan of a sweep: every run (point × replicate) with its seed and validated scenario.

Each run's scenario is the base scenario with the sweep's fixed ``set`` values, the point's
parameter values and the run's seed applied through the scenario loader's ``--set`` mechanism,
so a varied key is checked exactly as ``abm run --set`` checks it; a problem is reported at the
sweep file's line for that key. Run ``i`` (points in design order, replicates fastest) gets the
seed of ``SeedSequence(root seed, spawn_key=(i,))``: results depend on neither the number of
workers nor the order in which runs finish.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from abm.batch.design import DesignPoints, design_points
from abm.batch.sweepfile import LoadedSweep, load_sweep
from abm.scenario import LoadedScenario, Problem, ScenarioError, ScenarioSource
from abm.scenario.loader import dump_yaml


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep."""

    index: int
    point: int
    replicate: int
    seed: int
    parameters: dict[str, Any]
    loaded: LoadedScenario
    steps: int

    @property
    def run_id(self) -> str:
        """Name of the run's directory under ``DIR/runs/``: point and replicate."""
        return f"p{self.point:05d}_r{self.replicate:03d}"


@dataclass(frozen=True)
class SweepPlan:
    """A sweep file resolved into its runs."""

    sweep: LoadedSweep
    points: DesignPoints
    runs: list[PlannedRun]
    base_scenario_yaml: str

    @property
    def steps(self) -> list[int]:
        """The distinct numbers of steps of the runs, ascending."""
        return sorted({run.steps for run in self.runs})

    def resolved_yaml(self) -> str:
        """The sweep as it ran, to store beside the runs: its settings, the base scenario as
        written in the sweep file with the SHA-256 of its resolved YAML (``set`` applied), and
        the number of runs. A changed sweep file or base scenario gives a different text."""
        settings = self.sweep.sweep.model_dump(mode="json")
        settings["scenario"] = {
            "file": self.sweep.sweep.scenario,
            "resolved_sha256": hashlib.sha256(self.base_scenario_yaml.encode()).hexdigest(),
        }
        settings["runs"] = len(self.runs)
        return dump_yaml(settings)


def run_seed(root_seed: int, run_index: int) -> int:
    """Seed of run ``run_index``: 63 bits of ``SeedSequence(root_seed, spawn_key=(i,))``."""
    state = np.random.SeedSequence(root_seed, spawn_key=(run_index,)).generate_state(
        1, dtype=np.uint64
    )
    return int(state[0] >> np.uint64(1))


def override_text(key: str, value: Any) -> str:
    """A ``--set`` override: the value as JSON (a subset of YAML 1.2, exact for floats)."""
    return f"{key}={json.dumps(value)}"


def plan_sweep(path: str | Path) -> SweepPlan:
    """Load a sweep file and resolve and validate every run.

    Raises:
        ScenarioError: the sweep file, its base scenario or a run's values are invalid; a
            problem with a varied or fixed value names the sweep file's line of that key.
    """
    loaded = load_sweep(path)
    sweep = loaded.sweep
    source = ScenarioSource(loaded.scenario_path)
    fixed = [override_text(key, value) for key, value in sweep.set.items()]
    origin = {text: ("set", key) for text, key in zip(fixed, sweep.set, strict=True)}
    points = design_points(sweep)
    runs = []
    for point, values in enumerate(points.values):
        varied = [override_text(key, value) for key, value in values.items()]
        origin.update(
            {text: ("parameters", key) for text, key in zip(varied, values, strict=True)}
        )
        for replicate in range(sweep.replicates):
            index = len(runs)
            seed = run_seed(sweep.seed, index)
            overrides = [*fixed, *varied, f"seed={seed}"]
            try:
                scenario = source.load(overrides)
            except ScenarioError as exc:
                raise ScenarioError(
                    [_in_sweep_file(p, loaded, origin, point, values) for p in exc.problems]
                ) from None
            steps = sweep.steps or scenario.scenario.time.duration_steps
            runs.append(PlannedRun(index, point, replicate, seed, values, scenario, steps))
    base = source.load(fixed).resolved_yaml()
    return SweepPlan(loaded, points, runs, base)


def _in_sweep_file(
    problem: Problem, loaded: LoadedSweep, origin: dict[str, tuple[str, str]], point: int,
    values: dict[str, Any],
) -> Problem:
    """Move a problem raised by an override to the sweep file's line of its key."""
    text = problem.location.source.removeprefix("--set ")
    if text not in origin:
        return problem
    section, key = origin[text]
    where = loaded.location(section, key)
    if section == "parameters":
        message = f"{problem.message} (at point {point}, value {values[key]!r})"
        return Problem(where, problem.key_path, message)
    return Problem(where, problem.key_path, problem.message)
