"""Bookkeeping: ageing, agent synchronisation and compaction of the cell table."""

from __future__ import annotations

import numpy as np

from abm.cells.table import EMPTY
from abm.processes.bookkeeping import COMPACT_WHEN_DEAD_FRACTION, Bookkeeping


def kill(model, slots):
    table = model.cells
    table["alive"][slots] = False
    table.occupant[table["x"][slots], table["y"][slots]] = EMPTY


def test_bookkeeping_ages_living_cells_by_one_step(make_model):
    model = make_model(["time.step_h=0.5", "cells.plasma_cell.random_motility_um2_per_h=10"])
    table = model.cells
    table["age_h"][:] = np.arange(table.n_slots)
    kill(model, [3])
    Bookkeeping().step(model)
    expected = np.arange(table.n_slots) + 0.5
    expected[3] = 3.0
    np.testing.assert_array_equal(table["age_h"], expected)


def test_no_compaction_below_the_dead_fraction(make_model, check_consistency):
    model = make_model()
    n = model.cells.n_slots
    n_dead = int(COMPACT_WHEN_DEAD_FRACTION * n)  # just under the fraction
    kill(model, np.arange(n_dead))
    Bookkeeping().step(model)
    assert model.cells.n_slots == n
    assert len(model.agents) == n - n_dead
    check_consistency(model)


def test_compaction_above_the_dead_fraction_keeps_agents_pointing_right(
    make_model, check_consistency
):
    model = make_model()
    table = model.cells
    ids_before = table["cell_id"].copy()
    dead = np.arange(0, table.n_slots, 3)  # a third
    kill(model, dead)
    survivors = np.setdiff1d(np.arange(table.n_slots), dead)
    agents = {int(ids_before[s]): a for s in survivors for a in model.agents
              if a.unique_id == ids_before[s]}
    Bookkeeping().step(model)
    assert table.n_slots == len(survivors)
    np.testing.assert_array_equal(table["cell_id"], ids_before[survivors])
    for new_slot, uid in enumerate(ids_before[survivors]):
        assert agents[int(uid)].slot == new_slot
    check_consistency(model)
