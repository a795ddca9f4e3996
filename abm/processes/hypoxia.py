"""HIF-1α sensing: every cell's hypoxia-inducible-factor activity follows the pO2 of its voxel.

Sensing phase (after transport). Each living cell holds ``hif`` (0–1, cell-table column). Its
target is the Hill function of REFERENCE 2.2 (Jiang 1996), h(pO2) = 1 / (1 + (pO2/P50)^n),
half-maximal at ``hypoxia.hif_half_maximal_pO2_mmHg``; ``hif`` relaxes towards it with the time
constant ``hypoxia.hif_relaxation_time_h`` (HIF-1α protein accumulates over hours in hypoxia and is
degraded within minutes on reoxygenation; one constant covers both, an assumption). The step is
exact for the pO2 of this step: hif ← h + (hif − h)·e^(−Δt/τ).

Cells are placed with ``hif`` = 0 and reach their steady state within a few τ; daughters inherit
their mother's value. Transport multiplies a cell's secretion of a species by
(1 + ``cells.<type>.hif_secretion_gain.<species>`` × hif) (REFERENCE 2.2 a_H term).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.cells import kernels

if TYPE_CHECKING:
    from abm.model import MarrowModel

HIF_COLUMN = "hif"
"""Cell-table column of HIF-1α activity (0–1)."""


class HifSensing:
    """Relax every living cell's HIF-1α activity towards h(pO2) of its voxel, once per step.

    Attributes:
        mean_hif: mean ``hif`` over living cells after the last step (0 before the first).
    """

    name = "hif_sensing"

    def __init__(self, model: MarrowModel):
        rules = model.config.hypoxia
        self.half_maximal_pO2_mmHg = rules.hif_half_maximal_pO2_mmHg
        self.hill = rules.hif_hill_coefficient
        self.retained = float(np.exp(-model.step_h / rules.hif_relaxation_time_h))
        self.mean_hif = 0.0
        model.cells.add_column(HIF_COLUMN, np.float64, 0.0, inherited=True, unit="0-1")

    def step(self, model: MarrowModel) -> None:
        """Update ``hif`` of every living cell from this step's oxygen field."""
        table = model.cells
        kernels.relax_hif(
            table["alive"], table["x"], table["y"], table.n_slots, model.fields["oxygen"],
            self.half_maximal_pO2_mmHg, self.hill, self.retained, table[HIF_COLUMN],
        )
        alive = table["alive"]
        self.mean_hif = float(table[HIF_COLUMN][alive].mean()) if alive.any() else 0.0

    def readouts(self) -> dict[str, float]:
        """Mean HIF-1α activity of living cells (0–1)."""
        return {"hif_mean": self.mean_hif}
