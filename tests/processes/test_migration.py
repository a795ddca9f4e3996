"""Random migration: hop probabilities from motility, exclusion, sessile cells."""

from __future__ import annotations

import numpy as np
import pytest

from abm.processes.migration import RandomMigration
from abm.scenario import ScenarioError, units


def migration(model) -> RandomMigration:
    (process,) = [p for p in model.processes() if p.name == "random_migration"]
    return process


def test_hop_probability_from_motility(make_model):
    model = make_model()
    process = migration(model)
    assert process.hop_probability[0] == pytest.approx(4 * 20 * 1 / 100)
    assert process.hop_probability[1] == pytest.approx(4 * 5 * 1 / 100)
    assert process.hop_probability[2] == 0.0
    assert units.hop_probability(25, 1, 10) == 1.0


def test_motility_needing_more_than_one_hop_per_step_is_rejected(tiny_scenario, load):
    with pytest.raises(ScenarioError, match="random_motility_um2_per_h"):
        load(tiny_scenario, ["cells.plasma_cell.random_motility_um2_per_h=26"])


def test_migration_moves_only_motile_cells_by_one_voxel(make_model):
    model = make_model(["cells.stromal_cell.random_motility_um2_per_h=0"])
    table = model.cells
    process = migration(model)
    moved_total = 0
    for _ in range(20):
        x0, y0 = table["x"].copy(), table["y"].copy()
        process.step(model)
        dx = (table["x"].astype(int) - x0 + 15) % 30 - 15
        dy = (table["y"].astype(int) - y0 + 15) % 30 - 15
        step = np.abs(dx) + np.abs(dy)
        assert set(np.unique(step).tolist()) <= {0, 1}
        assert np.all(step[table["cell_type"] == 1] == 0)  # stromal cells are sessile
        moved_total += int(step.sum())
        occ = table.occupant
        alive = table.living_slots()
        np.testing.assert_array_equal(occ[table["x"][alive], table["y"][alive]], alive)
    # 150 plasma cells, p = 0.8 per step, few blocked hops at 28 % density
    assert 0.5 * 150 * 0.8 * 20 < moved_total <= 150 * 0.8 * 20 * 1.2


def test_closed_boundary_keeps_cells_inside(make_model):
    model = make_model(["domain.boundary=closed"])
    process = migration(model)
    table = model.cells
    for _ in range(40):
        x0, y0 = table["x"].copy(), table["y"].copy()
        process.step(model)
        step = np.abs(table["x"].astype(int) - x0) + np.abs(table["y"].astype(int) - y0)
        assert set(np.unique(step).tolist()) <= {0, 1}  # never a 29-voxel wrap
