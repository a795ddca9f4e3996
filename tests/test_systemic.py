"""The systemic compartment: plasma pools fed by the section, serum VEGF, CRP, platelets and the
leak index (REFERENCE §3 targets 3, 16, 17; issue 6 acceptance on C* = s·N/k)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from abm.model import MarrowModel
from abm.observers.timeseries import readouts
from abm.systemic import SystemicCompartment

STILL = {"division_rate_per_day": 0, "death_rate_per_day": 0, "random_motility_um2_per_h": 0}
QUIET = {**STILL, "secretion_per_h": {}, "hif_secretion_gain": {}, "rules": []}
"""A cell type that neither moves, divides, dies nor secretes."""


def systemic(model: MarrowModel) -> SystemicCompartment:
    (found,) = [p for p in model.processes() if p.name == "systemic"]
    return found


def clone_model(write_scenario, n_plasma: int, vegf_half_life_min: float = 34.0) -> MarrowModel:
    """Tiny section; ``n_plasma`` still plasma cells secreting VEGF at a fixed rate (no HIF gain,
    no rules); nothing else secretes VEGF."""
    return MarrowModel.from_scenario(write_scenario({
        "cells": {
            "plasma_cell": {**QUIET, "initial_count": n_plasma,
                            "secretion_per_h": {"vegf": 1e-3}},
            "stromal_cell": {**QUIET, "initial_count": 0},
        },
        "systemic": {"plasma": {"vegf": {"clearance_half_life_min": vegf_half_life_min}}},
    }, name=f"clone_{n_plasma}_{vegf_half_life_min}.yaml"))


def steady_vegf(model: MarrowModel, hours: int = 12) -> tuple[float, float]:
    """Plasma and serum VEGF (pg/mL) after ``hours`` steps."""
    for _ in range(hours):
        model.step()
    compartment = systemic(model)
    return compartment.pools["vegf"].level, compartment.serum_vegf_pg_per_mL


def test_serum_vegf_is_linear_in_clone_size_and_inverse_in_clearance(write_scenario):
    """C* − C_x = s·N·(fraction reaching blood)/(k·V_p): the plasma and serum VEGF above the
    no-clone level, per plasma cell, is the same for every clone size (within 5 % of the
    fitted slope), and halves when the clearance half-life halves."""
    sizes = (0, 50, 100, 200, 400)
    plasma, serum = np.array([steady_vegf(clone_model(write_scenario, n)) for n in sizes]).T
    for levels in (plasma, serum):
        excess = levels[1:] - levels[0]
        slope = np.polyfit(sizes[1:], excess, 1)[0]
        assert excess[0] > 1.0  # the clone is visible in the blood
        np.testing.assert_allclose(excess / np.array(sizes[1:]), slope, rtol=0.05)
    faster, _ = steady_vegf(clone_model(write_scenario, 200, vegf_half_life_min=17.0))
    assert (faster - plasma[0]) / (plasma[3] - plasma[0]) == pytest.approx(0.5, rel=0.05)


def test_without_exchange_plasma_relaxes_to_the_extramarrow_level_with_its_half_life(
    write_scenario,
):
    """No VEGF reaches the vessels: the plasma pool goes from its blood value (60 pg/mL) to the
    extramarrow level exactly as C_x + (C0 − C_x)·2^(−t/t½)."""
    model = MarrowModel.from_scenario(write_scenario({
        "fields": {"vegf": {"vessel_exchange_rate_per_s": 0}},
        "systemic": {"plasma": {"vegf": {"extramarrow_plasma_level": 200}}},
    }))
    model.step()
    model.step()
    expected = 200 + (60 - 200) * 2 ** (-120 / 34)
    assert systemic(model).pools["vegf"].level == pytest.approx(expected, rel=1e-12)
    (transport,) = [p for p in model.processes() if p.name == "transport"]
    assert transport.species[1].blood_value == systemic(model).pools["vegf"].level


def test_crp_follows_plasma_il6_with_a_19_hour_half_life(write_scenario):
    """REFERENCE §3 target 3: with plasma IL-6 stepped to 50 pg/mL (extramarrow level, no
    marrow exchange), the CRP deficit to its steady state S·IL6/(IL6 + K)/k halves every 19 h
    once IL-6 has settled."""
    model = MarrowModel.from_scenario(write_scenario({
        "fields": {"il6": {"vessel_exchange_rate_per_s": 0}},
        "systemic": {"plasma": {"il6": {"extramarrow_plasma_level": 50}}},
    }))
    compartment = systemic(model)
    steady = compartment.crp_steady_state(50.0)
    assert steady == pytest.approx(1.302 * 50 / 150 * 19 / math.log(2))
    deficits = {}
    for hour in range(1, 12 + 19 + 1):
        model.step()
        if hour in (12, 12 + 19):
            deficits[hour] = steady - compartment.crp_mg_per_L
    assert deficits[12] / deficits[31] == pytest.approx(2.0, rel=1e-3)


def test_il6_raises_platelets_through_thrombopoietin(write_scenario):
    """Saturating plasma IL-6: thrombopoietin × 1.5 at most, platelets → 250 · (T/T_ref)^γ with
    the 9-day lifespan as time constant."""
    model = MarrowModel.from_scenario(write_scenario({
        "fields": {"il6": {"vessel_exchange_rate_per_s": 0}},
        "systemic": {"plasma": {"il6": {"extramarrow_plasma_level": 1e6}}},
        "cells": {"plasma_cell": {"initial_count": 0}, "stromal_cell": {"initial_count": 0}},
    }))
    compartment = systemic(model)
    assert compartment.tpo_fold(1e12) == pytest.approx(1.5)
    reference_fold = compartment.tpo_fold(1e6)  # the extramarrow level is now the reference
    assert compartment.platelet_steady_state(1e6) == pytest.approx(250.0)
    assert reference_fold == pytest.approx(1.5, rel=1e-4)
    healthy = MarrowModel.from_scenario(write_scenario(name="healthy_tiny.yaml"))
    h = systemic(healthy)
    assert h.platelet_steady_state(50.0) == pytest.approx(
        250 * (h.tpo_fold(50.0) / h.tpo_fold(2.0)) ** 3  # base.yaml's exponent
    )
    assert h.platelet_steady_state(1e9) > 400  # target 24: thrombocytosis is reachable
    start = h.platelets_per_nL
    for _ in range(24):
        h.pools["il6"].extramarrow_level = 1e9
        h.step(healthy)
    target = h.platelet_steady_state(h.pools["il6"].level)
    expected = target + (start - target) * math.exp(-1 / 9)
    assert h.platelets_per_nL == pytest.approx(expected, rel=1e-3)


def test_healthy_blood_tests_are_in_their_reference_ranges(repo_root):
    """REFERENCE §3 targets 16 and 17 on the healthy 2 × 2 mm section after 2 days: plasma
    VEGF 31–86 pg/mL, serum VEGF < 1000 pg/mL, CRP 0.6–0.8 mg/L (< 3); platelets ~250 × 10⁹/L;
    leak index ~1."""
    model = MarrowModel.from_scenario(repo_root / "scenarios" / "healthy.yaml")
    for _ in range(48):
        model.step()
    row = readouts(model)
    assert 31 <= row["plasma_vegf_pg_per_mL"] <= 86
    assert row["serum_vegf_pg_per_mL"] < 1000
    assert 0.6 <= row["crp_mg_per_L"] <= 0.8
    assert row["platelets_per_nL"] == pytest.approx(250, rel=0.05)
    assert row["capillary_leak_index"] == pytest.approx(1.0, abs=0.01)
    assert row["marrow_vegf_release_pg_per_h"] > 0  # marrow VEGF exceeds plasma VEGF


def test_serum_adds_the_platelet_load_and_the_leak_index_follows_plasma_vegf(write_scenario):
    model = MarrowModel.from_scenario(write_scenario())
    compartment = systemic(model)
    vegf = compartment.pools["vegf"]
    compartment.platelets_per_nL = 250.0
    assert compartment.serum_vegf_pg_per_mL == pytest.approx(4 * vegf.level)
    compartment.platelets_per_nL = 500.0
    assert compartment.serum_vegf_pg_per_mL == pytest.approx(7 * vegf.level)
    vegf.level = vegf.extramarrow_level
    assert compartment.capillary_leak_index == pytest.approx(1.0)
    vegf.level = 12_800.0  # VEGFR2 half-occupancy: Lp/Lp0 = 1 + 5/2
    at_extramarrow = 1 + 5 * 60 / (60 + 12_800)
    assert compartment.capillary_leak_index == pytest.approx(3.5 / at_extramarrow)


def poems_day_30(poems: Path, seed: int) -> tuple[dict[str, float], MarrowModel]:
    """Readouts of scenarios/poems.yaml at day 30 with ``seed``, and the model."""
    model = MarrowModel.from_scenario(poems, [f"seed={seed}"])
    for _ in range(30 * 24):
        model.step()
    return readouts(model), model


def test_poems_clone_gives_the_poems_blood_tests(repo_root):
    """Issue 6 acceptance on scenarios/poems.yaml (a clone of ~5 % of marrow cells in 4 foci),
    seed 1, day 30: serum VEGF in the POEMS range at diagnosis (REFERENCE 1.8 medians
    2835–4794 pg/mL; target 18, plasma > 200 pg/mL), plasma IL-6 and CRP raised above healthy
    (2 pg/mL, 0.7 mg/L), platelets rising towards thrombocytosis (target 24: > 400). The
    replicate version is the slow test below."""
    poems = repo_root / "scenarios" / "poems.yaml"
    row, model = poems_day_30(poems, 1)
    clone = model.config.cells.plasma_cell.initial_count
    assert abs(row["n_plasma_cell"] / clone - 1) < 0.1  # an indolent clone
    print({k: round(v, 1) for k, v in row.items() if k.startswith(("plasma_", "serum", "crp",
                                                                   "platelets"))})
    assert 2800 <= row["serum_vegf_pg_per_mL"] <= 4800
    assert row["plasma_vegf_pg_per_mL"] > 200
    assert row["plasma_il6_pg_per_mL"] > 3 * 2.0
    assert row["crp_mg_per_L"] > 3.0  # above the healthy 97.5th percentile (REFERENCE 1.8)
    assert row["platelets_per_nL"] > 1.5 * 250
    assert systemic(model).platelet_steady_state(row["plasma_il6_pg_per_mL"]) > 400


@pytest.mark.slow
def test_poems_blood_tests_over_replicates(repo_root):
    """The same at day 30 over seeds 1–3 (foci placed anew): mean serum VEGF in the POEMS range,
    every seed with plasma VEGF > 200 pg/mL, raised IL-6 and CRP and platelets > 400."""
    rows = [poems_day_30(repo_root / "scenarios" / "poems.yaml", seed)[0] for seed in (1, 2, 3)]
    serum = [row["serum_vegf_pg_per_mL"] for row in rows]
    print(f"serum VEGF {np.mean(serum):.0f} ± {np.std(serum, ddof=1):.0f} pg/mL", serum)
    assert 2800 <= np.mean(serum) <= 4800
    for row in rows:
        assert row["plasma_vegf_pg_per_mL"] > 200
        assert row["plasma_il6_pg_per_mL"] > 3 * 2.0 and row["crp_mg_per_L"] > 3.0
        assert row["platelets_per_nL"] > 400


def test_nerve_oedema_follows_the_starling_balance_and_its_consequences(write_scenario):
    """At the extramarrow plasma VEGF the endoneurium is at its healthy pressure (~2 mmHg) and
    every index is 1; at VEGFR2 half-occupancy (Lp × 3.5) the pressure solves filtration =
    drainage, the endoneurium swells, the diffusion distance grows as its square root and
    capillary flow falls as radius⁴."""
    compartment = systemic(MarrowModel.from_scenario(write_scenario()))
    drive = 25 - 0.9 * (26 - 5)  # Pc − σ(πc − πi) of base.yaml's permeability
    healthy = compartment.nerve_readouts(60.0)
    lp_healthy = 1 + 5 * 60 / (60 + 12_800)
    assert healthy["endoneurial_fluid_pressure_mmHg"] == pytest.approx(
        lp_healthy * drive / (lp_healthy + 2.05)
    )
    assert 1.5 <= healthy["endoneurial_fluid_pressure_mmHg"] <= 2.5
    for key in ("endoneurial_oedema_index", "endoneurial_o2_diffusion_distance_fold",
                "endoneurial_capillary_flow_fold"):
        assert healthy[key] == pytest.approx(1.0)
    leaky = compartment.nerve_readouts(12_800.0)
    pressure = 3.5 * drive / (3.5 + 2.05)
    excess = pressure - healthy["endoneurial_fluid_pressure_mmHg"]
    assert leaky["endoneurial_fluid_pressure_mmHg"] == pytest.approx(pressure)
    assert leaky["endoneurial_oedema_index"] == pytest.approx(1 + 0.05 * excess)
    assert leaky["endoneurial_o2_diffusion_distance_fold"] == pytest.approx(
        math.sqrt(1 + 0.05 * excess)
    )
    assert leaky["endoneurial_capillary_flow_fold"] == pytest.approx((1 - 0.02 * excess) ** 4)
    assert leaky["endoneurial_capillary_flow_fold"] < 1 < leaky["endoneurial_oedema_index"]


@pytest.mark.parametrize("ablation", ["stromal_il6_response", "hif"])
def test_poems_vegf_falls_without_the_il6_loop_or_hif(repo_root, ablation):
    """Issue 6: in the POEMS scenario, removing the stromal IL-6 → VEGF rule, or the hypoxic gain
    of VEGF secretion, lowers marrow and serum VEGF, also in the voxels hypoxic in the intact
    marrow (pO2 < 13 mmHg, HIF half-maximal; the ablation changes the oxygen field, so both runs
    are read on the intact run's voxels). On seed 1 the HIF loss is 29 % there and 24 %
    section-wide. Parameters only; 3 days, seed 1."""
    poems = repo_root / "scenarios" / "poems.yaml"
    types = ("plasma_cell", "stromal_cell", "osteoblast")
    overrides = {
        "stromal_il6_response": [
            "cells.stromal_cell.rules=[{signal: vegf, direction: increases, behaviour:"
            " il6_secretion, half_max: 10000, hill_power: 1, max_fold_change: 25}]"
        ],
        "hif": [f"cells.{name}.hif_secretion_gain={{}}" for name in types],
    }[ablation]
    results = {}
    hypoxic = None  # the voxels hypoxic in the intact marrow, compared in both
    for name, changes in (("intact", []), (ablation, overrides)):
        model = MarrowModel.from_scenario(poems, changes)
        for _ in range(72):
            model.step()
        if hypoxic is None:
            hypoxic = model.fields["oxygen"] < 13.0
        results[name] = (
            float(model.fields["vegf"].mean()), float(model.fields["vegf"][hypoxic].mean()),
            readouts(model)["serum_vegf_pg_per_mL"],
        )
    (mean, hypoxic, serum), (mean_ko, hypoxic_ko, serum_ko) = results["intact"], results[ablation]
    print(ablation, results)
    assert mean_ko < 0.9 * mean and serum_ko < serum
    assert hypoxic_ko < 0.95 * hypoxic
