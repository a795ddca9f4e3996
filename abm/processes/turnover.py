"""Cell turnover: division into a free neighbouring voxel and death, at per-type rates.

Decision phase. Rates come from ``cells.<type>.division_rate_per_day`` and
``death_rate_per_day`` and become per-step probabilities p = 1 − exp(−k·Δt).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.bone.geometry import MINERALIZED_FRACTION
from abm.cells import kernels
from abm.scenario import units
from abm.scenario.schema import BONE_LAYER

if TYPE_CHECKING:
    from abm.model import MarrowModel


class CellTurnover:
    """Divide and kill cells once per step (serial kernel, random order from ``model.rng``)."""

    name = "cell_turnover"

    def __init__(self, model: MarrowModel):
        step_h = model.step_h
        specs = [spec for _, spec in model.config.cells.items()]
        self.division_probability = np.array(
            [
                units.event_probability(units.per_day_to_per_h(s.division_rate_per_day), step_h)
                for s in specs
            ]
        )
        self.death_probability = np.array(
            [
                units.event_probability(units.per_day_to_per_h(s.death_rate_per_day), step_h)
                for s in specs
            ]
        )
        self.periodic = model.config.domain.boundary == "periodic"
        model.cells.add_column("mother", np.int64, -1, inherited=False, unit="slot")

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
        table.n_slots = kernels.divide_and_die(
            order, u_death, u_divide, first_direction, self.death_probability,
            self.division_probability, col("alive"), col("cell_type"), col("x"), col("y"),
            col("age_h"), col("cell_id"), col("mother"), table.occupant,
            model.fields[BONE_LAYER], MINERALIZED_FRACTION, self.periodic, n,
        )
        daughters = np.arange(n, table.n_slots)
        table.inherit(daughters, table["mother"][daughters])
