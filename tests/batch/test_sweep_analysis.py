"""Collecting a sweep into one table, Sobol and Morris indices, and lazy heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from abm.batch.design import design_points
from abm.batch.execute import run_directory, run_sweep
from abm.batch.index import claim_directory
from abm.batch.plan import plan_sweep
from abm.batch.sensitivity import analyse
from abm.batch.sweepfile import load_sweep
from abm.io.rundir import RunDirectory

UNIFORM = {
    "cells.plasma_cell.division_rate_per_day": {"kind": "uniform", "low": 1, "high": 3},
    "cells.stromal_cell.death_rate_per_day": {"kind": "uniform", "low": 0.25, "high": 0.75},
}


def test_sobol_indices_of_a_linear_function(write_sweep):
    # y = 2 u1 + u2 with u uniform on [0, 1]: Var = 4/12 + 1/12, so S1 = ST = (0.8, 0.2).
    sweep = load_sweep(
        write_sweep({"parameters": UNIFORM, "design": {"kind": "sobol", "base_samples": 1024}})
    ).sweep
    unit = design_points(sweep).unit_samples
    indices = analyse(sweep, "y", 2 * unit[:, 0] + unit[:, 1])
    np.testing.assert_allclose(indices.values["S1"], [0.8, 0.2], atol=0.03)
    np.testing.assert_allclose(indices.values["ST"], [0.8, 0.2], atol=0.03)


def test_morris_effects_of_a_linear_function(write_sweep):
    # y = 3 u1: every elementary effect of u1 is 3 (per whole range), of u2 is 0.
    design = {"kind": "morris", "trajectories": 10, "levels": 4}
    sweep = load_sweep(write_sweep({"parameters": UNIFORM, "design": design})).sweep
    unit = design_points(sweep).unit_samples
    indices = analyse(sweep, "y", 3 * unit[:, 0])
    np.testing.assert_allclose(indices.values["mu_star"], [3.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(indices.values["sigma"], [0.0, 0.0], atol=1e-12)


@pytest.fixture(scope="module")
def morris_sweep(client, tmp_path_factory, tiny_scenario_text):
    """A 2-parameter Morris sweep of 2 trajectories (6 points, 1 d runs), run on the cluster."""
    root = tmp_path_factory.mktemp("morris")
    (root / "tiny.yaml").write_text(tiny_scenario_text)
    sweep = root / "sweep.yaml"
    sweep.write_text(
        json.dumps(
            {
                "scenario": "tiny.yaml",
                "parameters": UNIFORM,
                "design": {"kind": "morris", "trajectories": 2, "levels": 4},
                "set": {"time.duration_d": 1},
                "replicates": 1,
                "seed": 5,
            }
        )
    )
    plan = plan_sweep(sweep)
    out = root / "out"
    index = run_sweep(plan, out, client, progress="off")
    assert index.counts()["completed"] == 6
    return plan, out


def test_collect_writes_one_tidy_table(morris_sweep, run_cli):
    plan, out = morris_sweep
    result = run_cli(["sweep", "collect", out])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out / "collected.parquet")
    table = pq.read_table(out / "collected.parquet")
    keys = list(UNIFORM)
    assert table.column_names[:6] == ["run_id", "point", "replicate", "seed", *keys]
    assert table.num_rows == 6 * 5  # 6 runs x records at 0, 6, 12, 18 and 24 h
    for run in plan.runs:
        rows = table.filter(pq.filters_to_expression([("run_id", "==", run.run_id)]))
        series = RunDirectory.open(run_directory(out, run)).read_timeseries()
        assert rows["n_plasma_cell"].to_pylist() == series["n_plasma_cell"].to_pylist()
        assert rows["time_h"].to_pylist() == [0, 6, 12, 18, 24]
        assert set(rows[keys[0]].to_pylist()) == {run.parameters[keys[0]]}
        assert set(rows["seed"].to_pylist()) == {run.seed}


def test_morris_sensitivity_from_the_runs(morris_sweep, run_cli):
    plan, out = morris_sweep
    result = run_cli(["sweep", "sensitivity", out, "--metric", "n_plasma_cell"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "morris indices of n_plasma_cell:"
    assert lines[1].split() == ["parameter", "mu", "mu_star", "mu_star_conf", "sigma"]
    printed = {line.split()[0]: float(line.split()[2]) for line in lines[2:4]}
    # Elementary effects by hand: consecutive points of a trajectory differ in one parameter.
    final = [
        RunDirectory.open(run_directory(out, run)).read_timeseries()["n_plasma_cell"][-1].as_py()
        for run in plan.runs
    ]
    unit = plan.points.unit_samples
    effects = {key: [] for key in UNIFORM}
    for trajectory in range(2):
        for step in range(2):
            a, b = 3 * trajectory + step, 3 * trajectory + step + 1
            [changed] = np.flatnonzero(unit[b] != unit[a])
            effects[list(UNIFORM)[changed]].append(
                (final[b] - final[a]) / (unit[b, changed] - unit[a, changed])
            )
    for key, values in effects.items():
        assert printed[key] == pytest.approx(np.mean(np.abs(values)), rel=1e-5)
    figure = lines[-1]
    assert figure == str(out / "plots" / "sensitivity_n_plasma_cell.png")
    with open(figure, "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"


def test_sensitivity_errors_are_one_line(morris_sweep, write_sweep, run_cli, tmp_path):
    _, out = morris_sweep
    unknown = run_cli(["sweep", "sensitivity", out, "--metric", "n_plasma_cells"])
    assert unknown.returncode == 2
    [message] = unknown.stderr.splitlines()
    assert "--metric n_plasma_cells: not a time-series column (did you mean 'n_plasma_cell'?)" in (
        message
    )
    grid = tmp_path / "grid"
    claim_directory(plan_sweep(write_sweep()), grid)
    refused = run_cli(["sweep", "sensitivity", grid, "--metric", "n_plasma_cell"])
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("need a sobol or morris design; this sweep's is grid")


def test_importing_abm_and_its_batch_commands_imports_no_heavy_library(tmp_path):
    modules = ["abm", "abm.cli", "abm.model"] + [
        f"abm.batch.{name}" for name in (
            "cli", "clusters", "collect", "design", "execute", "index", "plan", "progress",
            "sensitivity", "sweepfile", "task",
        )
    ]
    heavy = ["matplotlib", "dask", "distributed", "dask_jobqueue", "SALib"]
    code = (
        f"import importlib, sys; [importlib.import_module(m) for m in {modules!r}];"
        f" print([m for m in {heavy!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
