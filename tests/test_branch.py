"""Checkpoint and branch (``abm branch``, abm/runner.py ``branch_run``): arms start from the
identical state of a parent run and differ only by their treatment."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from abm import runner
from abm.io.errors import RunDirectoryError
from abm.io.rundir import RunDirectory
from abm.scenario import load_scenario

KILL = {"mechanism": "kills", "cell_type": "plasma_cell", "max_death_rate_per_h": 1.0,
        "ec50_mg_per_L": 1.0}
CYTOTOXIC = {"kind": "drug",
             "schedule": {"start_d": 1, "interval_d": 1, "doses": 1, "dose_mg": 1.0},
             "pharmacokinetics": {"half_life_h": 6, "volume_L": 1, "marrow_to_plasma_ratio": 1},
             "effects": [KILL]}
"""Dosed one day after the branch point."""


def timeseries(run_dir) -> dict[str, np.ndarray]:
    table = pq.read_table(run_dir / RunDirectory.TIMESERIES)
    return {name: table.column(name).to_numpy() for name in table.column_names}


@pytest.fixture
def parent(tiny_scenario, tmp_path):
    """The tiny scenario run to its end (96 steps, checkpoints every 24)."""
    return runner.start_run(load_scenario(tiny_scenario), tmp_path / "parent", progress="off")


@pytest.fixture
def arms(tiny_scenario, tmp_path):
    """An untreated and a treated arm file extending the parent's scenario."""
    untreated = tmp_path / "untreated.yaml"
    untreated.write_text(json.dumps({"extends": str(tiny_scenario)}))
    treated = tmp_path / "treated.yaml"
    treated.write_text(json.dumps({"extends": str(tiny_scenario),
                                   "interventions": {"cytotoxic": CYTOTOXIC}}))
    return untreated, treated


def branch(parent, arm_path, out, at_step=48, steps_after=48, **kwargs):
    return runner.branch_run(
        parent, at_step, load_scenario(arm_path, kwargs.pop("overrides", [])), out,
        steps_after=steps_after, progress="off", **kwargs,
    )


def test_arms_are_identical_up_to_the_first_dose_and_the_untreated_arm_is_the_parent(
    parent, arms, tmp_path
):
    """Branched at step 48: the untreated arm's time series is the parent's, row for row; the
    treated arm carries the parent's rows to the branch, equals the untreated arm until its dose
    (step 72) and then loses plasma cells; its drug level is 0 before the dose."""
    untreated = branch(parent, arms[0], tmp_path / "a_untreated")
    treated = branch(parent, arms[1], tmp_path / "a_treated")
    base, control, arm = timeseries(parent), timeseries(untreated), timeseries(treated)
    assert sorted(control) == sorted(base)
    for name in base:
        np.testing.assert_array_equal(control[name], base[name], err_msg=name)
    before_dose = arm["step"] <= 72
    for name in base:
        np.testing.assert_array_equal(arm[name][before_dose], base[name][before_dose],
                                      err_msg=name)
    assert np.all(arm["cytotoxic_plasma_mg_per_L"][before_dose] == 0)
    assert arm["n_plasma_cell"][-1] < 0.5 * base["n_plasma_cell"][-1]
    manifest = RunDirectory.open(treated).read_manifest()
    assert manifest["parent"] == {"run": str(parent), "step": 48, "day": 2.0}
    assert manifest["status"] == "completed" and manifest["steps_completed"] == 96
    assert manifest["scenario"]["interventions_start_d"] == 2.0
    assert RunDirectory.open(treated).list_checkpoints() == [48, 72, 96]


def test_an_interrupted_arm_resumes_to_the_same_result(parent, arms, tmp_path, monkeypatch):
    straight = branch(parent, arms[1], tmp_path / "straight")
    original = runner.RunProgress.update

    def interrupt(self, step):
        original(self, step)
        if step == 80:
            raise KeyboardInterrupt

    monkeypatch.setattr(runner.RunProgress, "update", interrupt)
    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        branch(parent, arms[1], out)
    monkeypatch.setattr(runner.RunProgress, "update", original)
    runner.resume_run(out, progress="off")
    assert (out / RunDirectory.TIMESERIES).read_bytes() == (
        straight / RunDirectory.TIMESERIES).read_bytes()


def test_an_arm_that_differs_in_another_key_is_refused(parent, arms, tmp_path):
    with pytest.raises(RunDirectoryError, match="differs from the parent run .* in"
                       " cells.plasma_cell.death_rate_per_day"):
        branch(parent, arms[1], tmp_path / "bad",
               overrides=["cells.plasma_cell.death_rate_per_day=3"])
    assert not (tmp_path / "bad").exists()


def test_branching_needs_a_checkpoint_at_the_branch_time(parent, arms, tmp_path):
    with pytest.raises(RunDirectoryError, match="no checkpoint at step 30; checkpoints are at"
                       " 1d, 2d, 3d, 4d"):
        branch(parent, arms[0], tmp_path / "bad", at_step=30)


def test_cli_branch_prints_each_arm_and_reports_mistakes_in_one_line(parent, arms, tmp_path):
    def abm(*args):
        return subprocess.run([sys.executable, "-m", "abm", *map(str, args)],
                              capture_output=True, text=True, timeout=600)

    done = abm("branch", parent, "--at", "2d", "--for", "24h", "--arm", arms[0], "--arm",
               arms[1], "--out", tmp_path / "arms", "--progress", "off")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path / "arms" / f"parent@2d_{name}")
                                   for name in ("untreated", "treated")]
    for bad, message in (
        (("--at", "2.5x"), "--at: '2.5x' is not a time such as 365d or 48h"),
        (("--at", "0.5h"), "--at: 0.5h is not a whole number of 1 h steps"),
    ):
        done = abm("branch", parent, *bad, "--arm", arms[0])
        assert done.returncode == 2 and done.stderr.strip() == message
    done = abm("branch", tmp_path / "missing", "--at", "1d", "--arm", arms[0])
    assert done.returncode == 2 and "run directory does not exist" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
