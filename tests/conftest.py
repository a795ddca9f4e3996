"""Shared fixtures for the model-core tests: tiny scenarios, models, CLI runs, file comparison.

Most tests use a *tiny* scenario that extends the repository's ``scenarios/base.yaml``: a
30 × 30 lattice (300 µm, 10 µm voxels) without bone, 4 days of 1 h steps (96 steps), a
time-series row every 6 h, snapshots and checkpoints every 24 h, 150 plasma cells that divide
(2/day) and die (1/day) often and move, and 100 stromal cells with slower turnover. Scenario
files are written as JSON (a subset of YAML) into ``tmp_path``.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
BASE_YAML = REPO / "scenarios" / "base.yaml"

TINY: dict[str, Any] = {
    "domain": {"size_um": [300, 300], "initial_bone": {"kind": "none"}},
    "time": {
        "duration_d": 4,
        "record_interval_h": 6,
        "snapshot_interval_h": 24,
        "checkpoint_interval_h": 24,
    },
    "cells": {
        "plasma_cell": {
            "initial_count": 150,
            "division_rate_per_day": 2,
            "death_rate_per_day": 1,
            "random_motility_um2_per_h": 20,
        },
        "stromal_cell": {
            "initial_count": 100,
            "division_rate_per_day": 0.5,
            "death_rate_per_day": 0.5,
            "random_motility_um2_per_h": 5,
        },
        "osteoblast": {"initial_count": 0},
        "osteoclast": {"initial_count": 0},
    },
}
"""Changes of the tiny scenario relative to base.yaml (no bone: tests of bone processes add
their own)."""

TINY_STEPS = 96
"""Duration of the tiny scenario in steps (4 d of 1 h)."""


def deep_merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in ``changes`` replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout."""
    return REPO


