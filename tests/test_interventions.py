"""Treatments (abm/interventions.py): dose schedules as Mesa events, one-compartment PK, each
mechanism of REFERENCE 2.9 against its analytic expectation, and the shipped treatment arms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.cells import kernels, reference
from abm.interventions import NM_PER_MG_PER_L_PER_KDA, linear_quadratic_kill
from abm.model import MarrowModel
from abm.observers.timeseries import readouts
from abm.scenario.schema import DoseSchedule

STILL = {"division_rate_per_day": 0, "death_rate_per_day": 0, "random_motility_um2_per_h": 0}
LONG_LIVED = {"half_life_h": 1e9, "volume_L": 1.0, "marrow_to_plasma_ratio": 1.0}
"""A drug whose level stays at dose/volume (mg/L) over a test."""


def drug(effects, *, dose_mg=1.0, pk=None, **schedule):
    """An intervention entry: one dose at t = 0 unless ``schedule`` says otherwise."""
    return {
        "kind": "drug",
        "schedule": {"start_d": 0, "interval_d": 1, "doses": 1, "dose_mg": dose_mg, **schedule},
        "pharmacokinetics": pk or LONG_LIVED,
        "effects": effects,
    }


def steps(model: MarrowModel, n: int) -> MarrowModel:
    model.run_for(n)
    return model


# ----------------------------------------------------------------------------- schedules


def test_dose_days_by_count_by_end_day_and_in_cycles():
    assert DoseSchedule(start_d=2, interval_d=7, doses=3).dose_days() == [2, 9, 16]
    assert DoseSchedule(start_d=0, interval_d=14, until_d=42).dose_days() == [0, 14, 28]
    cycles = DoseSchedule(start_d=0, interval_d=1, doses=3, repeat_every_d=7, repeats=2)
    assert cycles.dose_days() == [0, 1, 2, 7, 8, 9]


def test_one_compartment_pk_follows_the_superposition_of_boluses(write_scenario):
    """Doses of D mg at days 1 and 2 (steps 24 and 48: each given right after its step, so the
    run's time-series row of that step does not see it yet): after ``run_for`` to step t the
    plasma level is Σ D/V·exp(−k·(t − t_i)) over the doses at t_i ≤ t."""
    pk = {"half_life_h": 10.0, "volume_L": 5.0, "marrow_to_plasma_ratio": 0.5}
    effect = {"mechanism": "inhibits_division", "cell_type": "plasma_cell",
              "max_inhibition": 0.5, "ec50_mg_per_L": 1.0}
    model = MarrowModel.from_scenario(write_scenario({"interventions": {
        "pill": drug([effect], dose_mg=20.0, pk=pk, start_d=1, doses=2)}}))
    k = math.log(2) / 10.0
    for t in (23, 24, 25, 48, 49, 60):
        steps(model, t - model.steps)
        expected = sum(20.0 / 5.0 * math.exp(-k * (t - s)) for s in (24, 48) if s <= t)
        assert readouts(model)["pill_plasma_mg_per_L"] == pytest.approx(expected, rel=1e-12)


def test_dose_times_must_be_whole_steps(write_scenario, load):
    from abm.scenario import ScenarioError

    path = write_scenario({"interventions": {"pill": drug(
        [{"mechanism": "inhibits_division", "cell_type": "plasma_cell", "max_inhibition": 0.5,
          "ec50_mg_per_L": 1.0}], interval_d=0.01, doses=2)}})
    with pytest.raises(ScenarioError, match="interventions.pill.schedule.interval_d.*whole"):
        load(path)


# ----------------------------------------------------------------------------- mechanisms


def test_neutralizing_antibody_adds_kon_times_its_concentration_to_the_ligand_loss(
    write_scenario,
):
    """A uniform source P of a species with decay λ and no cells, vessels or exchange settles at
    P/λ; with an antibody at C mg/L (marrow) it settles at P/(λ + k_on·C·1000/M)."""
    half_life_h, production = 2.0, 50.0
    changes = {
        "cells": {name: {"initial_count": 0} for name in ("plasma_cell", "stromal_cell")},
        "domain": {"vessels": {"kind": "none"}},
        "fields": {"dkk1": {"half_life_h": half_life_h, "external_production_per_h": production,
                            "vessel_exchange_rate_per_s": 0,
                            "solver": {"relative_tolerance": 1e-6}}},
    }
    antibody = {"mechanism": "neutralizes", "species": "dkk1",
                "association_rate_per_nM_per_h": 0.05, "molecular_weight_kDa": 150}
    untreated = steps(MarrowModel.from_scenario(write_scenario(changes)), 72)
    treated = steps(MarrowModel.from_scenario(write_scenario(
        {**changes, "interventions": {"ab": drug([antibody], dose_mg=3.0)}}, name="ab.yaml")), 72)
    decay = math.log(2) / half_life_h
    binding = 0.05 * 3.0 * NM_PER_MG_PER_L_PER_KDA / 150
    tolerance = 1e-5  # the CG solves' relative tolerance
    np.testing.assert_allclose(untreated.fields["dkk1"], production / decay, rtol=tolerance)
    np.testing.assert_allclose(
        treated.fields["dkk1"], production / (decay + binding), rtol=tolerance
    )


def secreting_clone(write_scenario, interventions=None, name="clone.yaml"):
    """Still plasma cells secreting DKK1 (no plasma pool, no vessel exchange: the field is
    linear in the secretion)."""
    return MarrowModel.from_scenario(write_scenario({
        "cells": {
            "plasma_cell": {**STILL, "initial_count": 200, "secretion_per_h": {"dkk1": 1e-3},
                            "rules": []},
            "stromal_cell": {**STILL, "rules": []},
        },
        "fields": {"dkk1": {"vessel_exchange_rate_per_s": 0}},
        "interventions": interventions or {},
    }, name=name))


@pytest.mark.parametrize("hill_power", [1.0, 2.0])
def test_secretion_inhibition_scales_the_field_by_one_minus_emax(write_scenario, hill_power):
    """At C = EC50, E = E_max/2 for any Hill power: the (linear) DKK1 field is × (1 − E_max/2)
    everywhere, at every step."""
    inhibition = {"mechanism": "inhibits_secretion", "cell_type": "plasma_cell",
                  "species": ["dkk1"], "max_inhibition": 0.6, "ec50_mg_per_L": 2.0,
                  "hill_power": hill_power}
    untreated = steps(secreting_clone(write_scenario), 12)
    treated = steps(secreting_clone(
        write_scenario, {"imid": drug([inhibition], dose_mg=2.0)}, name="imid.yaml"), 12)
    assert untreated.fields["dkk1"].max() > 0
    np.testing.assert_allclose(treated.fields["dkk1"], 0.7 * untreated.fields["dkk1"], rtol=1e-6)


def test_overlapping_drugs_multiply_their_folds(write_scenario):
    """Two drugs inhibiting the same secretion at once (E = 0.3 and 0.5 at C = EC50): the
    linear DKK1 field is × (1 − 0.3)·(1 − 0.5)."""
    def inhibitor(max_inhibition):
        return drug([{"mechanism": "inhibits_secretion", "cell_type": "plasma_cell",
                      "species": ["dkk1"], "max_inhibition": 2 * max_inhibition,
                      "ec50_mg_per_L": 1.0}])

    untreated = steps(secreting_clone(write_scenario), 6)
    treated = steps(secreting_clone(
        write_scenario, {"a": inhibitor(0.3), "b": inhibitor(0.5)}, name="two.yaml"), 6)
    np.testing.assert_allclose(treated.fields["dkk1"], 0.35 * untreated.fields["dkk1"],
                               rtol=1e-6)


def test_division_inhibition_stops_division_at_full_effect(write_scenario):
    """E_max = 1 at C = 1000·EC50: division × 0.001; the untreated clone grows."""
    changes = {"cells": {"plasma_cell": {**STILL, "division_rate_per_day": 2.0}}}
    block = {"mechanism": "inhibits_division", "cell_type": "plasma_cell",
             "max_inhibition": 1.0, "ec50_mg_per_L": 0.001}
    untreated = steps(MarrowModel.from_scenario(write_scenario(changes)), 24)
    treated = steps(MarrowModel.from_scenario(write_scenario(
        {**changes, "interventions": {"block": drug([block])}}, name="block.yaml")), 24)
    assert treated.interventions.effects.division_fold[0] == pytest.approx(1 / 1001)
    assert readouts(untreated)["n_plasma_cell"] > 1.5 * 150
    assert readouts(treated)["n_plasma_cell"] <= 151


def test_cytotoxic_drug_kills_at_its_extra_death_rate(write_scenario):
    """A constant extra death rate h = E_max/2 (C = EC50) over T hours leaves exp(−h·T) of the
    targeted type (binomial, 4 σ) and spares the others."""
    kill = {"mechanism": "kills", "cell_type": "plasma_cell", "max_death_rate_per_h": 0.1,
            "ec50_mg_per_L": 1.0}
    model = steps(MarrowModel.from_scenario(write_scenario({
        "cells": {"plasma_cell": {**STILL, "initial_count": 500},
                  "stromal_cell": {**STILL, "initial_count": 100}},
        "interventions": {"cytotoxic": drug([kill])},
    })), 20)
    survival = math.exp(-0.05 * 20)  # dosed at t = 0, before step 1: 20 steps of exposure
    row = readouts(model)
    sigma = math.sqrt(500 * survival * (1 - survival))
    assert abs(row["n_plasma_cell"] - 500 * survival) < 4 * sigma
    assert row["n_stromal_cell"] == 100
    assert row["cells_killed_by_treatment_total"] == 500 - row["n_plasma_cell"]


def test_radiation_kills_inside_its_field_by_the_linear_quadratic_law(write_scenario):
    """Three 2 Gy fractions to the left half: plasma cells there survive as S(2 Gy)³ (binomial,
    4 σ), those outside and the cell types without a radiosensitivity all survive."""
    model = steps(MarrowModel.from_scenario(write_scenario({
        "cells": {"plasma_cell": {**STILL, "initial_count": 600},
                  "stromal_cell": {**STILL, "initial_count": 100}},
        "interventions": {"beam": {
            "kind": "radiation",
            "schedule": {"start_d": 0, "interval_d": 0.5, "doses": 3, "dose_Gy": 2.0},
            "field": {"x_um": [0, 150], "y_um": [0, 300]},
            "radiosensitivity": {"plasma_cell": {"alpha_per_Gy": 0.3, "beta_per_Gy2": 0.03}},
        }},
    })), 30)
    table = model.cells
    plasma = table["alive"] & (table["cell_type"] == 0)
    left_voxels = model.interventions.radiation[0].in_field
    assert left_voxels[:15].all() and not left_voxels[15:].any()
    before = MarrowModel(model.config.model_copy(update={"interventions": {}}))  # same placement
    placed = before.cells["alive"] & (before.cells["cell_type"] == 0)
    inside = int(np.count_nonzero(placed & (before.cells["x"] < 15)))
    survival = (1 - linear_quadratic_kill(0.3, 0.03, 2.0)) ** 3
    survivors_inside = int(np.count_nonzero(plasma & (table["x"] < 15)))
    assert np.count_nonzero(plasma & (table["x"] >= 15)) == np.count_nonzero(
        placed & (before.cells["x"] >= 15)
    )
    sigma = math.sqrt(inside * survival * (1 - survival))
    assert abs(survivors_inside - inside * survival) < 4 * sigma
    assert readouts(model)["n_stromal_cell"] == 100
    assert readouts(model)["beam_delivered_Gy"] == 6.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_kill_cells_kernel_matches_reference(seed):
    rng = np.random.default_rng(seed)
    nx, ny, n = 12, 9, 60
    positions = rng.choice(nx * ny, size=n, replace=False)
    x, y = (positions // ny).astype(np.int32), (positions % ny).astype(np.int32)
    alive = rng.random(n) < 0.8
    cell_type = rng.integers(0, 5, n).astype(np.int8)
    stage = rng.integers(0, 3, n).astype(np.int8)
    probability = rng.random((5, 3))
    in_field = rng.random((nx, ny)) < 0.6
    u = rng.random(n)
    results = []
    for impl in (kernels.kill_cells, reference.kill_cells):
        a = alive.copy()
        occupant = np.full((nx, ny), -1, dtype=np.int64)
        occupant[x[alive], y[alive]] = np.flatnonzero(alive)
        killed = impl(u, probability, in_field, a, cell_type, stage, x, y, occupant, n)
        results.append((killed, a, occupant))
    (k1, a1, o1), (k2, a2, o2) = results
    assert k1 == k2 == np.count_nonzero(alive & ~a1)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(o1, o2)


def test_a_treated_run_continues_identically_from_a_checkpoint_mid_course(
    write_scenario, model_arrays, assert_arrays_equal
):
    """Drug amounts are checkpointed and the doses still to come are rescheduled as events:
    a model loaded at step 30 (between doses) ends as the uninterrupted one."""
    kill = {"mechanism": "kills", "cell_type": "plasma_cell", "max_death_rate_per_h": 0.05,
            "ec50_mg_per_L": 1.0}
    pk = {"half_life_h": 6.0, "volume_L": 1.0, "marrow_to_plasma_ratio": 1.0}
    path = write_scenario({"interventions": {"cyto": drug([kill], pk=pk, interval_d=1, doses=3)}})
    straight = steps(MarrowModel.from_scenario(path), 72)
    first = steps(MarrowModel.from_scenario(path), 30)
    arrays, meta = first.state()
    resumed = MarrowModel(first.config, _place_initial_cells=False)
    resumed.load_state(arrays, meta)
    steps(resumed, 42)
    assert_arrays_equal(model_arrays(straight), model_arrays(resumed))
    assert readouts(straight) == readouts(resumed)


def test_a_dose_given_at_the_checkpoint_step_is_not_given_again(write_scenario):
    """``run_for(24)`` gives the day-1 dose after step 24; a model loaded from that state has
    it (doses are counted, not re-derived from the step) and ends as the uninterrupted run."""
    pk = {"half_life_h": 6.0, "volume_L": 1.0, "marrow_to_plasma_ratio": 1.0}
    effect = {"mechanism": "inhibits_division", "cell_type": "plasma_cell",
              "max_inhibition": 0.5, "ec50_mg_per_L": 1.0}
    path = write_scenario({"interventions": {"pill": drug([effect], pk=pk, start_d=1, doses=2)}})
    straight = steps(MarrowModel.from_scenario(path), 48)
    first = steps(MarrowModel.from_scenario(path), 24)
    assert first.interventions.doses_given == 1
    resumed = MarrowModel(first.config, _place_initial_cells=False)
    resumed.load_state(*first.state())
    steps(resumed, 24)
    assert resumed.interventions.doses_given == straight.interventions.doses_given == 2
    assert readouts(resumed) == readouts(straight)


# ----------------------------------------------------------------------------- the arms


def arm_day(repo_root, arm: str, hours: int) -> dict:
    model = MarrowModel.from_scenario(repo_root / "scenarios" / "arms" / f"{arm}.yaml")
    return readouts(steps(model, hours))


@pytest.fixture(scope="module")
def poems_untreated_day_3(repo_root):
    return arm_day(repo_root, "poems_untreated", 72)


def test_siltuximab_lowers_il6_crp_and_platelets(repo_root, poems_untreated_day_3):
    """REFERENCE 3 target 24 (sign): IL-6 neutralisation lowers platelets and CRP."""
    treated, untreated = arm_day(repo_root, "poems_siltuximab", 72), poems_untreated_day_3
    assert treated["plasma_il6_pg_per_mL"] < 0.5 * untreated["plasma_il6_pg_per_mL"]
    assert treated["crp_mg_per_L"] < 0.5 * untreated["crp_mg_per_L"]
    assert treated["platelets_per_nL"] < untreated["platelets_per_nL"]


def test_bevacizumab_lowers_free_vegf_and_the_capillary_leak(repo_root, poems_untreated_day_3):
    treated, untreated = arm_day(repo_root, "poems_bevacizumab", 72), poems_untreated_day_3
    assert treated["vegf_mean"] < 0.1 * untreated["vegf_mean"]
    assert treated["serum_vegf_pg_per_mL"] < 0.1 * untreated["serum_vegf_pg_per_mL"]
    assert treated["capillary_leak_index"] < untreated["capillary_leak_index"]


def test_high_dose_melphalan_kills_most_plasma_cells(repo_root, poems_untreated_day_3):
    """REFERENCE 2.9: high-dose melphalan kills > 90 % of plasma cells at dosing, and some
    stromal cells (collateral)."""
    treated, untreated = arm_day(repo_root, "poems_melphalan_asct", 72), poems_untreated_day_3
    assert treated["n_plasma_cell"] < 0.1 * untreated["n_plasma_cell"]
    assert 0.5 * untreated["n_stromal_cell"] < treated["n_stromal_cell"] < untreated[
        "n_stromal_cell"]
