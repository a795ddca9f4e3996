"""Site counts and remodelling-cycle detection on hand-made series and cell tables."""

from __future__ import annotations

import numpy as np
import pytest

from abm.bone.bmu import (
    RemodellingCycle,
    active_cells_per_site,
    episodes,
    remodelling_cycles,
)
from abm.cells.table import ACTIVE, CELL_TYPE_CODE, LINING, PRECURSOR, CellTable

OC, OB = CELL_TYPE_CODE["osteoclast"], CELL_TYPE_CODE["osteoblast"]


def test_active_cells_are_counted_per_block_row_major_with_a_smaller_last_block():
    table = CellTable((7, 5))
    table.append(np.array([OC, OC]), np.array([0, 6]), np.array([0, 4]), stage=ACTIVE)
    table.append(np.array([OB]), np.array([3]), np.array([4]), stage=ACTIVE)
    table.append(np.array([OB, OC]), np.array([1, 2]), np.array([1, 2]), stage=PRECURSOR)
    table.append(np.array([OB]), np.array([0]), np.array([1]), stage=LINING)
    table.append(np.array([CELL_TYPE_CODE["stromal_cell"]]), np.array([5]), np.array([0]))
    counts = active_cells_per_site(table, block_voxels=3)  # blocks 3 x 2 (x: 0-2, 3-5, 6)
    assert counts.shape == (2, 6)
    np.testing.assert_array_equal(counts[0], [1, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(counts[1], [0, 0, 0, 1, 0, 0])
    table["alive"][0] = False
    assert active_cells_per_site(table, 3)[0, 0] == 0


def test_block_size_must_be_positive():
    with pytest.raises(ValueError, match="block_voxels"):
        active_cells_per_site(CellTable((4, 4)), 0)


@pytest.mark.parametrize(
    ("series", "gap", "expected"),
    [
        ("", 0, []),
        ("000", 2, []),
        ("0110", 0, [(1, 3)]),
        ("1101", 0, [(0, 2), (3, 4)]),
        ("1101", 1, [(0, 4)]),
        ("1001001", 1, [(0, 1), (3, 4), (6, 7)]),
        ("1001001", 2, [(0, 7)]),
    ],
)
def test_episodes_bridge_gaps_up_to_the_limit(series, gap, expected):
    present = np.array([c == "1" for c in series], dtype=bool)
    assert episodes(present, gap) == expected


def series(length: int, *runs: tuple[int, int]) -> np.ndarray:
    """A 0/1 count series of ``length`` samples with ones on the half-open ``runs``."""
    out = np.zeros(length, dtype=np.int64)
    for start, stop in runs:
        out[start:stop] = 1
    return out


def test_a_cycle_is_resorption_then_the_first_formation_before_the_next_resorption():
    oc = np.stack([series(60, (5, 10), (40, 42)), series(60, (5, 9))], axis=1)
    ob = np.stack([series(60, (0, 3), (12, 30), (45, 50)), series(60, (3, 20))], axis=1)
    cycles = remodelling_cycles(oc, ob, sample_d=2.0, gap_d=0.0)
    # site 0: two cycles; site 1: formation began before resorption, so no cycle
    assert cycles == [
        RemodellingCycle(site=0, resorption_start_d=10.0, resorption_d=10.0, reversal_d=4.0,
                         formation_d=36.0),
        RemodellingCycle(site=0, resorption_start_d=80.0, resorption_d=4.0, reversal_d=6.0,
                         formation_d=10.0),
    ]


def test_cycles_cut_by_the_window_are_left_out():
    oc = np.stack([series(30, (0, 4)), series(30, (5, 8)), series(30, (5, 8))], axis=1)
    ob = np.stack([series(30, (6, 20)), series(30, (9, 30)), series(30, (7, 20))], axis=1)
    cycles = remodelling_cycles(oc, ob, gap_d=0.0)
    assert [(c.site, c.reversal_d, c.formation_d) for c in cycles] == [(2, -1.0, 13.0)]


def test_series_must_match():
    with pytest.raises(ValueError, match="equal shape"):
        remodelling_cycles(np.zeros((3, 2)), np.zeros((3, 1)))
