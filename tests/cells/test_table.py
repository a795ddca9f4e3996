"""The struct-of-arrays cell table: growth, compaction, extra columns, counts, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from abm.cells.table import CELL_TYPE_CODE, CORE_COLUMNS, EMPTY, CellTable
from abm.scenario import CELL_TYPES


def i8(values):
    return np.asarray(values, dtype=np.int8)


def i32(values):
    return np.asarray(values, dtype=np.int32)


def filled_table(n=10, shape=(8, 6), capacity=16):
    """A table with ``n`` cells on the first ``n`` voxels (row-major), types cycling."""
    table = CellTable(shape, capacity=capacity)
    flat = np.arange(n)
    x, y = np.unravel_index(flat, shape)
    table.append(i8(flat % len(CELL_TYPES)), i32(x), i32(y))
    return table


def test_new_table_is_empty():
    table = CellTable((5, 4), capacity=3)
    assert table.capacity == 16  # never below 16 rows
    assert table.n_slots == 0
    assert table.occupant.shape == (5, 4)
    assert np.all(table.occupant == EMPTY)
    assert set(table.columns) == set(CORE_COLUMNS)
    assert len(table["alive"]) == 0
    np.testing.assert_array_equal(table.count_by_type(), np.zeros(len(CELL_TYPES)))


def test_append_sets_core_columns_and_fill_values():
    table = CellTable((6, 6))
    slots = table.append(i8([0, 3, 1]), i32([1, 5, 0]), i32([2, 0, 5]))
    np.testing.assert_array_equal(slots, [0, 1, 2])
    assert table.n_slots == 3
    np.testing.assert_array_equal(table["alive"], [True, True, True])
    np.testing.assert_array_equal(table["cell_type"], [0, 3, 1])
    np.testing.assert_array_equal(table["x"], [1, 5, 0])
    np.testing.assert_array_equal(table["y"], [2, 0, 5])
    np.testing.assert_array_equal(table["age_h"], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(table["cell_id"], [-1, -1, -1])
    assert table.occupant[1, 2] == 0 and table.occupant[5, 0] == 1 and table.occupant[0, 5] == 2
    assert int((table.occupant != EMPTY).sum()) == 3
    more = table.append(i8([4]), i32([3]), i32([3]))
    np.testing.assert_array_equal(more, [3])
    assert table.occupant[3, 3] == 3


def test_append_onto_an_occupied_voxel_raises_and_changes_nothing():
    table = filled_table(5)
    before = table.state_arrays()
    occupant = table.occupant.copy()
    with pytest.raises(ValueError, match="occupied"):
        table.append(i8([0, 1]), i32([7, 0]), i32([5, 0]))  # (0, 0) holds slot 0
    assert table.n_slots == 5
    np.testing.assert_array_equal(table.occupant, occupant)
    for key, value in before.items():
        np.testing.assert_array_equal(table[key.removeprefix("cells/")], value)


def test_append_of_two_cells_onto_the_same_free_voxel_raises():
    """One cell per voxel holds within one batch too (else the first cell is lost from the
    occupancy map while still alive)."""
    table = CellTable((4, 4))
    with pytest.raises(ValueError):
        table.append(i8([0, 1]), i32([2, 2]), i32([3, 3]))


def test_growth_by_append_and_reserve_preserves_data():
    table = CellTable((40, 40), capacity=16)
    table.add_column("clone", np.int16, 7, inherited=True, unit="-")
    rng = np.random.default_rng(0)
    flat = rng.choice(1600, size=300, replace=False)
    x, y = np.unravel_index(flat, (40, 40))
    types = rng.integers(0, 5, size=300).astype(np.int8)
    written_age, written_clone = [], []
    for start in range(0, 300, 25):  # repeated appends: capacity 16 -> ... >= 300
        sl = slice(start, start + 25)
        slots = table.append(types[sl], i32(x[sl]), i32(y[sl]))
        ages = rng.uniform(0, 50, 25)
        clones = rng.integers(0, 100, 25).astype(np.int16)
        table["age_h"][slots] = ages
        table["clone"][slots] = clones
        written_age.extend(ages)
        written_clone.extend(clones)
    assert table.capacity >= 300
    table.reserve(5000)
    assert table.capacity >= 5300
    assert table.n_slots == 300
    np.testing.assert_array_equal(table["cell_type"], types)
    np.testing.assert_array_equal(table["x"], x)
    np.testing.assert_array_equal(table["y"], y)
    np.testing.assert_array_equal(table["age_h"], written_age)
    np.testing.assert_array_equal(table["clone"], written_clone)
    assert table["clone"].dtype == np.int16
    # the rows beyond n_slots hold fill values in every column
    assert np.all(table.full("clone")[300:] == 7)
    assert np.all(table.full("cell_id")[300:] == -1)
    assert not table.full("alive")[300:].any()
    assert np.all(table.full("cell_type")[300:] == EMPTY)
    np.testing.assert_array_equal(table.occupant[x, y], np.arange(300))


def test_reserve_within_capacity_keeps_the_arrays():
    table = filled_table(4, capacity=64)
    buffer = table.full("x")
    table.reserve(60)
    assert table.full("x") is buffer
    assert table.capacity == 64
    table.reserve(61)
    assert table.capacity == 128  # doubles
    assert table.full("x") is not buffer


def test_compact_keeps_living_order_and_returns_the_mapping():
    table = filled_table(10)
    table.add_column("tag", np.float64, -1.0, inherited=False, unit="-")
    table["tag"][:] = np.arange(10) * 1.5
    table["age_h"][:] = np.arange(10) + 100.0
    dead = [0, 3, 4, 9]
    table["alive"][dead] = False
    table.occupant[table["x"][dead], table["y"][dead]] = EMPTY
    xs_before, ys_before = table["x"].copy(), table["y"].copy()
    mapping = table.compact()
    np.testing.assert_array_equal(mapping, [-1, 0, 1, -1, -1, 2, 3, 4, 5, -1])
    assert mapping.dtype == np.int64
    assert table.n_slots == 6
    keep = [1, 2, 5, 6, 7, 8]
    np.testing.assert_array_equal(table["tag"], np.array(keep) * 1.5)
    np.testing.assert_array_equal(table["age_h"], np.array(keep) + 100.0)
    np.testing.assert_array_equal(table["x"], xs_before[keep])
    np.testing.assert_array_equal(table["y"], ys_before[keep])
    np.testing.assert_array_equal(table["cell_type"], np.array(keep) % 5)
    assert table["alive"].all()
    np.testing.assert_array_equal(table.occupant[table["x"], table["y"]], np.arange(6))
    assert int((table.occupant != EMPTY).sum()) == 6
    # dropped rows are back to fill values
    assert not table.full("alive")[6:10].any()
    assert np.all(table.full("tag")[6:10] == -1.0)
    assert np.all(table.full("cell_type")[6:10] == EMPTY)
    # compacting again changes nothing
    np.testing.assert_array_equal(table.compact(), np.arange(6))


def test_compact_of_all_dead():
    table = filled_table(5)
    table["alive"][:] = False
    table.occupant.fill(EMPTY)
    np.testing.assert_array_equal(table.compact(), [-1] * 5)
    assert table.n_slots == 0


def test_add_column_fill_and_duplicate():
    table = filled_table(3)
    table.add_column("mother", np.int64, -1, inherited=False, unit="slot")
    table.add_column("clone", np.int8, 2, inherited=True, unit="-")
    np.testing.assert_array_equal(table["mother"], [-1, -1, -1])
    np.testing.assert_array_equal(table["clone"], [2, 2, 2])
    assert table["clone"].dtype == np.int8
    assert table.columns["clone"].inherited and not table.columns["mother"].inherited
    with pytest.raises(ValueError, match="clone"):
        table.add_column("clone", np.int8, 0, inherited=True, unit="-")
    with pytest.raises(ValueError):
        table.add_column("alive", np.bool_, False, inherited=False, unit="-")
    new = table.append(i8([1]), i32([7]), i32([5]))
    assert table["clone"][new[0]] == 2 and table["mother"][new[0]] == -1


def test_inherit_copies_inherited_extra_columns_only():
    table = filled_table(4)
    table.add_column("clone", np.int32, 0, inherited=True, unit="-")
    table.add_column("signal", np.float64, -5.0, inherited=False, unit="-")
    table["clone"][:] = [11, 22, 33, 44]
    table["signal"][:] = [1.0, 2.0, 3.0, 4.0]
    table["age_h"][:] = [10.0, 20.0, 30.0, 40.0]
    daughters = table.append(i8([0, 0, 0]), i32([7, 7, 6]), i32([5, 4, 5]))
    table.inherit(daughters, np.array([3, 1, 3]))
    np.testing.assert_array_equal(table["clone"][daughters], [44, 22, 44])
    np.testing.assert_array_equal(table["signal"][daughters], [-5.0, -5.0, -5.0])
    # core columns are the kernel's business: inherit leaves them alone
    np.testing.assert_array_equal(table["age_h"][daughters], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(table["cell_type"][daughters], [0, 0, 0])
    np.testing.assert_array_equal(table["x"][daughters], [7, 7, 6])
    np.testing.assert_array_equal(table["clone"][:4], [11, 22, 33, 44])


def test_count_by_type_counts_living_cells_only():
    table = CellTable((10, 10))
    codes = [CELL_TYPE_CODE[n] for n in ("osteoclast", "plasma_cell", "osteoclast",
                                        "endothelial_cell", "plasma_cell", "plasma_cell")]
    table.append(i8(codes), i32(range(6)), i32([0] * 6))
    table["alive"][4] = False
    counts = table.count_by_type()
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, [2, 0, 0, 2, 1])
    assert list(table.living_slots()) == [0, 1, 2, 3, 5]


def test_state_arrays_load_state_round_trip():
    table = filled_table(12, shape=(9, 9))
    table.add_column("mother", np.int64, -1, inherited=False, unit="slot")
    table["mother"][:] = np.arange(12)[::-1]
    table["age_h"][:] = np.linspace(0, 3, 12)
    table["cell_id"][:] = np.arange(100, 112)
    table["alive"][[2, 7]] = False  # dead-not-yet-compacted rows are kept
    table.occupant[table["x"][[2, 7]], table["y"][[2, 7]]] = EMPTY
    arrays = table.state_arrays()
    assert set(arrays) == {f"cells/{c}" for c in table.columns}
    assert all(len(a) == 12 for a in arrays.values())
    # copies, not views
    table["age_h"][0] = 99.0
    assert arrays["cells/age_h"][0] == 0.0
    table["age_h"][0] = 0.0

    other = CellTable((9, 9), capacity=16)
    other.add_column("mother", np.int64, -1, inherited=False, unit="slot")
    other.append(i8([1]), i32([8]), i32([8]))  # whatever was there is replaced
    other.load_state(arrays)
    assert other.n_slots == 12
    for name in table.columns:
        np.testing.assert_array_equal(other[name], table[name], err_msg=name)
        assert other[name].dtype == table[name].dtype
    np.testing.assert_array_equal(other.occupant, table.occupant)
    assert other.occupant[8, 8] == EMPTY
    np.testing.assert_array_equal(other.count_by_type(), table.count_by_type())


def test_load_state_needs_every_column():
    table = filled_table(3)
    table.add_column("mother", np.int64, -1, inherited=False, unit="slot")
    arrays = table.state_arrays()
    del arrays["cells/mother"]
    other = CellTable(table.shape)
    other.add_column("mother", np.int64, -1, inherited=False, unit="slot")
    with pytest.raises(ValueError, match="mother"):
        other.load_state(arrays)


def test_load_state_larger_than_capacity_grows():
    table = filled_table(40, shape=(10, 10), capacity=64)
    other = CellTable((10, 10), capacity=16)
    other.load_state(table.state_arrays())
    assert other.capacity >= 40 and other.n_slots == 40
    np.testing.assert_array_equal(other["x"], table["x"])
