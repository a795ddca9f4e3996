"""Full-length runs of the shipped scenarios (slow: `make validate`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from abm.io.rundir import RunDirectory
from abm.runner import resume_run, start_run
from abm.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["healthy", "poems", "myeloma"])
def test_scenario_runs_its_full_duration(name: str, tmp_path: Path):
    loaded = load_scenario(SCENARIOS / f"{name}.yaml")
    out = start_run(loaded, tmp_path / name, progress="off")
    run_dir = RunDirectory.open(out)
    manifest = run_dir.read_manifest()
    duration = loaded.scenario.time.duration_steps
    assert manifest["status"] == "completed"
    assert manifest["steps_completed"] == duration
    table = run_dir.read_timeseries()
    assert table.num_rows == duration // loaded.scenario.time.record_every_steps + 1
    plasma = table.column("n_plasma_cell").to_pylist()
    assert plasma[0] == loaded.scenario.cells.plasma_cell.initial_count
    assert min(plasma) > 0


def _files(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def test_poems_year_resumed_at_half_equals_uninterrupted(tmp_path: Path):
    loaded = load_scenario(SCENARIOS / "poems.yaml")
    straight = start_run(loaded, tmp_path / "straight", progress="off")
    half = loaded.scenario.time.duration_steps // 2 + 5  # not on a checkpoint boundary
    resumed = start_run(loaded, tmp_path / "resumed", steps=half, progress="off")
    resume_run(resumed, steps=loaded.scenario.time.duration_steps, progress="off")
    for name in (RunDirectory.TIMESERIES, RunDirectory.FIELDS):
        a, b = straight / name, resumed / name
        assert (a.read_bytes() == b.read_bytes()) if a.is_file() else _files(a) == _files(b)
