"""HIF-1α sensing in the model: removing the vessels of a region makes it hypoxic, its cells'
HIF rises and they secrete more VEGF; with the hypoxic gain switched off, removing vessels
leaves VEGF secretion unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from abm.cells.table import CELL_TYPE_CODE
from abm.model import MarrowModel
from abm.observers.timeseries import readouts
from abm.processes.hypoxia import HIF_COLUMN

SHAPE = (60, 30)
"""A 600 × 300 µm periodic section."""


def vessels_file(tmp_path, centres_x: tuple[int, ...]) -> str:
    """Lumen discs (radius 2 voxels) at the given x centres and y = 5, 15, 25."""
    i, j = np.meshgrid(np.arange(SHAPE[0]), np.arange(SHAPE[1]), indexing="ij")
    lumen = np.zeros(SHAPE)
    for cx in centres_x:
        for cy in (5, 15, 25):
            lumen[(i - cx) ** 2 + (j - cy) ** 2 <= 4] = 1.0
    path = tmp_path / f"vessels_{len(centres_x)}.npy"
    np.save(path, lumen)
    return str(path)


WHOLE = (5, 15, 25, 35, 45, 55)
LEFT_HALF = (5, 15, 25)
"""Vessels every 100 µm, or only in the left half (the right half's centre is then 150 µm from
the nearest vessel, beyond oxygen's reach)."""


def run(write_scenario, tmp_path, centres_x, vegf_gain: float) -> MarrowModel:
    """24 one-hour steps (6 HIF time constants) with 400 still stromal cells; VEGF does not
    exchange with blood, so its mean is total secretion / (decay × volume)."""
    path = write_scenario({
        "domain": {"size_um": [600, 300],
                   "vessels": {"kind": "file", "path": vessels_file(tmp_path, centres_x)}},
        "fields": {"vegf": {"vessel_exchange_rate_per_s": 0}},
        "cells": {
            "plasma_cell": {"initial_count": 0},
            "stromal_cell": {"initial_count": 400, "division_rate_per_day": 0,
                             "death_rate_per_day": 0, "random_motility_um2_per_h": 0,
                             "hif_secretion_gain": {"vegf": vegf_gain}, "rules": []},
        },
    }, name=f"gain{vegf_gain}_{len(centres_x)}.yaml")
    model = MarrowModel.from_scenario(path)
    for _ in range(24):
        model.step()
    return model


def stromal_means(model: MarrowModel, values: np.ndarray) -> tuple[float, float]:
    """Mean of a per-cell quantity over the stromal cells of the left and right halves."""
    table = model.cells
    stromal = table["alive"] & (table["cell_type"] == CELL_TYPE_CODE["stromal_cell"])
    right = table["x"] >= SHAPE[0] // 2
    return values[stromal & ~right].mean(), values[stromal & right].mean()


def secreting(model):
    """Living cells that secrete VEGF (all but the endothelium)."""
    table = model.cells
    return table["alive"] & (table["cell_type"] != CELL_TYPE_CODE["endothelial_cell"])


@pytest.fixture
def runs(write_scenario, tmp_path):
    """The four runs: vessels everywhere or in the left half only, gain 4 or 0 (tiny: ~1 s)."""
    return {
        (where, gain): run(write_scenario, tmp_path, centres, gain)
        for where, centres in (("whole", WHOLE), ("left", LEFT_HALF))
        for gain in (4.0, 0.0)
    }


def test_avascular_half_turns_hypoxic_and_its_hif_rises(runs):
    model = runs["left", 4.0]
    table = model.cells
    o2_left, o2_right = stromal_means(model, model.fields["oxygen"][table["x"], table["y"]])
    hif_left, hif_right = stromal_means(model, table[HIF_COLUMN])
    control = runs["whole", 4.0]
    hif_control = stromal_means(control, control.cells[HIF_COLUMN])
    print(f"pO2 left / right {o2_left:.1f} / {o2_right:.1f} mmHg; HIF {hif_left:.2f} /"
          f" {hif_right:.2f} (all vessels: {hif_control[0]:.2f} / {hif_control[1]:.2f})")
    assert o2_right < 5.0 and o2_left > 13.0  # HIF half-maximal at 13 mmHg
    assert hif_right > 0.95 and hif_left < 0.4
    assert hif_control[1] < 0.4  # the same half with its vessels
    # the time-series readouts: 9 and 18 vessel profiles on 0.18 mm²; the hypoxic half
    hypoxic, mvd = ({key: readouts(runs[key, 4.0])[name] for key in ("left", "whole")}
                    for name in ("hypoxic_marrow_fraction", "microvessel_density_per_mm2"))
    print(f"hypoxic marrow fraction {hypoxic}; MVD {mvd} /mm²")
    assert mvd == {"left": pytest.approx(50.0), "whole": pytest.approx(100.0)}
    assert 0.4 < hypoxic["left"] < 0.75 and hypoxic["whole"] < 0.05


def test_removing_vessels_raises_vegf_secretion_only_through_hif(runs):
    vegf = {key: model.fields["vegf"].mean() for key, model in runs.items()}
    print({f"{where}, gain {gain:g}": f"{v:.0f} pg/mL" for (where, gain), v in vegf.items()})
    hif = {key: model.cells[HIF_COLUMN][secreting(model)].mean() for key, model in runs.items()}
    # mean VEGF = s0·Σ(1 + a_H·HIF)/(k·V): the ratio follows the secreting cells' mean HIF
    expected = (1 + 4 * hif["left", 4.0]) / (1 + 4 * hif["whole", 4.0])
    assert vegf["left", 4.0] / vegf["whole", 4.0] == pytest.approx(expected, rel=0.02)
    assert expected > 1.5
    # ablation: without the hypoxic gain, removing vessels changes nothing in VEGF
    assert vegf["left", 0.0] == pytest.approx(vegf["whole", 0.0], rel=1e-3)
