"""Bookkeeping phase: age the cells, keep Mesa agents in step with the cell table, compact it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from abm.model import MarrowModel

COMPACT_WHEN_DEAD_FRACTION = 0.25
"""Compact the cell table when this fraction of its rows are dead (amortized O(1) per death)."""


class Bookkeeping:
    """Advance ages and times in stage by one step, create/remove agents for births/deaths,
    drop dead rows."""

    name = "bookkeeping"

    def step(self, model: MarrowModel) -> None:
        """Run the bookkeeping of one step."""
        table = model.cells
        alive = table["alive"]
        table["age_h"][alive] += model.step_h
        table["stage_h"][alive] += model.step_h
        model.sync_agents()
        n_dead = table.n_slots - int(np.count_nonzero(alive))
        if n_dead > COMPACT_WHEN_DEAD_FRACTION * table.n_slots:
            model.compact_cells()
