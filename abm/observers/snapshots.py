"""Field snapshots: the chosen layers (and the cell-type map) into ``fields.zarr``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.cells.table import EMPTY
from abm.io.snapshots import SnapshotStore

if TYPE_CHECKING:
    from abm.model import MarrowModel

CELL_MAP = "cell_type_map"
"""Snapshot layer holding each voxel's cell-type code (−1 = no cell)."""


def cell_type_map(model: MarrowModel) -> np.ndarray:
    """``int8[nx, ny]``: the cell-type code of the cell in each voxel, −1 where there is none."""
    table = model.cells
    out = np.full(table.shape, EMPTY, dtype=np.int8)
    alive = table.living_slots()
    out[table["x"][alive], table["y"][alive]] = table["cell_type"][alive]
    return out


def snapshot_layers(model: MarrowModel) -> dict[str, np.dtype]:
    """Layer names and dtypes a snapshot of this model's scenario contains."""
    layers = {name: np.dtype(np.float64) for name in model.config.output.snapshot_layer_names()}
    if model.config.output.snapshot_cell_map:
        layers[CELL_MAP] = np.dtype(np.int8)
    return layers


class SnapshotWriter:
    """Append a snapshot to a :class:`SnapshotStore` every ``every_steps`` steps (and at 0)."""

    name = "snapshots"

    def __init__(self, store: SnapshotStore, every_steps: int):
        self.store = store
        self.every_steps = every_steps

    def write(self, model: MarrowModel) -> None:
        """Append the current state of every snapshot layer."""
        arrays = {}
        for name in self.store.layer_names:
            arrays[name] = cell_type_map(model) if name == CELL_MAP else model.fields[name]
        self.store.append(model.steps, arrays)

    def step(self, model: MarrowModel) -> None:
        """Write when the step is a multiple of the interval."""
        if model.steps % self.every_steps == 0:
            self.write(model)
