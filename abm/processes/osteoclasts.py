"""The osteoclast lineage: precursors arise in the marrow, fuse and activate on bone where RANK is
occupied by free RANKL, resorb bone (releasing TGF-β from the matrix) and die.

Two processes (``bone.osteoclasts`` in the scenario; rules in :mod:`abm.cells.kernels`):

- :class:`OsteoclastFates` (decisions): precursor supply from the marrow's myeloid pool (a
  constant source per marrow voxel, Pivonka 2008's D_OCp: not scaled by vessels), precursor
  death, activation of precursors touching bone with rate k_act·θ, θ = R^n/(R^n + K^n) the RANK
  occupancy by free RANKL R (Pivonka 2008 π_act,OCp); active osteoclasts die by an apoptosis
  clock (Erlang-distributed lifespan, ``active_lifespan_d`` in ``active_lifespan_stages``
  stages) or by TGF-β-induced apoptosis;
- :class:`Resorption` (actions): each active osteoclast removes matrix from a neighbouring bone
  voxel at ``resorption_rate_um_per_day`` (the front advancing across a voxel face), or crawls
  along the surface; precursors random-walk.

Cell turnover adds ``cells.osteoclast.death_rate_per_day`` to every stage (0 by default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.cells import kernels
from abm.cells.table import CELL_TYPE_CODE, EMPTY, PRECURSOR
from abm.fields.stack import MARROW
from abm.scenario import units
from abm.scenario.schema import BONE_LAYER, FREE_RANKL_LAYER, OSTEOID_LAYER

if TYPE_CHECKING:
    from abm.model import MarrowModel

OSTEOCLAST = CELL_TYPE_CODE["osteoclast"]


class OsteoclastFates:
    """Osteoclast decisions: precursor supply in the marrow, precursor death, activation, and the
    death of active osteoclasts (apoptosis clock, TGF-β).

    Attributes:
        activated_total, died_total, entered_total: cumulative event counts (entered: precursors
            supplied).
    """

    name = "osteoclast_fates"

    def __init__(self, model: MarrowModel):
        rules = model.config.bone.osteoclasts
        self.supply_probability = units.event_probability(
            units.per_day_to_per_h(rules.precursor_supply_per_marrow_voxel_per_day), model.step_h
        )
        self.precursor_death_per_h = units.per_day_to_per_h(rules.precursor_death_rate_per_day)
        self.max_activation_per_h = units.per_day_to_per_h(rules.max_activation_rate_per_day)
        self.clock_stages = rules.active_lifespan_stages
        self.clock_rate_per_h = self.clock_stages / (rules.active_lifespan_d * units.HOURS_PER_DAY)
        self.rank_half_saturation = rules.rank_half_saturation_pM
        self.rank_hill = rules.rank_hill_coefficient
        self.tgfb_apoptosis_per_h = units.per_day_to_per_h(rules.tgfb_apoptosis_rate_per_day)
        self.tgfb_half_saturation = rules.tgfb_apoptosis_half_saturation_pM
        self.periodic = model.config.domain.boundary == "periodic"
        self._tissue_version = -1
        self._marrow = np.zeros((0, 2), dtype=np.int64)
        self.activated_total = 0
        self.died_total = 0
        self.entered_total = 0

    def initialize_cells(self, model: MarrowModel) -> None:
        """Give the osteoclasts placed at t = 0 (active) the age in stage of a steady state, so
        that they do not all die together: with an Erlang(k, λ) lifespan the age density is
        S(a)/mean = (1/k)·Σ_{i=1..k} Gamma(i, λ), i.e. a Gamma(i, λ) age with i uniform in 1..k
        (floored to whole steps)."""
        table, rng = model.cells, model.rng
        placed = np.flatnonzero(table["alive"] & (table["cell_type"] == OSTEOCLAST))
        shapes = rng.integers(1, self.clock_stages + 1, size=len(placed))
        ages_h = rng.gamma(shapes, 1.0 / self.clock_rate_per_h)
        table["stage_h"][placed] = np.floor(ages_h / model.step_h) * model.step_h

    def step(self, model: MarrowModel) -> None:
        """Supply precursors, then activate or kill precursors and kill active osteoclasts."""
        self._supply(model)
        table, fields = model.cells, model.fields
        n = table.n_slots
        activated, died = kernels.osteoclast_fates(
            model.rng.random(n), OSTEOCLAST, table["alive"], table["cell_type"], table["stage"],
            table["stage_h"], table["x"], table["y"], table.occupant, fields.tissue,
            fields[FREE_RANKL_LAYER], fields["tgfb"], self.precursor_death_per_h,
            self.max_activation_per_h, self.rank_half_saturation, self.rank_hill,
            self.clock_rate_per_h, self.clock_stages, self.tgfb_apoptosis_per_h,
            self.tgfb_half_saturation, model.step_h, self.periodic, n,
        )
        self.activated_total += activated
        self.died_total += died

    def _supply(self, model: MarrowModel) -> None:
        """Each marrow voxel gives rise to a precursor with the supply probability; a voxel
        already holding a cell gives none (crowded marrow makes fewer myeloid cells)."""
        fields, table, rng = model.fields, model.cells, model.rng
        if fields.tissue_version != self._tissue_version:
            self._marrow = np.argwhere(fields.tissue == MARROW)
            self._tissue_version = fields.tissue_version
        n_sources = rng.binomial(len(self._marrow), self.supply_probability)
        if n_sources == 0:
            return
        x, y = self._marrow[np.sort(rng.choice(len(self._marrow), n_sources, replace=False))].T
        free = table.occupant[x, y] == EMPTY
        x, y = x[free].astype(np.int32), y[free].astype(np.int32)
        table.append(np.full(len(x), OSTEOCLAST, dtype=np.int8), x, y, PRECURSOR)
        self.entered_total += len(x)

    def readouts(self) -> dict[str, int]:
        """Cumulative event counts for the time series."""
        return {
            "osteoclasts_entered_total": self.entered_total,
            "osteoclasts_activated_total": self.activated_total,
        }

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Cumulative counters (checkpointed)."""
        return {
            "totals": np.array([self.entered_total, self.activated_total, self.died_total])
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the counters."""
        self.entered_total, self.activated_total, self.died_total = (
            int(v) for v in arrays["totals"]
        )


class Resorption:
    """Osteoclast actions: active osteoclasts resorb bone; precursors random-walk.

    Attributes:
        resorbed_total_voxels: cumulative matrix resorbed, in voxel volumes.
    """

    name = "resorption"

    def __init__(self, model: MarrowModel):
        config = model.config
        rules, domain = config.bone.osteoclasts, config.domain
        self.resorbed_per_step = (
            units.per_day_to_per_h(rules.resorption_rate_um_per_day) * model.step_h
            / domain.voxel_um
        )
        per_amol = units.cell_amount_to_concentration("pM", domain.voxel_volume_um3)
        self.tgfb_per_mineral = (
            config.bone.matrix_tgfb_amol_per_um3 * domain.voxel_volume_um3 * per_amol
        )
        hop = units.hop_probability(
            rules.precursor_motility_um2_per_h, model.step_h, domain.voxel_um
        )
        self.precursor_hop_probability = np.zeros(len(CELL_TYPE_CODE))
        self.precursor_hop_probability[OSTEOCLAST] = hop
        self.periodic = domain.boundary == "periodic"
        self.resorbed_total_voxels = 0.0

    def step(self, model: MarrowModel) -> None:
        """Resorb with every active osteoclast, then move precursors."""
        table, fields, rng = model.cells, model.fields, model.rng
        n = table.n_slots
        self.resorbed_total_voxels += kernels.resorb(
            rng.permutation(n), rng.integers(0, 4, size=n), OSTEOCLAST, table["alive"],
            table["cell_type"], table["stage"], table["x"], table["y"], table.occupant,
            fields.tissue, fields[BONE_LAYER], fields[OSTEOID_LAYER], fields.released["tgfb"],
            self.resorbed_per_step, self.tgfb_per_mineral, self.periodic,
        )
        precursors = (table["cell_type"] == OSTEOCLAST) & (table["stage"] == PRECURSOR)
        kernels.random_walk(
            rng.permutation(np.flatnonzero(precursors)), rng.random(n),
            rng.integers(0, 4, size=n), self.precursor_hop_probability, table["alive"],
            table["cell_type"], table["x"], table["y"], table.occupant, fields.tissue,
            self.periodic,
        )

    def readouts(self) -> dict[str, float]:
        """Cumulative resorption for the time series."""
        return {"bone_resorbed_total_voxels": self.resorbed_total_voxels}

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Cumulative resorption (checkpointed)."""
        return {"resorbed_total_voxels": np.array(self.resorbed_total_voxels)}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the cumulative resorption."""
        self.resorbed_total_voxels = float(arrays["resorbed_total_voxels"])
