"""The validation report (analysis/validation.py): target verdicts from replicate values, and
an end-to-end ``abm validate-model`` on tiny healthy / POEMS / myeloma sections."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from abm.scenario import load_scenario
from analysis import validation
from analysis.runs import Run

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def fake_run(bone, *, days=None, vegf_per_h=3e-6, **columns):
    """A stand-in with the two things the time-series targets read: ``timeseries`` (a BV/TV
    series, other columns constant) and ``scenario``."""
    bone = np.asarray(bone, dtype=np.float64)
    days = np.linspace(0, 365, len(bone)) if days is None else np.asarray(days)
    series = {"time_d": days, "bone_volume_fraction": bone}
    series.update({name: np.full(len(bone), value, dtype=np.float64)
                   for name, value in columns.items()})
    scenario = {"cells": {"plasma_cell": {"secretion_per_h": {"vegf": vegf_per_h}}}}
    return SimpleNamespace(timeseries=series, scenario=scenario)


def target(number: str, statement_start: str) -> validation.Target:
    (found,) = [t for t in validation.TARGETS
                if t.number == number and t.statement.startswith(statement_start)]
    return found


def test_drift_verdict_follows_the_replicate_mean():
    """Target 10: +0.5 and +1.3 %/yr average 0.9 (pass); +1.3 and +1.5 fail."""
    drift = target("10", "Healthy BV/TV")
    stable = [fake_run([0.2, 0.201]), fake_run([0.2, 0.2026])]
    outcome = drift.evaluate({"healthy": stable})
    assert outcome.passed and outcome.simulated.startswith("0.9 ± 0.566 (n = 2)")
    drifting = [fake_run([0.2, 0.2026]), fake_run([0.2, 0.203])]
    assert not drift.evaluate({"healthy": drifting}).passed


def test_ratio_and_fraction_verdicts():
    vegf_ratio = target("19", "Per-cell")
    roles = {"poems": [fake_run([0.2, 0.2], vegf_per_h=4.5e-5)],
             "myeloma": [fake_run([0.2, 0.2], vegf_per_h=3e-6)]}
    outcome = vegf_ratio.evaluate(roles)
    assert outcome.passed and outcome.simulated.endswith("× 15")
    roles["poems"] = [fake_run([0.2, 0.2], vegf_per_h=2e-5)]
    assert not vegf_ratio.evaluate(roles).passed
    lytic = target("27", "Myeloma runs")
    runs = [fake_run([0.2, 0.19]), fake_run([0.2, 0.21]), fake_run([0.2, 0.18])]
    outcome = lytic.evaluate({"myeloma": runs})
    assert outcome.simulated == "2 of 3 runs (67 %)" and outcome.passed
    assert not lytic.evaluate({"myeloma": runs[1:2]}).passed


def test_ablation_verdicts_compare_with_the_intact_scenario(monkeypatch):
    """An ablation of the osteogenic signal passes when the gain near the foci is smaller
    than intact POEMS's, and fails when it is not."""
    smaller = target("20 ablation", "POEMS without the endothelial osteogenic signal")
    near = {"poems": [3.0, 5.0], "poems_no_osteogenic_signal": [1.0, 2.0]}
    with_changes = {role: [SimpleNamespace(near=v) for v in values]
                    for role, values in near.items()}
    monkeypatch.setattr(validation, "regional_bone_change_pct", lambda run: (run.near, 0.0))
    outcome = smaller.evaluate(with_changes)
    assert outcome.passed and outcome.simulated == "1.5 ± 0.707 (n = 2) % vs 4 ± 1.41 (n = 2) %"
    with_changes["poems"] = with_changes["poems_no_osteogenic_signal"]
    assert not smaller.evaluate(with_changes).passed


def test_the_paired_focus_row_subtracts_healthy_bone_over_the_same_region(monkeypatch):
    """POEMS gains 1 and 2 % at its foci where healthy marrow with the same seeds loses 3 and
    gains 1 % over the same regions: +2.5 points on average (pass). A POEMS run whose seed has no
    healthy twin is left out; no twin at all fails with a reason."""
    paired = target("20", "POEMS BV/TV change at and around the foci, minus healthy")
    poems = [SimpleNamespace(seed=s, near=v) for s, v in ((1, 1.0), (2, 2.0), (9, 5.0))]
    healthy = [SimpleNamespace(seed=s, near=v) for s, v in ((2, 1.0), (1, -3.0))]

    def regional(run, near=None):
        assert near == ("region of", run.seed)  # both twins read the POEMS twin's region
        return run.near, 0.0

    monkeypatch.setattr(validation, "focus_surround", lambda run: ("region of", run.seed))
    monkeypatch.setattr(validation, "regional_bone_change_pct", regional)
    outcome = paired.evaluate({"poems": poems, "healthy": healthy})
    assert outcome.passed and outcome.simulated.endswith("difference 2.5 ± 2.12 (n = 2) points")
    outcome = paired.evaluate({"poems": poems[2:], "healthy": healthy})
    assert not outcome.passed and "shares its seed" in outcome.simulated


