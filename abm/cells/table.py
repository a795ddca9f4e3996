"""The cell table: every living cell's state as struct-of-arrays columns, one row (slot) per cell.

Kernels read and write these arrays in place; Mesa agents (:mod:`abm.cells.agents`) are thin views
onto a slot. Births append rows at the end (the high-water mark ``n_slots``), deaths clear
``alive``; :meth:`CellTable.compact` removes dead rows in a stable order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.scenario.schema import CELL_TYPES

CELL_TYPE_CODE: dict[str, int] = {name: code for code, name in enumerate(CELL_TYPES)}
"""Integer code of each cell type in the ``cell_type`` column."""

EMPTY = -1
"""Value of a free voxel in the occupancy map and the snapshot cell map."""

PRECURSOR, ACTIVE, LINING = 0, 1, 2
"""Lineage stages (``stage`` column). Osteoclasts: precursor → active. Osteoblasts: precursor →
active → lining. Cell types without a lineage stay at 0."""

STAGES: tuple[str, ...] = ("precursor", "active", "lining")
"""Names of the stage codes."""

INITIAL_STAGE: dict[str, int] = {"osteoblast": ACTIVE, "osteoclast": ACTIVE}
"""Stage of the cells placed at t = 0 (bone cells then represent remodelling in progress)."""


@dataclass(frozen=True)
class Column:
    """A per-cell state variable.

    Attributes:
        dtype: numpy dtype of the column.
        fill: value of a slot before anything is written to it.
        inherited: whether a daughter copies it from its mother at division (else ``fill``).
        unit: unit of the values, for documentation and the agent views.
    """

    dtype: np.dtype
    fill: float | int | bool
    inherited: bool
    unit: str


CORE_COLUMNS: dict[str, Column] = {
    "alive": Column(np.dtype(np.bool_), False, False, "-"),
    "cell_type": Column(np.dtype(np.int8), EMPTY, True, "code"),
    "x": Column(np.dtype(np.int32), 0, False, "voxel"),
    "y": Column(np.dtype(np.int32), 0, False, "voxel"),
    "age_h": Column(np.dtype(np.float64), 0.0, False, "h"),
    "stage": Column(np.dtype(np.int8), PRECURSOR, False, "code"),
    "stage_h": Column(np.dtype(np.float64), 0.0, False, "h"),
    "cell_id": Column(np.dtype(np.int64), -1, False, "-"),
}
"""Columns every cell has. ``stage`` is the lineage stage (:data:`STAGES`) and ``stage_h`` the
time spent in it; ``cell_id`` is the Mesa ``unique_id`` of the cell's agent (−1 until the agent
exists)."""


class CellTable:
    """Struct-of-arrays storage of all cells on an ``(nx, ny)`` lattice, one cell per voxel.

    Attributes:
        occupant: ``int32[nx, ny]``, slot of the cell in each voxel or :data:`EMPTY`.
        n_slots: rows in use (living and dead-not-yet-compacted cells).
    """

    def __init__(self, shape: tuple[int, int], capacity: int = 1024):
        self.shape = shape
        self.columns: dict[str, Column] = dict(CORE_COLUMNS)
        self._data: dict[str, np.ndarray] = {}
        self._capacity = max(int(capacity), 16)
        for name, column in self.columns.items():
            self._data[name] = np.full(self._capacity, column.fill, dtype=column.dtype)
        self.occupant = np.full(shape, EMPTY, dtype=np.int32)
        self.n_slots = 0

    # ------------------------------------------------------------------ columns

    def add_column(
        self, name: str, dtype: type | np.dtype, fill: float | int | bool, *, inherited: bool,
        unit: str,
    ) -> None:
        """Register a per-cell state variable (processes call this when they are installed)."""
        if name in self.columns:
            raise ValueError(f"cell table already has a column {name!r}")
        column = Column(np.dtype(dtype), fill, inherited, unit)
        self.columns[name] = column
        self._data[name] = np.full(self._capacity, fill, dtype=column.dtype)

    def full(self, name: str) -> np.ndarray:
        """The whole backing array of a column (capacity rows), for kernels that append."""
        return self._data[name]

    def __getitem__(self, name: str) -> np.ndarray:
        """A view of the rows in use of a column."""
        return self._data[name][: self.n_slots]

    @property
    def capacity(self) -> int:
        """Rows allocated."""
        return self._capacity

    def reserve(self, n_more: int) -> None:
        """Make room for at least ``n_more`` appended rows (kernels cannot grow arrays)."""
        needed = self.n_slots + n_more
        if needed <= self._capacity:
            return
        new_capacity = max(needed, 2 * self._capacity)
        for name, column in self.columns.items():
            grown = np.full(new_capacity, column.fill, dtype=column.dtype)
            grown[: self.n_slots] = self._data[name][: self.n_slots]
            self._data[name] = grown
        self._capacity = new_capacity

    # ------------------------------------------------------------------ births and deaths

    def append(
        self, cell_type: np.ndarray, x: np.ndarray, y: np.ndarray, stage: int = PRECURSOR
    ) -> np.ndarray:
        """Add cells of the given type codes at voxels ``(x, y)`` in lineage ``stage``; returns
        their slots.

        The voxels must be free; other columns take their fill values.
        """
        n = len(cell_type)
        if np.any(self.occupant[x, y] != EMPTY):
            raise ValueError("cannot place a cell on an occupied voxel")
        if len(np.unique(np.ravel_multi_index((x, y), self.shape))) != n:
            raise ValueError("cannot place two cells on the same voxel")
        self.reserve(n)
        slots = np.arange(self.n_slots, self.n_slots + n)
        self._data["alive"][slots] = True
        self._data["cell_type"][slots] = cell_type
        self._data["stage"][slots] = stage
        self._data["x"][slots] = x
        self._data["y"][slots] = y
        self.occupant[x, y] = slots
        self.n_slots += n
        return slots

    def inherit(self, daughters: np.ndarray, mothers: np.ndarray) -> None:
        """Copy inherited extra columns from mothers to daughters (core columns are set by the
        kernel that created the daughters)."""
        for name, column in self.columns.items():
            if column.inherited and name not in CORE_COLUMNS:
                self._data[name][daughters] = self._data[name][mothers]

    def living_slots(self) -> np.ndarray:
        """Slots of living cells, ascending."""
        return np.flatnonzero(self["alive"])

    def count_by_type(self) -> np.ndarray:
        """Number of living cells of each type code, ``int64[len(CELL_TYPES)]``."""
        types = self["cell_type"][self["alive"]]
        return np.bincount(types.astype(np.int64), minlength=len(CELL_TYPES))

    def compact(self) -> np.ndarray:
        """Drop dead rows, keeping the order of the living; returns ``new_slot_of[old_slot]``
        (−1 for dropped rows)."""
        keep = self.living_slots()
        new_slot_of = np.full(self.n_slots, EMPTY, dtype=np.int64)
        new_slot_of[keep] = np.arange(len(keep))
        for name, column in self.columns.items():
            data = self._data[name]
            data[: len(keep)] = data[keep]
            data[len(keep) : self.n_slots] = column.fill
        self.n_slots = len(keep)
        self.rebuild_occupancy()
        return new_slot_of

    def rebuild_occupancy(self) -> None:
        """Recompute the occupancy map from the positions of living cells."""
        self.occupant.fill(EMPTY)
        alive = self.living_slots()
        self.occupant[self["x"][alive], self["y"][alive]] = alive

    # ------------------------------------------------------------------ checkpoints

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Copies of every column's rows in use, keyed ``cells/<column>``."""
        return {f"cells/{name}": self[name].copy() for name in self.columns}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore rows from :meth:`state_arrays` output (columns must already be registered)."""
        n = len(arrays["cells/alive"])
        self.n_slots = 0
        self.reserve(n)
        for name, column in self.columns.items():
            key = f"cells/{name}"
            if key not in arrays:
                raise ValueError(f"checkpoint has no cell column {name!r}")
            self._data[name][:n] = arrays[key]
            self._data[name][n:] = column.fill
        self.n_slots = n
        self.rebuild_occupancy()
