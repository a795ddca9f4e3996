"""Sweep files: which scenario, which parameters vary and how, the design, replicates, root seed.

A sweep file is strict YAML like a scenario (pydantic ``extra="forbid"``, ruamel.yaml with
positions); every problem is reported as ``file:line:col: key.path: message``. Parameters are
named by the same ``key.path`` as ``abm run --set``; :mod:`abm.batch.plan` checks every varied
value against the scenario schema through the loader's override mechanism.

Example::

    scenario: ../poems.yaml
    set: {time.duration_d: 30}
    parameters:
      cells.plasma_cell.initial_count: {kind: values, values: [550, 1100]}
      cells.plasma_cell.secretion_per_h.vegf: {kind: range, start: 1.5e-5, stop: 4.5e-5, num: 3}
    design: {kind: grid}
    replicates: 2
    seed: 20261202
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    field_validator,
    model_validator,
)

from abm.scenario.errors import Location, Problem, ScenarioError
from abm.scenario.loader import Positions, read_yaml, validate_model

Finite = Annotated[float, Field(allow_inf_nan=False)]
RESERVED_KEYS = ("seed",)
"""Scenario keys a sweep may not set: each run's seed derives from the sweep's root seed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- parameters


class Values(_Strict):
    """An explicit list of values (any YAML values, e.g. numbers or a placement mapping)."""

    kind: Literal["values"]
    values: list[JsonValue] = Field(min_length=1)


class Range(_Strict):
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (``log``: evenly
    spaced logarithms). Integer ends with a whole linear step give integers."""

    kind: Literal["range"]
    start: Finite
    stop: Finite
    num: int = Field(ge=2, description="Number of values, both ends included.")
    spacing: Literal["linear", "log"] = "linear"

    @model_validator(mode="after")
    def _positive_for_log(self) -> Range:
        if self.spacing == "log" and min(self.start, self.stop) <= 0:
            raise ValueError("log spacing needs start and stop > 0")
        return self


class Uniform(_Strict):
    """Uniform on [low, high] (``log_uniform``: uniform logarithm); ``integer`` rounds each
    value (for integer keys such as ``initial_count``)."""

    kind: Literal["uniform", "log_uniform"]
    low: Finite
    high: Finite
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.high > self.low:
            raise ValueError(f"high ({self.high:g}) must exceed low ({self.low:g})")
        if self.kind == "log_uniform" and self.low <= 0:
            raise ValueError("log_uniform needs low > 0")
        return self


class Normal(_Strict):
    """Normal with ``mean`` and standard deviation ``sd``; ``integer`` rounds each value."""

    kind: Literal["normal"]
    mean: Finite
    sd: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    integer: bool = False


Parameter = Annotated[Values | Range | Uniform | Normal, Field(discriminator="kind")]
GRID_KINDS = ("values", "range")
"""Parameter kinds of a grid design (listed values); the other designs sample distributions."""


# --------------------------------------------------------------------------- designs


class Grid(_Strict):
    """Every combination of the parameters' values (the last parameter varies fastest)."""

    kind: Literal["grid"]


class LatinHypercube(_Strict):
    """``samples`` points of a Latin hypercube over the parameters' distributions."""

    kind: Literal["latin_hypercube"]
    samples: int = Field(ge=1)


class Sobol(_Strict):
    """Saltelli's scheme for Sobol indices: ``base_samples`` × (k + 2) points, or × (2k + 2)
    with ``second_order`` (k parameters; a power of 2 keeps the Sobol sequence balanced)."""

    kind: Literal["sobol"]
    base_samples: int = Field(ge=1)
    second_order: bool = False


class Morris(_Strict):
    """Morris elementary effects: ``trajectories`` × (k + 1) points on a ``levels`` grid."""

    kind: Literal["morris"]
    trajectories: int = Field(ge=1)
    levels: int = Field(default=4, ge=2)


Design = Annotated[Grid | LatinHypercube | Sobol | Morris, Field(discriminator="kind")]


# --------------------------------------------------------------------------- the sweep


