"""The osteoblast lineage: stromal cells commit osteoprogenitors under TGF-β released by
resorption; precursors home to TGF-β sources, adhere to bone and activate once resorption has
stopped (faster with VEGF and the endothelial osteogenic signal); active osteoblasts lay osteoid,
which mineralizes, and finally become lining cells, die, or are buried as osteocytes.

Two processes (``bone.osteoblasts`` in the scenario; rules in :mod:`abm.cells.kernels`), after
the Pivonka 2008 structure (REFERENCE §2.5): commitment ∝ π_act(TGF-β) (OBu → OBp), activation
∝ π_rep(TGF-β) = K/(K + TGF-β) (OBp → OBa), times the VEGF and osteogenic-signal gains of
REFERENCE §2.6 rule 3:

- :class:`OsteoblastFates` (decisions): commitment, precursor death and activation, end of the
  active phase (lining cell or apoptosis);
- :class:`Formation` (actions): osteoid apposition at ``apposition_rate_um_per_day`` into the
  osteoblast's own voxel, stepping back or burial when it is full, chemotactic precursor
  movement, and first-order mineralization of osteoid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.cells import kernels
from abm.cells.table import CELL_TYPE_CODE
from abm.processes.responses import fold
from abm.processes.turnover import record_mothers
from abm.scenario import units
from abm.scenario.schema import BONE_LAYER, OSTEOID_LAYER

if TYPE_CHECKING:
    from abm.model import MarrowModel

OSTEOBLAST = CELL_TYPE_CODE["osteoblast"]
STROMAL = CELL_TYPE_CODE["stromal_cell"]

ACTIVE_PHASE_COLUMN = "active_phase_h"
"""Cell-table column: how far an active osteoblast's apoptosis programme has run, in hours at
apoptosis fold 1; the active phase ends when it reaches ``active_period_d``. A response rule on
``osteoblast_apoptosis`` (VEGF, REFERENCE 1.5 Street & Lenehan 2009) slows it."""


class OsteoblastFates:
    """Osteoblast-lineage decisions (see the module docstring).

    Attributes:
        committed_total, activated_total: cumulative precursor commitments and activations.

    Uses the cell-table column ``mother_id`` (added by cell turnover) to record the stromal
    cell that committed each precursor.
    """

    name = "osteoblast_fates"

    def __init__(self, model: MarrowModel):
        rules = model.config.bone.osteoblasts
        self.rules = rules
        self.max_commitment_per_h = units.per_day_to_per_h(rules.max_commitment_rate_per_day)
        self.precursor_death_per_h = units.per_day_to_per_h(rules.precursor_death_rate_per_day)
        self.activation_per_h = units.per_day_to_per_h(rules.activation_rate_per_day)
        self.active_period_h = rules.active_period_d * units.HOURS_PER_DAY
        self.periodic = model.config.domain.boundary == "periodic"
        self.committed_total = 0
        self.activated_total = 0
        model.cells.add_column(
            ACTIVE_PHASE_COLUMN, np.float64, 0.0, inherited=False, unit="h at apoptosis fold 1"
        )

    def initialize_cells(self, model: MarrowModel) -> None:
        """Give the osteoblasts placed at t = 0 (active) a time in stage, and as much progress of
        their apoptosis programme, drawn uniformly over the active period, as in a steady state,
        so that they do not all retire together."""
        table = model.cells
        placed = np.flatnonzero(table["alive"] & (table["cell_type"] == OSTEOBLAST))
        table["stage_h"][placed] = np.floor(
            model.rng.uniform(0.0, self.active_period_h, len(placed)) / model.step_h
        ) * model.step_h
        table[ACTIVE_PHASE_COLUMN][placed] = table["stage_h"][placed]

    def step(self, model: MarrowModel) -> None:
        """Commit, activate, retire and kill osteoblast-lineage cells for one step."""
        table, fields, rng, rules = model.cells, model.fields, model.rng, self.rules
        n = table.n_slots
        order = rng.permutation(n)
        u_fate, u_activate = rng.random(n), rng.random(n)
        first_direction = rng.integers(0, 4, size=n)
        table.reserve(n)
        col = table.full
        mother_slot = np.full(table.capacity, -1, dtype=np.int64)
        table.n_slots, activated = kernels.osteoblast_fates(
            order, u_fate, u_activate, first_direction, STROMAL, OSTEOBLAST, col("alive"),
            col("cell_type"), col("stage"), col("stage_h"), col("x"), col("y"), col("age_h"),
            col("cell_id"), mother_slot, table.occupant, fields.tissue, fields["tgfb"],
            fields["vegf"], fields["osteogenic_signal"], self.max_commitment_per_h,
            fold(table, "osteoblast_commitment"), rules.tgfb_commitment_half_saturation_pM,
            self.precursor_death_per_h,
            self.activation_per_h, rules.tgfb_activation_half_saturation_pM,
            rules.vegf_activation_gain, rules.vegf_half_saturation_pg_per_mL,
            rules.osteogenic_activation_gain, rules.osteogenic_half_saturation,
            self.active_period_h, fold(table, "osteoblast_apoptosis"), col(ACTIVE_PHASE_COLUMN),
            rules.lining_fraction, model.step_h, self.periodic, n,
        )
        self.committed_total += len(record_mothers(table, n, mother_slot))
        self.activated_total += activated

    def readouts(self) -> dict[str, int]:
        """Cumulative commitments and activations for the time series."""
        return {
            "osteoblasts_committed_total": self.committed_total,
            "osteoblasts_activated_total": self.activated_total,
        }

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Cumulative counters (checkpointed)."""
        return {"totals": np.array([self.committed_total, self.activated_total])}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the counters."""
        self.committed_total, self.activated_total = (int(v) for v in arrays["totals"])


class Formation:
    """Osteoblast-lineage actions and osteoid mineralization (see the module docstring).

    Attributes:
        formed_total_voxels: cumulative osteoid laid down, in voxel volumes.
        osteocytes_total: osteoblasts buried as osteocytes so far.
    """

    name = "formation"

    def __init__(self, model: MarrowModel):
        config = model.config
        rules, domain = config.bone.osteoblasts, config.domain
        self.rules = rules
        self.apposition_per_step = (
            units.per_day_to_per_h(rules.apposition_rate_um_per_day) * model.step_h
            / domain.voxel_um
        )
        self.hop_probability = units.hop_probability(
            rules.precursor_motility_um2_per_h, model.step_h, domain.voxel_um
        )
        self.mineralized_per_step = units.event_probability(
            1.0 / (rules.mineralization_lag_d * units.HOURS_PER_DAY), model.step_h
        )
        self.periodic = domain.boundary == "periodic"
        self.formed_total_voxels = 0.0
        self.osteocytes_total = 0

    def step(self, model: MarrowModel) -> None:
        """Lay osteoid, move precursors, mineralize, then refresh the tissue map (after this
        step's resorption and formation)."""
        table, fields, rng, rules = model.cells, model.fields, model.rng, self.rules
        n = table.n_slots
        formed, buried = kernels.form_bone(
            rng.permutation(n), rng.random(n), rng.random(n), rng.integers(0, 4, size=n),
            OSTEOBLAST, table["alive"], table["cell_type"], table["stage"], table["x"],
            table["y"], table.occupant, fields.tissue, fields[BONE_LAYER], fields[OSTEOID_LAYER],
            fields["tgfb"], self.apposition_per_step, rules.osteocyte_burial_probability,
            self.hop_probability, rules.precursor_tgfb_chemotaxis,
            rules.tgfb_commitment_half_saturation_pM, self.periodic,
        )
        self.formed_total_voxels += formed
        self.osteocytes_total += buried
        fields.mineralize(self.mineralized_per_step)

    def readouts(self) -> dict[str, float | int]:
        """Cumulative formation and burial for the time series."""
        return {
            "bone_formed_total_voxels": self.formed_total_voxels,
            "osteocytes_total": self.osteocytes_total,
        }

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Cumulative formation and burial (checkpointed)."""
        return {"totals": np.array([self.formed_total_voxels, self.osteocytes_total])}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the cumulative counters."""
        formed, buried = arrays["totals"]
        self.formed_total_voxels, self.osteocytes_total = float(formed), int(buried)
