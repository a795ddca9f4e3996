"""Signal → behaviour rules in the model: folds follow the Hill curves of the sensed fields, and
transport, turnover and the default rule set (REFERENCE §1.5, §3 target 37) use them."""

from __future__ import annotations

import numpy as np
import pytest

from abm.cells.table import CELL_TYPE_CODE
from abm.model import MarrowModel
from abm.observers.timeseries import readouts
from abm.processes.responses import SignalResponses, fold

PLASMA, STROMAL = CELL_TYPE_CODE["plasma_cell"], CELL_TYPE_CODE["stromal_cell"]
STILL = {"division_rate_per_day": 0, "death_rate_per_day": 0, "random_motility_um2_per_h": 0}


def rule(signal, direction, behaviour, half_max, hill_power, max_fold_change):
    return {"signal": signal, "direction": direction, "behaviour": behaviour,
            "half_max": half_max, "hill_power": hill_power, "max_fold_change": max_fold_change}


def process(model: MarrowModel) -> SignalResponses:
    (found,) = [p for p in model.processes() if p.name == "signal_responses"]
    return found


def of_type(model: MarrowModel, code: int) -> np.ndarray:
    table = model.cells
    return np.flatnonzero(table["alive"] & (table["cell_type"] == code))


def test_folds_follow_the_hill_curves_of_each_cell_types_rules(write_scenario):
    model = MarrowModel.from_scenario(write_scenario({"cells": {
        "plasma_cell": {"rules": [rule("il6", "decreases", "death", 40.0, 1, 4)]},
        "stromal_cell": {"rules": [
            rule("il6", "increases", "vegf_secretion", 20.0, 2, 3),
            rule("vegf", "decreases", "vegf_secretion", 100.0, 1, 2),
            rule("vegf", "increases", "il6_secretion", 100.0, 1, 25),
        ]},
        "osteoblast": {"rules": []},
    }}))
    responses = process(model)
    assert responses.behaviours == ["death", "vegf_secretion", "il6_secretion"]
    il6, vegf = 20.0, 300.0
    model.fields["il6"][...] = il6
    model.fields["vegf"][...] = vegf
    responses.step(model)
    table, plasma, stromal = model.cells, of_type(model, PLASMA), of_type(model, STROMAL)
    np.testing.assert_allclose(fold(table, "death")[plasma], 1 - 0.75 * il6 / (il6 + 40))
    np.testing.assert_allclose(fold(table, "death")[stromal], 1.0)
    vegf_fold = (1 + 2 * 0.5) * (1 - 0.5 * vegf / (vegf + 100))  # Hill n = 2 at K: H = 1/2
    np.testing.assert_allclose(fold(table, "vegf_secretion")[stromal], vegf_fold, rtol=1e-12)
    np.testing.assert_allclose(fold(table, "vegf_secretion")[plasma], 1.0)
    np.testing.assert_allclose(fold(table, "il6_secretion")[stromal], 1 + 24 * 0.75, rtol=1e-12)
    row = readouts(model)
    assert row["stromal_cell_vegf_secretion_fold_mean"] == pytest.approx(vegf_fold)
    assert row["plasma_cell_death_fold_mean"] == pytest.approx(1 - 0.75 / 3)
    assert fold(table, "division").size == 0  # no rule: transport and turnover read fold 1


def test_secretion_fold_scales_the_source_that_transport_solves(write_scenario):
    """VEGF from stromal cells only, no VEGF at t = 0 and no exchange: the field after one
    transport step is linear in the sources, so doubling every fold doubles it."""
    path = write_scenario({
        "fields": {"vegf": {"initial_value": 0, "blood_value": 0,
                            "vessel_exchange_rate_per_s": 0}},
        "cells": {"plasma_cell": {"initial_count": 0},
                  "stromal_cell": {**STILL, "hif_secretion_gain": {"vegf": 0},
                                   "rules": [rule("il6", "increases", "vegf_secretion", 1, 1, 2)]}},
    })
    totals = []
    for value in (1.0, 2.0):
        model = MarrowModel.from_scenario(path)
        model.cells["vegf_secretion_fold"][:] = value  # set by hand, read by transport
        transport = next(p for p in model.processes() if p.name == "transport")
        transport.step(model)
        totals.append(float(model.fields["vegf"].sum()))
    assert totals[0] > 0
    assert totals[1] == pytest.approx(2 * totals[0], rel=1e-7)


def test_il6_dependent_survival_slows_plasma_cell_death(write_scenario):
    """Plasma cells die at 1/day; saturating IL-6 with a 'decreases death' rule (F = 4) leaves
    exp(−2/4) ≈ 61 % alive after 2 days instead of exp(−2) ≈ 14 %."""
    survivors = {}
    for name, production in (("no_il6", 0.0), ("il6", 1e6)):
        model = MarrowModel.from_scenario(write_scenario({
            "fields": {"il6": {"initial_value": 0, "blood_value": 0,
                               "external_production_per_h": production}},
            "cells": {
                "plasma_cell": {**STILL, "initial_count": 400, "death_rate_per_day": 1,
                                "rules": [rule("il6", "decreases", "death", 50, 1, 4)]},
                "stromal_cell": {"initial_count": 0},
            },
        }, name=f"{name}.yaml"))
        for _ in range(48):
            model.step()
        survivors[name] = len(of_type(model, PLASMA)) / 400
    assert survivors["no_il6"] == pytest.approx(np.exp(-2), abs=0.06)
    assert survivors["il6"] == pytest.approx(np.exp(-0.5), abs=0.08)


