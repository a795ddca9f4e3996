"""The bone processes in a running model: matrix mass balance, precursor entry from vessels,
stage bookkeeping, exact resume, and ablations (no resorption / no formation / no TGF-β
coupling)."""

from __future__ import annotations

import numpy as np
import pytest

from abm.cells.kernels import touches_bone
from abm.cells.table import ACTIVE, CELL_TYPE_CODE, EMPTY
from abm.fields.stack import MARROW, VESSEL_LUMEN
from abm.model import MarrowModel

BONE_SECTION = {
    "domain": {
        "size_um": [600, 600],
        "initial_bone": {
            "kind": "trabecular", "bone_volume_fraction": 0.22, "trabecular_thickness_um": 150,
        },
    },
    "cells": {
        "osteoblast": {"initial_count": 12},
        "osteoclast": {"initial_count": 6},
    },
}
"""A 600 µm section with procedural trabeculae and active bone cells (over the tiny scenario)."""


def process(model, name):
    (found,) = [p for p in model.processes() if p.name == name]
    return found


def matrix_volume(model) -> float:
    return float((model.fields["bone_mineral"] + model.fields["osteoid"]).sum())


@pytest.fixture
def bone_model(write_scenario):
    def build(changes=None, overrides=()):
        from tests.conftest import deep_merge

        path = write_scenario(deep_merge(BONE_SECTION, changes or {}), name="bone.yaml")
        return MarrowModel.from_scenario(path, list(overrides))

    return build


def test_matrix_changes_exactly_by_formation_minus_resorption(bone_model):
    """Bone matrix (mineral + osteoid) is conserved: its change equals the osteoid laid minus
    the matrix resorbed, to rounding; mineralization only moves osteoid into mineral."""
    model = bone_model()
    before = matrix_volume(model)
    model.run_for(96)
    formed = process(model, "formation").formed_total_voxels
    resorbed = process(model, "resorption").resorbed_total_voxels
    assert formed > 0.5 and resorbed > 0.5  # both happened (a 4-day run)
    assert matrix_volume(model) - before == pytest.approx(formed - resorbed, abs=1e-9)
    assert np.all(model.fields["bone_mineral"] >= 0) and np.all(model.fields["osteoid"] >= 0)
    total = model.fields["bone_mineral"] + model.fields["osteoid"]
    assert total.max() <= 1.0 + 1e-12


def test_resorption_and_formation_rates_per_active_cell(bone_model):
    """Over one step each active osteoclast removes ≤ 4.7/24/10 voxel and each active
    osteoblast lays ≤ 0.63/24/10 voxel (REFERENCE 1.1 rates); in total, exactly that many
    per cell that had matrix to work on."""
    model = bone_model(overrides=[
        "bone.osteoclasts.active_lifespan_d=1e9", "bone.osteoclasts.tgfb_apoptosis_rate_per_day=0"
    ])
    table = model.cells
    resorption, formation = process(model, "resorption"), process(model, "formation")
    assert resorption.resorbed_per_step == pytest.approx(4.7 / 24 / 10)
    assert formation.apposition_per_step == pytest.approx(0.63 / 24 / 10)
    n_oc = np.count_nonzero(
        table["alive"] & (table["cell_type"] == CELL_TYPE_CODE["osteoclast"])
        & (table["stage"] == ACTIVE)
    )
    model.step()
    assert resorption.resorbed_total_voxels == pytest.approx(n_oc * resorption.resorbed_per_step)
    assert formation.formed_total_voxels <= 12 * formation.apposition_per_step + 1e-15


def test_osteoclast_precursors_arise_in_free_marrow_wherever_the_vessels_are(bone_model):
    """The precursor supply is a constant marrow source (Pivonka's D_OCp): new precursors sit
    on voxels that were free marrow, about as many near vessels as away from them."""
    model = bone_model(
        overrides=["bone.osteoclasts.precursor_supply_per_marrow_voxel_per_day=2",
                   "bone.osteoclasts.precursor_motility_um2_per_h=0"]
    )
    table, tissue = model.cells, model.fields.tissue
    free_before = (tissue == MARROW) & (table.occupant == EMPTY)
    slots_before = table.n_slots
    model.step()
    new = slots_before + np.flatnonzero(  # some may already have activated or died
        table["cell_type"][slots_before:] == CELL_TYPE_CODE["osteoclast"])
    assert process(model, "osteoclast_fates").entered_total == len(new)
    assert np.all(free_before[table["x"][new], table["y"][new]])
    expected = free_before.sum() * (1 - np.exp(-2 / 24))
    assert abs(len(new) - expected) < 4 * np.sqrt(expected)
    lumen = tissue == VESSEL_LUMEN
    near_lumen = np.zeros_like(lumen)
    for axis in (0, 1):
        for shift in (1, -1):
            near_lumen |= np.roll(lumen, shift, axis=axis)
    share_near = near_lumen[table["x"][new], table["y"][new]].mean()
    assert share_near == pytest.approx((near_lumen & free_before).sum() / free_before.sum(),
                                       abs=0.1)