@pytest.fixture(scope="session")
def base_yaml() -> Path:
    """Absolute path of ``scenarios/base.yaml``."""
    return BASE_YAML


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Factory: write a scenario extending base.yaml into ``tmp_path``; returns its path.

    ``write_scenario(changes=None, name="tiny.yaml", tiny=True)``: ``changes`` are deep-merged
    over the tiny scenario (over base.yaml alone with ``tiny=False``).
    """

    def write(
        changes: Mapping[str, Any] | None = None, name: str = "tiny.yaml", *, tiny: bool = True
    ) -> Path:
        tree = deep_merge(TINY if tiny else {}, changes or {})
        path = tmp_path / name
        path.write_text(json.dumps({"extends": str(BASE_YAML), **tree}, indent=2) + "\n")
        return path

    return write


@pytest.fixture(scope="session")
def tiny_scenario_text() -> str:
    """Text of the tiny scenario file (JSON, extending base.yaml by absolute path)."""
    return json.dumps({"extends": str(BASE_YAML), **TINY}, indent=2) + "\n"


@pytest.fixture
def tiny_scenario(write_scenario: Callable[..., Path]) -> Path:
    """Path of the tiny scenario file."""
    return write_scenario()


@pytest.fixture
def load() -> Callable[..., Any]:
    """``load(path, overrides=())`` -> :class:`abm.scenario.LoadedScenario`."""
    from abm.scenario import load_scenario

    def _load(path: str | Path, overrides: Sequence[str] = ()) -> Any:
        return load_scenario(path, list(overrides))

    return _load


@pytest.fixture
def make_model(tiny_scenario: Path) -> Callable[..., Any]:
    """``make_model(overrides=(), path=None, **kwargs)`` -> a MarrowModel (tiny by default)."""
    from abm.model import MarrowModel

    def _make(
        overrides: Sequence[str] = (), path: str | Path | None = None, **kwargs: Any
    ) -> MarrowModel:
        return MarrowModel.from_scenario(path or tiny_scenario, list(overrides), **kwargs)

    return _make


def _table_arrays(model: Any) -> dict[str, np.ndarray]:
    """Copies of the rows in use of every cell-table column, plus occupancy and n_slots."""
    table = model.cells
    out = {name: table[name].copy() for name in table.columns}
    out["occupant"] = table.occupant.copy()
    out["n_slots"] = np.array(table.n_slots)
    return out


def _model_arrays(model: Any) -> dict[str, np.ndarray]:
    """Cell table, occupancy and every field layer of a model, copied."""
    out = {f"cells/{k}": v for k, v in _table_arrays(model).items()}
    for name in model.fields.names:
        out[f"fields/{name}"] = model.fields[name].copy()
    return out


def _assert_arrays_equal(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="session")
def model_arrays() -> Callable[[Any], dict[str, np.ndarray]]:
    """``model_arrays(model)``: copies of the cell table (incl. occupancy) and all fields."""
    return _model_arrays


@pytest.fixture(scope="session")
def assert_arrays_equal() -> Callable[[Mapping, Mapping], None]:
    """``assert_arrays_equal(a, b)``: same keys, dtypes and values."""
    return _assert_arrays_equal


def _check_consistency(model: Any) -> None:
    """Assert the agents, the cell table and its occupancy map agree."""
    from abm.cells.agents import AGENT_CLASSES
    from abm.cells.table import EMPTY
    from abm.scenario import CELL_TYPES

    table = model.cells
    alive = table["alive"]
    living = np.flatnonzero(alive)
    xs, ys = table["x"][living], table["y"][living]
    # one living cell per voxel, and the occupancy map says exactly that
    assert len(set(zip(xs.tolist(), ys.tolist(), strict=True))) == len(living)
    np.testing.assert_array_equal(table.occupant[xs, ys], living)
    assert int(np.count_nonzero(table.occupant != EMPTY)) == len(living)
    # one agent per living cell, with matching ids, positions and types
    counts = table.count_by_type()
    for code, name in enumerate(CELL_TYPES):
        assert len(model.agents_of(name)) == counts[code], name
    assert len(model.agents) == len(living)
    ids = table["cell_id"]
    assert np.all(ids[living] >= 0)
    assert np.all(ids[~alive] == -1)
    by_id = {agent.unique_id: agent for agent in model.agents}
    assert sorted(by_id) == sorted(ids[living].tolist())
    for slot in living:
        agent = by_id[int(ids[slot])]
        assert agent.slot == slot
        assert agent.pos == (int(table["x"][slot]), int(table["y"][slot]))
        assert type(agent) is AGENT_CLASSES[table["cell_type"][slot]]


@pytest.fixture(scope="session")
def check_consistency() -> Callable[[Any], None]:
    """``check_consistency(model)``: agents, cell table and occupancy agree."""
    return _check_consistency


def _tree_bytes(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` by relative path (POSIX), with its bytes."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


@pytest.fixture(scope="session")
def tree_bytes() -> Callable[[Path], dict[str, bytes]]:
    """``tree_bytes(root)``: {relative path: bytes} of every file under ``root``."""
    return _tree_bytes


def _run_cli(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "abm", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_cli(args, env=None, cwd=None)``: run ``python -m abm ARGS`` and capture output."""
    return _run_cli


@pytest.fixture(scope="session")
def cli_run(
    tmp_path_factory: pytest.TempPathFactory, tiny_scenario_text: str
) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """One ``python -m abm run`` of the tiny scenario (``--progress lines``, with
    ``NUMBA_NUM_THREADS=1``), shared by the CLI and runner tests: ``(scenario, out, result)``.
    Tests must not modify ``out``; copy it first."""
    root = tmp_path_factory.mktemp("cli")
    scenario = root / "tiny.yaml"
    scenario.write_text(tiny_scenario_text)
    out = root / "run"
    result = _run_cli(
        ["run", scenario, "--out", out, "--progress", "lines"],
        env={"NUMBA_NUM_THREADS": "1"},
        cwd=root,
    )
    return scenario, out, result