class Sweep(_Strict):
    """A sweep file."""

    description: str = ""
    scenario: str = Field(description="Base scenario file, relative to the sweep file.")
    set: dict[str, JsonValue] = Field(
        default_factory=dict, description="Fixed overrides of every run, key.path: value."
    )
    parameters: dict[str, Parameter] = Field(
        default_factory=dict,
        description="Varied scenario keys, key.path: how it varies (none: a grid design of one"
        " point, i.e. replicates of the scenario).",
    )
    design: Design
    replicates: int = Field(ge=1, description="Runs per design point, each with its own seed.")
    seed: int = Field(ge=0, description="Root seed: design sampling and every run's seed.")
    steps: int | None = Field(
        default=None, ge=1, description="Steps per run [default: the scenario's duration]."
    )

    @field_validator("design")
    @classmethod
    def _sampled_designs_need_parameters(cls, design: Any, info: ValidationInfo) -> Any:
        if design.kind != "grid" and not info.data.get("parameters"):
            raise ValueError(f"a {design.kind} design needs at least one parameter")
        return design

    @field_validator("set", "parameters")
    @classmethod
    def _key_paths(cls, mapping: dict[str, Any]) -> dict[str, Any]:
        for key in mapping:
            parts = key.split(".")
            if "=" in key or not all(part.strip() for part in parts):
                raise ValueError(f"{key!r} is not a key.path (dot-separated scenario keys)")
            if parts[0] in RESERVED_KEYS:
                raise ValueError(f"{key!r}: each run's seed derives from the sweep's root seed")
        return mapping


@dataclass(frozen=True)
class LoadedSweep:
    """A validated sweep file, the position of each of its keys, and its base scenario path."""

    sweep: Sweep
    source: Path
    positions: Positions
    scenario_path: Path

    def location(self, *key_path: str) -> Location:
        """Position of a key of the sweep file (or of its nearest positioned ancestor)."""
        for end in range(len(key_path), 0, -1):
            if key_path[:end] in self.positions:
                return self.positions[key_path[:end]]
        return Location(str(self.source))

    def problem(self, message: str, *key_path: str) -> Problem:
        """A problem at a key of the sweep file."""
        return Problem(self.location(*key_path), ".".join(key_path), message)


def load_sweep(path: str | Path) -> LoadedSweep:
    """Read and validate a sweep file.

    Raises:
        ScenarioError: one positioned Problem per thing wrong.
    """
    source = Path(path)
    tree, positions = read_yaml(source)
    where = Location(str(source))
    if not isinstance(tree, dict):
        found = "nothing" if tree is None else f"a {type(tree).__name__}"
        raise ScenarioError([Problem(where, "", f"a sweep file is a mapping, found {found}")])
    sweep = validate_model(Sweep, tree, positions, where)
    loaded = LoadedSweep(sweep, source, positions, (source.parent / sweep.scenario).resolve())
    problems = design_problems(loaded)
    if not loaded.scenario_path.is_file():
        message = f"base scenario not found: {sweep.scenario} ({loaded.scenario_path})"
        problems.insert(0, loaded.problem(message, "scenario"))
    if problems:
        raise ScenarioError(problems)
    return loaded


def design_problems(loaded: LoadedSweep) -> list[Problem]:
    """Parameters whose kind does not fit the design, and keys both fixed and varied."""
    sweep = loaded.sweep
    design = sweep.design.kind
    problems = []
    for key, spec in sweep.parameters.items():
        if key in sweep.set:
            problems.append(loaded.problem("is also fixed under 'set'", "parameters", key))
        if design == "grid" and spec.kind not in GRID_KINDS:
            message = f"a grid design needs kind values or range, not {spec.kind}"
            problems.append(loaded.problem(message, "parameters", key, "kind"))
        elif design != "grid" and spec.kind in GRID_KINDS:
            message = (
                f"a {design} design samples distributions (uniform, log_uniform, normal),"
                f" not {spec.kind}"
            )
            problems.append(loaded.problem(message, "parameters", key, "kind"))
        elif design == "morris" and spec.kind == "normal":
            message = "a morris design needs bounded ranges (uniform or log_uniform)"
            problems.append(loaded.problem(message, "parameters", key, "kind"))
    if design == "sobol" and len(sweep.parameters) < 2:
        problems.append(loaded.problem("Sobol indices need at least 2 parameters", "parameters"))
    return problems

