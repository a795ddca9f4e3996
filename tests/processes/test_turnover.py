"""Cell turnover: per-step probabilities from rates, death and division statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from abm.cells.table import CELL_TYPE_CODE, EMPTY
from abm.fields.stack import MARROW, VESSEL_LUMEN
from abm.processes.turnover import CellTurnover


def turnover(model) -> CellTurnover:
    (process,) = [p for p in model.processes() if p.name == "cell_turnover"]
    return process


def test_rates_per_step_come_from_the_rates_per_day(make_model):
    model = make_model(["time.step_h=0.5", "cells.plasma_cell.random_motility_um2_per_h=10"])
    process = turnover(model)
    # plasma 2/day and 1/day; stromal 0.5/day; osteoblasts divide 0, die 0.0027/day (base.yaml)
    assert process.division_per_step[0] == pytest.approx(2 / 24 * 0.5)
    assert process.death_per_step[0] == pytest.approx(1 / 24 * 0.5)
    assert process.division_per_step[1] == pytest.approx(0.5 / 24 * 0.5)
    assert process.division_per_step[2] == 0.0
    assert process.death_per_step[2] == pytest.approx(0.0027 / 24 * 0.5)
    assert process.death_per_step[4] == 0.0
    assert process.periodic is True
    assert model.cells.columns["mother_id"].inherited is False


def plasma_cells_only(write_scenario, size_um, count, divide, die):
    """A square section of ``size_um`` with ``count`` still plasma cells (rates per day)."""
    from abm.model import MarrowModel

    return MarrowModel.from_scenario(write_scenario({
        "domain": {"size_um": [size_um, size_um]},
        "cells": {
            "plasma_cell": {"initial_count": count, "division_rate_per_day": divide,
                            "death_rate_per_day": die, "random_motility_um2_per_h": 0},
            "stromal_cell": {"initial_count": 0},
        },
    }))


def test_death_fraction_per_step_matches_the_rate(write_scenario):
    """5000 cells that only die at 24/day: per-step deaths ~ Binomial(n, 1 - e^-1)."""
    model = plasma_cells_only(write_scenario, 1000, count=5000, divide=0, die=24)
    p = 1 - math.exp(-1.0)
    alive = 5000
    for _ in range(3):
        model.step()
        now = int(model.cells.count_by_type()[0])
        deaths = alive - now
        sd = math.sqrt(alive * p * (1 - p))
        assert abs(deaths - alive * p) < 5 * sd, (deaths, alive * p, sd)
        alive = now
    assert model.cells.count_by_type()[0] == len(model.agents_of("plasma_cell"))


def test_division_only_grows_until_the_lattice_is_full(write_scenario):
    model = plasma_cells_only(write_scenario, 200, count=10, divide=48, die=0)
    marrow = model.fields.tissue == MARROW
    n_marrow = int(marrow.sum())
    assert 300 < n_marrow < 400  # 20 x 20 voxels, some of them vessel lumen (base.yaml)
    counts = [10]
    for _ in range(60):
        model.step()
        counts.append(int(model.cells.count_by_type()[0]))
    assert all(b >= a for a, b in zip(counts, counts[1:], strict=False))  # nobody dies
    assert all(b <= 2 * a for a, b in zip(counts, counts[1:], strict=False))  # one daughter each
    assert counts[1] > 10
    assert counts[-1] == n_marrow  # every marrow voxel full
    lumen = model.fields.tissue == VESSEL_LUMEN  # lined by endothelial cells
    np.testing.assert_array_equal(model.cells.occupant != EMPTY, marrow | lumen)  # nothing else
    assert model.cells.n_slots == n_marrow + lumen.sum()  # no deaths, no dead rows
    model.step()
    assert int(model.cells.count_by_type()[0]) == n_marrow


def test_daughters_inherit_inherited_columns(make_model):
    model = make_model()
    table = model.cells
    table.add_column("clone", np.int32, -1, inherited=True, unit="-")
    table.add_column("mark", np.float64, 0.0, inherited=False, unit="-")
    table["clone"][:] = np.arange(table.n_slots) + 1000
    table["mark"][:] = 7.0
    process = turnover(model)
    n = table.n_slots
    process.step(model)
    assert table.n_slots > n
    daughters = np.arange(n, table.n_slots)
    slot_of_id = {int(cell_id): slot for slot, cell_id in enumerate(table["cell_id"][:n])}
    mothers = np.array([slot_of_id[int(m)] for m in table["mother_id"][daughters]])
    assert np.all(table["cell_id"][:n][mothers] >= 0)
    np.testing.assert_array_equal(table["clone"][daughters], mothers + 1000)
    np.testing.assert_array_equal(table["mark"][daughters], 0.0)
    np.testing.assert_array_equal(table["cell_type"][daughters], table["cell_type"][mothers])
    assert np.all(table["age_h"][daughters] == 0.0)
    assert np.all(table["age_h"][mothers] == 0.0)


def test_a_type_without_turnover_is_untouched(make_model):
    model = make_model([
        "cells.stromal_cell.division_rate_per_day=0", "cells.stromal_cell.death_rate_per_day=0",
        "cells.stromal_cell.random_motility_um2_per_h=0",
    ])
    stromal = {a.unique_id: a.pos for a in model.agents_of("stromal_cell")}
    model.run_for(48)
    assert {a.unique_id: a.pos for a in model.agents_of("stromal_cell")} == stromal
    table = model.cells
    code = CELL_TYPE_CODE["stromal_cell"]
    alive = table["alive"] & (table["cell_type"] == code)
    assert np.all(table["age_h"][alive] == 48.0)