def test_initial_bone_cells_are_active_on_bone_with_spread_ages(bone_model):
    model = bone_model()
    table = model.cells
    for name in ("osteoblast", "osteoclast"):
        cells = np.flatnonzero(table["alive"] & (table["cell_type"] == CELL_TYPE_CODE[name]))
        assert np.all(table["stage"][cells] == ACTIVE)
        assert all(touches_bone(table["x"][s], table["y"][s], model.fields.tissue, True)
                   for s in cells)
    ob = np.flatnonzero(table["cell_type"] == CELL_TYPE_CODE["osteoblast"])
    period_h = model.config.bone.osteoblasts.active_period_d * 24
    assert len(np.unique(table["stage_h"][ob])) > 6  # not one synchronized cohort
    assert np.all((table["stage_h"][ob] >= 0) & (table["stage_h"][ob] < period_h))


def test_initial_osteoclasts_have_the_steady_state_age(bone_model):
    """Placed osteoclasts get the age-in-stage density S(a)/mean of a steady state of the
    Erlang(k) clock: mean age (1 + 1/k)·mean/2 (less half a step from flooring to whole steps);
    pooled over 300 draws for the 6 placed cells."""
    model = bone_model()
    table, fates = model.cells, process(model, "osteoclast_fates")
    oc = np.flatnonzero(table["alive"] & (table["cell_type"] == CELL_TYPE_CODE["osteoclast"]))
    ages_h = []
    for _ in range(300):
        fates.initialize_cells(model)
        ages_h.append(table["stage_h"][oc].copy())
    ages_h = np.concatenate(ages_h)
    assert np.all(ages_h % model.step_h == 0)
    rules = model.config.bone.osteoclasts
    mean_h, k = rules.active_lifespan_d * 24, rules.active_lifespan_stages
    expected_h = (1 + 1 / k) * mean_h / 2 - model.step_h / 2
    assert np.mean(ages_h) == pytest.approx(expected_h, abs=4 * np.std(ages_h) / len(ages_h) ** 0.5)


def test_resume_from_state_is_exact(bone_model, model_arrays, assert_arrays_equal):
    """Bone layers, release buffers, lineage stages and process counters survive a
    checkpoint: continuing from the state equals the uninterrupted run."""
    straight = bone_model()
    straight.run_for(30)
    arrays, meta = straight.state()
    straight.run_for(30)
    resumed = bone_model()
    fresh = MarrowModel(resumed.config, _place_initial_cells=False)
    fresh.load_state(arrays, meta)
    fresh.run_for(30)
    assert_arrays_equal(model_arrays(straight), model_arrays(fresh))
    for name in ("resorption", "formation", "osteoclast_fates", "osteoblast_fates"):
        assert process(straight, name).readouts() == process(fresh, name).readouts()


@pytest.mark.parametrize(
    ("ablation", "resorbs", "forms"),
    [
        ("bone.osteoclasts.resorption_rate_um_per_day=0", False, True),
        ("bone.osteoblasts.apposition_rate_um_per_day=0", True, False),
    ],
)
def test_ablations_switch_off_their_process(bone_model, ablation, resorbs, forms):
    model = bone_model(overrides=[ablation])
    model.run_for(48)
    assert (process(model, "resorption").resorbed_total_voxels > 0) == resorbs
    assert (process(model, "formation").formed_total_voxels > 0) == forms


def test_resorption_recruits_osteoblast_precursors_through_tgfb(bone_model):
    """Coupling: resorbing osteoclasts release TGF-β, which makes stromal cells commit
    osteoblast precursors; with no TGF-β in the matrix, no precursor is committed."""
    dense = {"cells": {"stromal_cell": {"initial_count": 400}}}
    coupled = bone_model(dense)
    coupled.run_for(96)
    assert coupled.fields["tgfb"].max() > 0
    assert process(coupled, "osteoblast_fates").committed_total > 0
    uncoupled = bone_model(dense, overrides=["bone.matrix_tgfb_amol_per_um3=0"])
    uncoupled.run_for(96)
    assert uncoupled.fields["tgfb"].max() == 0
    assert process(uncoupled, "osteoblast_fates").committed_total == 0


def test_vegf_survival_rule_lengthens_the_active_phase(bone_model):
    """A rule "VEGF decreases osteoblast_apoptosis" with fold F at saturating VEGF runs the
    apoptosis programme at ~1/F pace. With a 2-day active period, after 3 days none of the
    placed (active) osteoblasts is still active without the rule (the ablation); with F = 4
    exactly those whose programme started below 48 − 72/4 = 30 h are."""
    quick = {"bone": {"osteoblasts": {"active_period_d": 2}},
             "cells": {"osteoclast": {"initial_count": 0}},
             "fields": {"vegf": {"external_production_per_h": 1e7}}}
    rule = {"signal": "vegf", "direction": "decreases", "behaviour": "osteoblast_apoptosis",
            "half_max": 1.0, "hill_power": 1, "max_fold_change": 4}

    def active_after_3_days(rules):
        from tests.conftest import deep_merge

        model = bone_model(deep_merge(quick, {"cells": {"osteoblast": {"rules": rules}}}))
        table = model.cells
        placed = table["alive"] & (table["cell_type"] == CELL_TYPE_CODE["osteoblast"])
        ids, started_h = table["cell_id"][placed], table["active_phase_h"][placed].copy()
        model.run_for(72)
        table = model.cells
        active = table["alive"] & (table["stage"] == ACTIVE)
        return np.isin(ids, table["cell_id"][active]), started_h

    without, _ = active_after_3_days([])
    assert len(without) == 12 and not without.any()
    kept, started_h = active_after_3_days([rule])
    np.testing.assert_array_equal(kept, started_h < 30)
    assert 0 < kept.sum() < 12
