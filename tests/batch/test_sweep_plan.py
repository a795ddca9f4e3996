"""Sweep files and plans: designs, seeds, validation of every varied key, one-line errors."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest

from abm.batch.design import design_points
from abm.batch.plan import plan_sweep, run_seed
from abm.scenario import ScenarioError

PLASMA_DIVISION = "cells.plasma_cell.division_rate_per_day"
STROMAL_DEATH = "cells.stromal_cell.death_rate_per_day"


def test_grid_plan_lists_points_replicates_and_seeds(write_sweep):
    plan = plan_sweep(write_sweep())
    assert [(r.point, r.replicate) for r in plan.runs] == [
        (p, r) for p in range(4) for r in range(2)
    ]
    values = [(r.parameters[PLASMA_DIVISION], r.parameters[STROMAL_DEATH]) for r in plan.runs]
    assert values[::2] == [(1, 0.25), (1, 0.75), (3, 0.25), (3, 0.75)]
    seeds = [r.seed for r in plan.runs]
    assert seeds == [run_seed(11, i) for i in range(8)]
    assert len(set(seeds)) == 8
    for run in plan.runs:  # each run's own values: nothing leaks between override sets
        scenario = run.loaded.scenario
        assert scenario.seed == run.seed
        assert scenario.cells.plasma_cell.division_rate_per_day == run.parameters[PLASMA_DIVISION]
        assert scenario.cells.stromal_cell.death_rate_per_day == run.parameters[STROMAL_DEATH]
        assert run.loaded.overrides[-1] == f"seed={run.seed}"
    assert plan.steps == [96]  # the tiny scenario's 4 days of 1 h


def test_a_sweep_without_parameters_is_replicates_of_its_scenario(write_sweep):
    """No parameters with a grid design: one point, ``replicates`` runs with their own seeds
    (what ``abm validate-model`` runs); a sampled design needs a parameter."""
    plan = plan_sweep(write_sweep({"parameters": {}, "replicates": 3}))
    assert [(r.point, r.replicate, r.parameters) for r in plan.runs] == [
        (0, k, {}) for k in range(3)
    ]
    assert [r.seed for r in plan.runs] == [run_seed(11, i) for i in range(3)]
    with pytest.raises(ScenarioError, match="design: a morris design needs at least one"):
        plan_sweep(write_sweep({"parameters": {}, "design": {"kind": "morris",
                                                             "trajectories": 2}}))


def test_run_seeds_are_the_spawned_children_of_the_root_seed():
    children = np.random.SeedSequence(11).spawn(5)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]
    assert [run_seed(11, i) for i in range(5)] == expected


def test_fixed_set_values_apply_to_every_run(write_sweep):
    plan = plan_sweep(write_sweep({"set": {"time.duration_d": 2}, "steps": 10}))
    assert {r.loaded.scenario.time.duration_steps for r in plan.runs} == {48}
    assert plan.steps == [10]


def test_latin_hypercube_has_one_sample_per_stratum_and_rounds_integers(write_sweep):
    plan = plan_sweep(
        write_sweep(
            {
                "parameters": {
                    "cells.plasma_cell.initial_count": {
                        "kind": "uniform", "low": 100, "high": 200, "integer": True,
                    },
                    PLASMA_DIVISION: {"kind": "log_uniform", "low": 0.1, "high": 10},
                },
                "design": {"kind": "latin_hypercube", "samples": 20},
                "replicates": 1,
            }
        )
    )
    unit = plan.points.unit_samples
    assert unit.shape == (20, 2)
    for column in unit.T:
        assert sorted(np.floor(column * 20).astype(int)) == list(range(20))
    counts = [r.parameters["cells.plasma_cell.initial_count"] for r in plan.runs]
    assert all(isinstance(c, int) and 100 <= c <= 200 for c in counts)
    np.testing.assert_allclose(counts, np.round(100 + 100 * unit[:, 0]))
    rates = np.array([r.parameters[PLASMA_DIVISION] for r in plan.runs])
    np.testing.assert_allclose(np.log10(rates), -1 + 2 * unit[:, 1])


def test_sampled_normal_has_its_mean_and_sd(write_sweep):
    sweep = write_sweep(
        {
            "parameters": {PLASMA_DIVISION: {"kind": "normal", "mean": 2.0, "sd": 0.25}},
            "design": {"kind": "latin_hypercube", "samples": 400},
            "replicates": 1,
        }
    )
    values = np.array([r.parameters[PLASMA_DIVISION] for r in plan_sweep(sweep).runs])
    assert abs(values.mean() - 2.0) < 0.01
    assert abs(values.std() - 0.25) < 0.01


@pytest.mark.parametrize(
    ("design", "points"),
    [
        ({"kind": "sobol", "base_samples": 8}, 8 * (2 + 2)),
        ({"kind": "sobol", "base_samples": 8, "second_order": True}, 8 * (2 * 2 + 2)),
        ({"kind": "morris", "trajectories": 5, "levels": 4}, 5 * (2 + 1)),
    ],
)
def test_sensitivity_designs_have_salib_sizes(write_sweep, design, points):
    parameters = {
        PLASMA_DIVISION: {"kind": "uniform", "low": 1, "high": 3},
        STROMAL_DEATH: {"kind": "uniform", "low": 0.25, "high": 0.75},
    }
    plan = plan_sweep(write_sweep({"parameters": parameters, "design": design}))
    assert len(plan.points.values) == points
    assert len(plan.runs) == 2 * points
    rates = [r.parameters[PLASMA_DIVISION] for r in plan.runs]
    assert min(rates) >= 1 and max(rates) <= 3


def test_design_points_do_not_depend_on_anything_but_the_file(write_sweep):
    sweep = write_sweep({"design": {"kind": "latin_hypercube", "samples": 6}, "parameters": {
        PLASMA_DIVISION: {"kind": "uniform", "low": 1, "high": 3}}})
    first, second = plan_sweep(sweep), plan_sweep(sweep)
    assert design_points(first.sweep.sweep).values == [r.parameters for r in second.runs[::2]]
    assert first.resolved_yaml() == second.resolved_yaml()


@pytest.mark.parametrize(
    ("name", "summary", "runs"),
    [
        ("poems_vegf_sweep.yaml", "18 runs = 9 points x 2 replicates (grid design)", 18),
        ("poems_vegf_sobol.yaml", "320 runs = 320 points x 1 replicates (sobol design)", 320),
    ],
)
def test_example_sweeps_plan(run_cli, repo_root, name, summary, runs):
    result = run_cli(["sweep", "plan", repo_root / "scenarios" / "sweeps" / name])
    assert result.returncode == 0, result.stderr
    assert f"{summary}, 720 steps each" in result.stdout
    assert len(result.stdout.splitlines()) == 1 + 1 + runs


def test_every_example_sweep_is_tested(repo_root):
    names = {p.name for p in (repo_root / "scenarios" / "sweeps").glob("*.yaml")}
    assert names == {"poems_vegf_sweep.yaml", "poems_vegf_sobol.yaml"}


SWEEP_HEAD = """\
scenario: tiny.yaml
parameters:
"""


@pytest.mark.parametrize(
    ("body", "line", "key", "words"),
    [
        (  # malformed YAML
            "  cells.plasma_cell.division_rate_per_day: {kind: values, values: [1, 2]\n"
            "design: {kind: grid}\n",
            4, "(top level)", "YAML syntax error",
        ),
        (  # a key path the scenario does not have: the loader's error, at the sweep file's line
            "  cells.plasma_cell.division_rate_per_dy: {kind: values, values: [1, 2]}\n"
            "design: {kind: grid}\nreplicates: 2\nseed: 1\n",
            3, "cells.plasma_cell.division_rate_per_dy", "did you mean 'division_rate_per_day'",
        ),
        (  # negative replicates
            "  cells.plasma_cell.division_rate_per_day: {kind: values, values: [1, 2]}\n"
            "design: {kind: grid}\nreplicates: -2\nseed: 1\n",
            5, "replicates", "greater than or equal to 1",
        ),
        (  # a varied value the schema refuses
            "  cells.plasma_cell.division_rate_per_day: {kind: values, values: [1, -2]}\n"
            "design: {kind: grid}\nreplicates: 1\nseed: 1\n",
            3, "cells.plasma_cell.division_rate_per_day", "(at point 1, value -2)",
        ),
        (  # a distribution in a grid
            "  cells.plasma_cell.division_rate_per_day:\n    kind: uniform\n    low: 1\n"
            "    high: 2\ndesign: {kind: grid}\nreplicates: 1\nseed: 1\n",
            4, "parameters.cells.plasma_cell.division_rate_per_day.kind", "grid design needs",
        ),
        (  # the seed belongs to the sweep
            "  seed: {kind: values, values: [1, 2]}\ndesign: {kind: grid}\nreplicates: 1\n"
            "seed: 1\n",
            2, "parameters", "root seed",
        ),
    ],
)
def test_cli_errors_are_one_line_naming_file_line_and_key(
    run_cli, tiny_scenario, body, line, key, words
):
    sweep = tiny_scenario.parent / "bad.yaml"
    sweep.write_text(SWEEP_HEAD + body)
    result = run_cli(["sweep", "plan", sweep])
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    [message] = result.stderr.splitlines()
    assert re.match(rf"{re.escape(str(sweep))}:{line}:\d+: {re.escape(key)}: ", message), message
    assert words in message


def test_missing_base_scenario_is_named_at_its_line(write_sweep):
    with pytest.raises(ScenarioError) as caught:
        plan_sweep(write_sweep({"scenario": "nowhere.yaml"}))
    assert re.search(r"sweep\.yaml:2:\d+: scenario: base scenario not found", str(caught.value))


def test_a_key_both_fixed_and_varied_is_refused(write_sweep, tmp_path):
    sweep = write_sweep({"set": {PLASMA_DIVISION: 2}})
    with pytest.raises(ScenarioError, match="is also fixed under 'set'"):
        plan_sweep(sweep)


def test_sweep_file_keys_are_strict(tmp_path, tiny_scenario):
    sweep = tiny_scenario.parent / "strict.yaml"
    sweep.write_text(
        textwrap.dedent(
            """\
            scenario: tiny.yaml
            parameters:
              cells.plasma_cell.division_rate_per_day: {kind: values, values: [1, 2]}
            design: {kind: grid}
            replicate: 2
            seed: 1
            """
        )
    )
    with pytest.raises(ScenarioError) as caught:
        plan_sweep(sweep)
    text = str(caught.value)
    assert "strict.yaml:5:1: replicate: unknown key (did you mean 'replicates'?)" in text
    assert "replicates: required key is missing" in text