def test_the_distant_marrow_rows_judge_its_drift_and_check_its_blood():
    """Target 20's background: healthy marrow in the POEMS blood passes while its BV/TV drifts
    by at most 1 %/yr, and its plasma VEGF is checked against POEMS's at diagnosis."""
    background = target("20", "POEMS distant marrow (healthy")
    flat = [fake_run([0.2, 0.2016]), fake_run([0.2, 0.1996])]
    assert background.evaluate({"poems_distant_marrow": flat}).passed
    assert not background.evaluate({"poems_distant_marrow": [fake_run([0.2, 0.204])]}).passed
    blood = target("20", "POEMS distant marrow plasma VEGF")
    days = np.arange(0.0, 366.0)
    distant = [fake_run(np.full(days.size, 0.2), days=days, plasma_vegf_pg_per_mL=660.0)]
    poems = [fake_run(np.full(days.size, 0.2), days=days, plasma_vegf_pg_per_mL=640.0)]
    outcome = blood.evaluate({"poems_distant_marrow": distant, "poems": poems})
    assert outcome.passed and outcome.simulated.endswith("× 1.03")
    poems = [fake_run(np.full(days.size, 0.2), days=days, plasma_vegf_pg_per_mL=76.0)]
    assert not blood.evaluate({"poems_distant_marrow": distant, "poems": poems}).passed


def test_a_reported_row_has_no_verdict_and_is_not_counted(tmp_path, monkeypatch):
    """The rest of the POEMS section is reported (the lesion's surround has no REFERENCE
    expectation): its row says "reported" and the pass count leaves it out."""
    monkeypatch.setattr(validation, "regional_bone_change_pct", lambda run: (2.0, 6.0))
    monkeypatch.setattr(validation, "plot_roles", lambda roles, out: out)
    run = fake_run([0.2, 0.21], serum_vegf_pg_per_mL=3800.0, plasma_vegf_pg_per_mL=640.0,
                   platelets_per_nL=420.0)
    run.path, run.seed = tmp_path / "poems_run", 1
    poems = {"poems": [run]}
    rows = validation.evaluate(poems)
    surround = [o for t, o in rows if t.statement.startswith("POEMS BV/TV change in the rest")]
    assert [o.passed for o in surround] == [None] and surround[0].simulated == "6 (n = 1) %"
    report, failing = validation.write_report(poems, tmp_path)
    text = report.read_text()
    judged = [o.passed for _, o in rows if o.passed is not None]
    assert failing == judged.count(False)
    assert f"**{sum(judged)} of {len(judged)} targets pass** (1 more row is reported" in text
    assert "| reported |" in text


@pytest.mark.parametrize("role", sorted(validation.ROLES))
def test_every_role_is_a_valid_scenario_with_its_changes(role):
    """The shipped scenario of each role loads with the role's parameter changes (a misspelt
    ablation key would fail here, not after hours of runs)."""
    spec = validation.ROLES[role]
    overrides = [f"{key}={value}" for key, value in spec.overrides.items()]
    resolved = load_scenario(SCENARIOS / spec.scenario, overrides).scenario.model_dump()
    for key, value in spec.overrides.items():
        node = resolved
        for part in key.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert node == value


def test_the_vegf_commitment_ablation_switches_off_that_rule():
    """The ablation's index points at the stromal rule VEGF → osteoblast commitment, and fold 1
    leaves every other rule as it was."""
    intact = load_scenario(SCENARIOS / "poems.yaml").scenario.cells.stromal_cell.rules
    key, value = next(iter(validation.ROLES["poems_no_vegf_commitment"].overrides.items()))
    ablated = load_scenario(SCENARIOS / "poems.yaml", [f"{key}={value}"]).scenario
    rules = ablated.cells.stromal_cell.rules
    rule = intact[validation.VEGF_COMMITMENT_RULE]
    assert (rule.signal, rule.direction, rule.behaviour) == (
        "vegf", "increases", "osteoblast_commitment")
    assert rule.max_fold_change > 1 and rules[validation.VEGF_COMMITMENT_RULE].max_fold_change == 1
    assert [r for i, r in enumerate(rules) if i != validation.VEGF_COMMITMENT_RULE] == [
        r for i, r in enumerate(intact) if i != validation.VEGF_COMMITMENT_RULE]


def test_targets_without_runs_of_their_roles_are_left_out(monkeypatch):
    """Only myeloma runs: the rows of myeloma alone (27 twice, 30), none comparing it to
    healthy."""
    monkeypatch.setattr(validation, "regional_bone_change_pct", lambda run: (-5.0, -1.0))
    rows = validation.evaluate({"myeloma": [fake_run([0.2, 0.19, 0.18])]})
    assert [t.number for t, _ in rows] == ["27", "27", "30"]
    assert all(outcome.passed for _, outcome in rows)


