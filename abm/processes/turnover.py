"""Cell turnover: division into a free neighbouring voxel and death, at per-type rates.

Decision phase. Rates come from ``cells.<type>.division_rate_per_day`` and
``death_rate_per_day``, times each cell's fold change of division or death from its response
rules (:mod:`abm.processes.responses`) and the division fold of a treatment
(:mod:`abm.interventions`), and become per-step probabilities p = 1 − exp(−k·Δt).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.cells import kernels
from abm.cells.table import CellTable
from abm.processes.responses import fold
from abm.scenario import units

if TYPE_CHECKING:
    from abm.model import MarrowModel


class CellTurnover:
    """Divide and kill cells once per step (serial kernel, random order from ``model.rng``).

    Adds the cell-table column ``mother_id``: the Mesa ``unique_id`` of a cell's mother (−1 for
    cells placed at t = 0), stable across table compaction, for lineage tracing.
    """

    name = "cell_turnover"

    def __init__(self, model: MarrowModel):
        specs = [spec for _, spec in model.config.cells.items()]

        def per_step(rates_per_day: list[float]) -> np.ndarray:
            return np.array([units.per_day_to_per_h(k) * model.step_h for k in rates_per_day])

        self.division_per_step = per_step([s.division_rate_per_day for s in specs])
        self.death_per_step = per_step([s.death_rate_per_day for s in specs])
        self.periodic = model.config.domain.boundary == "periodic"
        model.cells.add_column("mother_id", np.int64, -1, inherited=False, unit="Mesa unique_id")

    def step(self, model: MarrowModel) -> None:
        """Apply one step of division and death to ``model.cells``."""
        table, rng = model.cells, model.rng
        n = table.n_slots
        order = rng.permutation(n)
        u_death = rng.random(n)
        u_divide = rng.random(n)
        first_direction = rng.integers(0, 4, size=n)
        table.reserve(int(np.count_nonzero(table["alive"])))
        col = table.full
        mother_slot = np.full(table.capacity, -1, dtype=np.int64)  # filled for daughters only
        table.n_slots = kernels.divide_and_die(
            order, u_death, u_divide, first_direction, self.death_per_step,
            self.division_per_step * model.treatment.division_fold, fold(table, "death"),
            fold(table, "division"),
            col("alive"), col("cell_type"), col("x"), col("y"),
            col("age_h"), col("cell_id"), mother_slot, table.occupant,
            model.fields.tissue, self.periodic, n,
        )
        daughters = record_mothers(table, n, mother_slot)
        table.inherit(daughters, mother_slot[daughters])


def record_mothers(table: CellTable, n_before: int, mother_slot: np.ndarray) -> np.ndarray:
    """Write ``mother_id`` (the mother's Mesa ``unique_id``) of the cells a kernel appended
    after row ``n_before``, from ``mother_slot`` (the kernel's mother slot per row); returns
    their slots."""
    daughters = np.arange(n_before, table.n_slots)
    table["mother_id"][daughters] = table["cell_id"][mother_slot[daughters]]
    return daughters
