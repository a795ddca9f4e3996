"""Random-walk migration on the lattice with volume exclusion.

Action phase. ``cells.<type>.random_motility_um2_per_h`` (D) becomes a per-step hop probability
p = 4·D·Δt/Δx² (see :func:`abm.scenario.units.hop_probability`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.cells import kernels
from abm.scenario import units

if TYPE_CHECKING:
    from abm.model import MarrowModel


class RandomMigration:
    """Move cells one voxel at a time, in a random order from ``model.rng``."""

    name = "random_migration"

    def __init__(self, model: MarrowModel):
        domain = model.config.domain
        self.hop_probability = np.array(
            [
                units.hop_probability(s.random_motility_um2_per_h, model.step_h, domain.voxel_um)
                for _, s in model.config.cells.items()
            ]
        )
        self.periodic = domain.boundary == "periodic"

    def step(self, model: MarrowModel) -> None:
        """Apply one step of hops to ``model.cells``."""
        table, rng = model.cells, model.rng
        n = table.n_slots
        order = rng.permutation(n)
        u_hop = rng.random(n)
        direction = rng.integers(0, 4, size=n)
        kernels.random_walk(
            order, u_hop, direction, self.hop_probability, table["alive"], table["cell_type"],
            table["x"], table["y"], table.occupant, model.fields.tissue,
            self.periodic,
        )