TINY_SECTION = {
    "domain": {"size_um": [400, 400]},
    "time": {"duration_d": 2, "record_interval_h": 6, "snapshot_interval_h": 24,
             "checkpoint_interval_h": 24},
    "cells": {"plasma_cell": {"initial_count": 10}, "stromal_cell": {"initial_count": 40},
              "osteoblast": {"initial_count": 6}, "osteoclast": {"initial_count": 2}},
}


def write_roles(folder: Path, base_yaml: Path) -> None:
    """Tiny healthy, POEMS (a clone in one focus, 15× VEGF), myeloma (RANKL) and distant-marrow
    (healthy in raised plasma VEGF and IL-6) sections."""
    clone = {"placement": {"kind": "foci", "n_foci": 1, "radius_um": 60}}
    roles = {
        "healthy": TINY_SECTION,
        "poems": {**TINY_SECTION, "cells": {**TINY_SECTION["cells"], "plasma_cell": {
            **clone, "initial_count": 60, "secretion_per_h": {"vegf": 4.5e-5, "il6": 5e-6}}}},
        "myeloma": {**TINY_SECTION, "cells": {**TINY_SECTION["cells"], "plasma_cell": {
            **clone, "initial_count": 60, "secretion_per_h": {"vegf": 3e-6, "rankl": 3e-4}}}},
    }
    roles["poems_distant_marrow"] = {**TINY_SECTION, "systemic": {"plasma": {
        "vegf": {"extramarrow_plasma_level": 650}, "il6": {"extramarrow_plasma_level": 19}}}}
    folder.mkdir()
    for role, changes in roles.items():
        text = json.dumps({"extends": str(base_yaml), **changes})
        (folder / validation.ROLES[role].scenario).write_text(text)


def test_validate_model_runs_replicates_and_computes_every_row(tmp_path, base_yaml):
    """Two replicates of each role for 2 days on one worker: the report has a row per target,
    each drift value is the one the test computes from the run directories, and re-running
    reuses the completed runs (with --strict, failing targets make the exit status 1)."""
    write_roles(tmp_path / "scenarios", base_yaml)
    out = tmp_path / "validation"
    command = [sys.executable, "-m", "abm", "validate-model", "--replicates", "2", "--days", "2",
               "--scenarios", str(tmp_path / "scenarios"), "--out", str(out), "--workers", "1",
               "--progress", "off"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    report = Path(done.stdout.strip().splitlines()[-1])
    assert report == out / "report.md"
    text = report.read_text()
    assert (out / "figures" / "timeseries.png").stat().st_size > 10_000
    rows = [line for line in text.splitlines()
            if line.startswith("| ") and line.endswith((" | pass |", " | **fail** |",
                                                        " | reported |"))]
    assert len(rows) == len(validation.TARGETS)
    judged = sum(not line.endswith(" | reported |") for line in rows)
    assert f" of {judged} targets pass** ({len(rows) - judged} more row" in text
    runs = [Run.open(p) for p in sorted((out / "healthy" / "runs").iterdir())]
    assert len(runs) == 2 and {r.seed for r in runs} == {r.seed for r in
                                                       [Run.open(p) for p in sorted(
                                                           (out / "poems" / "runs").iterdir())]}
    drift = validation.mean_sd([validation.bone_change_pct_per_year(r) for r in runs])
    assert f"| {drift} %/yr |" in text
    mtimes = {p: p.stat().st_mtime for p in (out / "healthy" / "runs").rglob("manifest.json")}
    again = subprocess.run(command + ["--strict"], capture_output=True, text=True, timeout=900)
    failing = text.count("**fail**")
    assert again.returncode == (1 if failing else 0), again.stderr
    assert (f"{failing} targets fail" in again.stderr) == bool(failing)
    assert {p: p.stat().st_mtime for p in mtimes} == mtimes  # completed runs are not redone


def test_validate_model_reports_a_bad_scenario_in_one_line(tmp_path, base_yaml):
    write_roles(tmp_path / "scenarios", base_yaml)
    (tmp_path / "scenarios" / "poems.yaml").write_text(
        json.dumps({"extends": str(base_yaml), "cells": {"plasma_cel": {}}}))
    done = subprocess.run(
        [sys.executable, "-m", "abm", "validate-model", "--scenarios", str(tmp_path / "scenarios"),
         "--out", str(tmp_path / "v"), "--days", "1", "--replicates", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2
    assert "cells.plasma_cel: unknown key" in done.stderr and "Traceback" not in done.stderr


def test_validate_model_rejects_an_unknown_role(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "abm", "validate-model", "--role", "poems_no_vegf",
         "--out", str(tmp_path / "v"), "--days", "1", "--replicates", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--role: unknown role poems_no_vegf (roles: healthy, poems, myeloma" in done.stderr
    assert not (tmp_path / "v").exists()