def test_default_rules_reproduce_the_dankbar_mechanism_checks(write_scenario):
    """REFERENCE §3 target 37 with base.yaml's rules: VEGF 50 ng/mL raises stromal IL-6
    secretion 14–27×; IL-6 (10 ng/mL) raises plasma-cell VEGF secretion by 40–60 %."""
    model = MarrowModel.from_scenario(write_scenario())
    model.fields["vegf"][...] = 50_000.0
    model.fields["il6"][...] = 0.0
    model.fields["il1b"][...] = 0.0
    process(model).step(model)
    il6_fold = fold(model.cells, "il6_secretion")[of_type(model, STROMAL)]
    assert np.all((14 <= il6_fold) & (il6_fold <= 27)), il6_fold.min()
    model.fields["vegf"][...] = 0.0
    model.fields["il6"][...] = 10_000.0
    process(model).step(model)
    vegf_fold = fold(model.cells, "vegf_secretion")[of_type(model, PLASMA)]
    assert np.all((1.4 <= vegf_fold) & (vegf_fold <= 1.6)), vegf_fold.min()


def test_stromal_il6_responsiveness_amplifies_vegf_around_an_il6_secreting_clone(
    write_scenario,
):
    """The IL-6 → VEGF loop (issue 6): plasma cells secreting IL-6 raise marrow VEGF through
    the stromal rule; without that rule (everything else equal) VEGF is lower."""
    means = {}
    for name, stromal_rules in (
        ("intact", None),
        ("no_il6_response", [rule("vegf", "increases", "il6_secretion", 10_000, 1, 25)]),
    ):
        stromal = {**STILL, "initial_count": 300}
        if stromal_rules is not None:
            stromal["rules"] = stromal_rules
        model = MarrowModel.from_scenario(write_scenario({"cells": {
            "plasma_cell": {**STILL, "secretion_per_h": {"vegf": 1.36e-5, "il6": 2e-6}},
            "stromal_cell": stromal,
        }}, name=f"{name}.yaml"))
        for _ in range(12):
            model.step()
        means[name] = float(model.fields["vegf"].mean())
        if name == "intact":
            assert readouts(model)["stromal_cell_vegf_secretion_fold_mean"] > 2.0
    print(means)
    assert means["no_il6_response"] < 0.8 * means["intact"], means


def test_myeloma_dkk1_suppresses_osteoblast_commitment_of_nearby_stroma(write_scenario):
    """base.yaml's rule 'DKK1 decreases osteoblast_commitment' (REFERENCE 2.6 rule 5): plasma
    cells secreting DKK1 lower the stromal commitment fold; without DKK1 it is the VEGF rule's
    alone, at least 1, and the commitment kernel reads the fold (rate × fold)."""
    folds = {}
    for name, dkk1 in (("none", 0.0), ("myeloma", 1.3e-4)):
        model = MarrowModel.from_scenario(write_scenario({"cells": {
            "plasma_cell": {**STILL, "secretion_per_h": {"dkk1": dkk1}},
            "stromal_cell": {**STILL},
        }}, name=f"dkk1_{name}.yaml"))
        for _ in range(6):
            model.step()
        folds[name] = fold(model.cells, "osteoblast_commitment")[of_type(model, STROMAL)]
    assert np.all(folds["none"] >= 1.0)
    assert folds["myeloma"].mean() < 0.5  # the dense tiny clone makes tens of ng/mL


def test_vegf_raises_stromal_commitment_as_street_and_lenehan_2009(write_scenario):
    """base.yaml's rule 'VEGF increases osteoblast_commitment' (REFERENCE 2.6 rule 3, 1.5):
    stromal cells in a uniform 10 and 25 ng/mL VEGF commit × 2.3 and × 3.16, Street & Lenehan's
    mineralized-nodule counts, and × 1.001 at healthy marrow VEGF (200 pg/mL)."""
    model = MarrowModel.from_scenario(write_scenario({"cells": {"stromal_cell": {**STILL}}},
                                                     name="street.yaml"))
    responses = next(p for p in model.processes() if isinstance(p, SignalResponses))
    for vegf_pg_per_mL, expected in ((200.0, 1.001), (10_000.0, 2.3), (25_000.0, 3.16)):
        model.fields["vegf"][:] = vegf_pg_per_mL
        responses.step(model)
        folds = fold(model.cells, "osteoblast_commitment")[of_type(model, STROMAL)]
        assert np.allclose(folds, expected, rtol=2e-3), (vegf_pg_per_mL, folds.mean())
