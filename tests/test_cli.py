"""The ``abm`` command line, run as ``python -m abm`` in a subprocess."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import abm
from abm.io.rundir import RunDirectory

STEPS = 96


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit status 2, exactly one stderr line containing every needle, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_run_prints_the_run_directory_last(cli_run):
    scenario, out, result = cli_run
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(out)
    manifest = json.loads((out / RunDirectory.MANIFEST).read_text())
    assert manifest["status"] == "completed"
    assert manifest["steps_completed"] == STEPS
    assert manifest["scenario_source"] == str(scenario)
    assert "Traceback" not in result.stderr


def test_progress_lines_go_to_stderr(cli_run):
    _, out, result = cli_run
    lines = [line for line in result.stderr.splitlines() if "steps/s" in line]
    assert len(lines) >= 2
    assert lines[0].startswith(f"[{out.name}] step 0/{STEPS}")
    assert any(f"step {STEPS}/{STEPS}" in line for line in lines)
    assert "steps/s" not in result.stdout


def test_run_into_an_existing_directory_fails_and_leaves_it_alone(
    cli_run, run_cli, tmp_path, tree_bytes
):
    scenario, out, _ = cli_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = tree_bytes(copy)
    result = run_cli(["run", scenario, "--out", copy, "--progress", "off"], cwd=tmp_path)
    one_line_error(result, "--overwrite", str(copy))
    assert result.stdout == ""
    assert tree_bytes(copy) == before


def test_overwrite_with_set_and_seed(cli_run, run_cli, tmp_path, tree_bytes):
    """--overwrite replaces a run; --seed and --set change the manifest and scenario.yaml."""
    scenario, out, _ = cli_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    result = run_cli(
        ["run", scenario, "--out", copy, "--progress", "off", "--overwrite", "--steps", "12",
         "--seed", "7", "--set", "cells.plasma_cell.initial_count=120",
         "--set", "domain.boundary=closed"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(copy)
    manifest = json.loads((copy / RunDirectory.MANIFEST).read_text())
    assert len(manifest["sessions"]) == 1
    assert manifest["seed"] == 7
    assert manifest["scenario"]["seed"] == 7
    assert manifest["scenario"]["cells"]["plasma_cell"]["initial_count"] == 120
    assert manifest["scenario"]["domain"]["boundary"] == "closed"
    assert manifest["overrides"] == [
        "cells.plasma_cell.initial_count=120", "domain.boundary=closed", "seed=7"
    ]
    assert manifest["steps_completed"] == manifest["steps_target"] == 12
    stored = (copy / RunDirectory.SCENARIO).read_text()
    assert "seed: 7" in stored and "initial_count: 120" in stored
    table = pq.read_table(copy / RunDirectory.TIMESERIES)
    assert table.column("step").to_pylist() == [0, 6, 12]
    assert table.column("n_plasma_cell").to_pylist()[0] == 120
    # the old run's files are gone
    assert RunDirectory.open(copy).list_checkpoints() == [12]
    assert tree_bytes(out) != tree_bytes(copy)


def test_resume_continues_to_the_uninterrupted_result(cli_run, run_cli, tmp_path, tree_bytes):
    scenario, out, _ = cli_run
    part = tmp_path / "part"
    result = run_cli(
        ["run", scenario, "--out", part, "--progress", "off", "--steps", "30"], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((part / RunDirectory.MANIFEST).read_text())["steps_completed"] == 30
    result = run_cli(
        ["run", scenario, "--out", part, "--progress", "off", "--resume", "--steps", str(STEPS)],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(part)
    manifest = json.loads((part / RunDirectory.MANIFEST).read_text())
    assert manifest["status"] == "completed" and manifest["steps_completed"] == STEPS
    assert (part / RunDirectory.TIMESERIES).read_bytes() == (
        out / RunDirectory.TIMESERIES
    ).read_bytes()
    assert tree_bytes(part / RunDirectory.FIELDS) == tree_bytes(out / RunDirectory.FIELDS)


def test_resume_with_changed_settings_fails(cli_run, run_cli, tmp_path, tree_bytes):
    scenario, out, _ = cli_run
    before = tree_bytes(out)
    result = run_cli(
        ["run", scenario, "--out", out, "--resume", "--seed", "9", "--progress", "off"],
        cwd=tmp_path,
    )
    one_line_error(result, "scenario.yaml", "different scenario")
    assert tree_bytes(out) == before


def test_info_summarizes_a_run(cli_run, run_cli, tmp_path):
    _, out, _ = cli_run
    result = run_cli(["info", out], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    fields = {line.split()[0]: line for line in lines if line.strip()}
    assert fields["status"].split()[1] == "completed"
    assert fields["seed"].split()[1] == "1"
    assert f"step {STEPS}/{STEPS}" in fields["progress"]
    assert "4.00 d" in fields["progress"]
    assert fields["checkpoints"].split()[1] == "4"
    assert fields["snapshots"].split()[1] == "5"
    assert fields["time"].startswith("time series     17 rows")
    assert result.stderr == ""


def _corrupt(kind: str, out: Path, tmp_path: Path) -> Path:
    if kind == "missing":
        return tmp_path / "no_such_run"
    if kind == "not_a_run":
        path = tmp_path / "plain"
        path.mkdir()
        (path / "notes.txt").write_text("hello")
        return path
    path = tmp_path / "broken"
    shutil.copytree(out, path)
    if kind == "manifest":
        (path / RunDirectory.MANIFEST).write_bytes(b"{this is not json\x00\xff")
    elif kind == "timeseries":
        (path / RunDirectory.TIMESERIES).write_bytes(b"PAR1 garbage garbage PAR1")
    return path


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("missing", "no_such_run"),
        ("not_a_run", "manifest.json"),
        ("manifest", "manifest.json"),
        ("timeseries", "timeseries.parquet"),
    ],
)
def test_info_errors_are_one_line(cli_run, run_cli, tmp_path, kind, names):
    _, out, _ = cli_run
    path = _corrupt(kind, out, tmp_path)
    result = run_cli(["info", path], cwd=tmp_path)
    line = one_line_error(result, names)
    assert str(path) in line
    assert result.stdout == ""


def test_schema_prints_json_schema(run_cli, tmp_path):
    result = run_cli(["schema"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert "cells" in schema["properties"]
    assert "extends" in schema["properties"]
    assert set(schema["required"]) >= {"seed", "domain", "time", "fields", "cells"}


def test_validate_every_repository_scenario(run_cli, repo_root, tmp_path):
    scenarios = sorted((repo_root / "scenarios").glob("*.yaml"))
    assert len(scenarios) >= 4
    result = run_cli(["validate", *scenarios], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(scenarios)
    for path, line in zip(scenarios, lines, strict=True):
        assert line.startswith(f"{path}: OK ("), line
        assert " voxels, " in line and " steps of " in line


def test_validate_reports_a_bad_scenario(run_cli, write_scenario, tmp_path):
    bad = write_scenario({"cells": {"plasma_cell": {"death_rate_per_day": -1}}}, name="bad.yaml")
    good = write_scenario(name="good.yaml")
    result = run_cli(["validate", good, bad], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout.startswith(f"{good}: OK")
    assert "cells.plasma_cell.death_rate_per_day" in result.stderr
    assert "Traceback" not in result.stderr


def test_bogus_progress_mode_fails(run_cli, tiny_scenario, tmp_path):
    out = tmp_path / "bogus"
    result = run_cli(["run", tiny_scenario, "--out", out, "--progress", "bogus"], cwd=tmp_path)
    one_line_error(result, "--progress", "bogus")
    assert not out.exists()


def test_impossible_placement_fails_before_creating_the_run_directory(
    run_cli, tiny_scenario, tmp_path
):
    out = tmp_path / "impossible"
    result = run_cli(
        ["run", tiny_scenario, "--out", out, "--progress", "off",
         "--set", "cells.plasma_cell.initial_count=999999"],
        cwd=tmp_path,
    )
    one_line_error(result, "cells.plasma_cell.initial_count", "999999")
    assert not out.exists()


def test_importing_abm_does_not_import_matplotlib(tmp_path):
    code = "import abm, sys; import abm.cli, abm.model; sys.exit('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True)
    assert result.returncode == 0, result.stderr


def test_the_simulator_never_imports_analysis():
    """DESIGN.md: ``abm`` never imports ``analysis``; its commands come in as a plugin."""
    package = Path(abm.__file__).parent
    offenders = []
    for module in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            offenders += [f"{module.relative_to(package)}: {name}" for name in names
                          if name.split(".")[0] == "analysis"]
    assert offenders == []


def test_the_analysis_commands_are_registered_through_the_entry_point():
    from abm.cli import COMMAND_PLUGINS, app

    plugins = [entry.value for entry in entry_points(group=COMMAND_PLUGINS)]
    assert plugins == ["analysis.cli:register"]
    commands = {command.name or command.callback.__name__ for command in app.registered_commands}
    assert {"plot", "animate", "view", "validate-model"} <= commands
