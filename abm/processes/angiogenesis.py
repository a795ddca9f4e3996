"""The endothelium: vessel lining, sprouting angiogenesis, anastomosis, regression, and the
type-H osteogenic signal (``angiogenesis`` in the scenario; rules in :mod:`abm.cells.kernels`).

At t = 0 an endothelial cell (EC) lines every vessel-lumen voxel of the initial network; each
vessel profile of that network (8-connected, :func:`abm.vessels.morphometry.label_vessel_profiles`)
is an *inlet*: a vessel that crosses the section and carries flow from outside it. ECs sense VEGF
× ``vegfr2_signalling_fraction``.

- :class:`TypeHSignalling` (sensing): perfused ECs within ``type_h_distance_um`` of mineralized
  bone release the osteogenic signal, × (1 + g·VEGFR2 occupancy) (REFERENCE 2.6 rule 3; Kusumbe
  2014), which raises osteoprogenitor activation (:mod:`abm.processes.osteoblasts`).
- :class:`EndothelialFates` (decisions): grown sprouts regress as a unit with rate
  r·K_s/(K_s + V̄), V̄ the mean sensed VEGF along the sprout (Kamba 2006: 68 % of capillaries
  in 1–3 weeks without VEGF signalling); then perfused ECs bud tips where sensed VEGF ≥ 3 ng/mL
  and its gradient ≥ 14 ng/mL/mm, at most one tip within ``tip_spacing_um`` (REFERENCE 1.6).
- :class:`SproutGrowth` (actions): tips take the Anderson–Chaplain biased walk up the VEGF
  gradient (REFERENCE 2.7), leaving a stalk cell in every voxel they leave; a tip touching
  another vessel anastomoses; then grown ECs on a path between two different inlets become
  perfused lumen (they exchange oxygen with blood and admit osteoclast precursors), and blind
  ones stay marrow voxels without flow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.cells import kernels
from abm.cells.table import CELL_TYPE_CODE, PRECURSOR, CellTable
from abm.fields.stack import VESSEL_LUMEN
from abm.processes.turnover import record_mothers
from abm.scenario import units
from abm.scenario.schema import VESSEL_LAYER
from abm.vessels.morphometry import label_vessel_profiles

if TYPE_CHECKING:
    from abm.model import MarrowModel

ENDOTHELIAL = CELL_TYPE_CODE["endothelial_cell"]

SPROUT, PARENT_SPROUT, INLET, TIP = "sprout", "parent_sprout", "inlet", "tip"
"""Endothelial cell-table columns: the sprout a grown EC belongs to (−1: initial network), the
sprout its sprout budded from (−1: the initial network), the inlet profile its lineage started
from (≥ 1), and whether it is a tip cell."""


def endothelium(table: CellTable) -> np.ndarray:
    """Boolean mask of the living endothelial cells among the table's rows in use."""
    return table["alive"] & (table["cell_type"] == ENDOTHELIAL)


def grown_endothelium(table: CellTable) -> np.ndarray:
    """Boolean mask of the living endothelial cells grown by sprouting."""
    return endothelium(table) & (table[SPROUT] >= 0)


class TypeHSignalling:
    """Release of the osteogenic signal by type-H-like endothelium (sensing phase).

    Attributes:
        type_h_cells: ECs that released the signal in the last step.
    """

    name = "type_h_signalling"

    def __init__(self, model: MarrowModel):
        rules = model.config.angiogenesis
        domain = model.config.domain
        self.signalling = rules.vegfr2_signalling_fraction
        self.reach_voxels = rules.type_h_distance_um / domain.voxel_um
        unit = model.config.fields.osteogenic_signal.unit
        self.release_per_step = (
            rules.type_h_osteogenic_secretion_per_h * model.step_h
            * units.cell_amount_to_concentration(unit, domain.voxel_volume_um3)
        )
        self.vegf_gain = rules.type_h_vegf_gain
        self.vegfr2_half_occupancy = model.config.permeability.vegfr2_half_occupancy_pg_per_mL
        self.periodic = domain.boundary == "periodic"
        self.type_h_cells = 0

    def step(self, model: MarrowModel) -> None:
        """Add this step's release to the osteogenic signal's release buffer."""
        table, fields = model.cells, model.fields
        self.type_h_cells = kernels.type_h_release(
            ENDOTHELIAL, table["alive"], table["cell_type"], table["x"], table["y"],
            fields.tissue, fields["vegf"], self.signalling, self.reach_voxels,
            self.release_per_step, self.vegf_gain, self.vegfr2_half_occupancy, self.periodic,
            table.n_slots, fields.released["osteogenic_signal"],
        )

    def readouts(self) -> dict[str, int]:
        """Type-H-like ECs in the last step."""
        return {"type_h_endothelial_cells": self.type_h_cells}


class EndothelialFates:
    """Endothelial decisions: sprout regression, then tip selection.

    Attributes:
        next_sprout: id of the next sprout.
        tips_selected_total, sprouts_regressed_total: cumulative event counts.
    """

    name = "endothelial_fates"

    def __init__(self, model: MarrowModel):
        rules = model.config.angiogenesis
        voxel_um = model.config.domain.voxel_um
        self.signalling = rules.vegfr2_signalling_fraction
        self.vegf_threshold = rules.tip_vegf_threshold_pg_per_mL
        self.gradient_threshold_per_voxel = (
            rules.tip_vegf_gradient_threshold_pg_per_mL_per_um * voxel_um
        )
        self.selection_probability = units.event_probability(
            rules.tip_selection_rate_per_h, model.step_h
        )
        self.spacing_voxels = rules.tip_spacing_um / voxel_um
        self.avoid_bone_surface = rules.tips_avoid_bone_surface
        self.regression_per_h = units.per_day_to_per_h(rules.regression_rate_per_day)
        self.survival_half_saturation = rules.survival_vegf_half_saturation_pg_per_mL
        self.periodic = model.config.domain.boundary == "periodic"
        self.next_sprout = 0
        self.tips_selected_total = 0
        self.sprouts_regressed_total = 0
        table = model.cells
        table.add_column(SPROUT, np.int32, -1, inherited=False, unit="id")
        table.add_column(PARENT_SPROUT, np.int32, -1, inherited=False, unit="id")
        table.add_column(INLET, np.int32, -1, inherited=False, unit="label")
        table.add_column(TIP, np.bool_, False, inherited=False, unit="-")

    def initialize_cells(self, model: MarrowModel) -> None:
        """Line every vessel-lumen voxel with an EC of the initial network, labelled with its
        vessel profile (inlet)."""
        lumen = model.fields.tissue == VESSEL_LUMEN
        labels, _ = label_vessel_profiles(lumen, self.periodic)
        x, y = np.nonzero(lumen)
        slots = model.cells.append(
            np.full(len(x), ENDOTHELIAL, dtype=np.int8), x.astype(np.int32),
            y.astype(np.int32), PRECURSOR,
        )
        model.cells[INLET][slots] = labels[x, y]

    def step(self, model: MarrowModel) -> None:
        """Regress sprouts, then select tips."""
        self._regress(model)
        table, fields, rng = model.cells, model.fields, model.rng
        lining = np.flatnonzero(endothelium(table))
        if lining.size == 0:
            return
        order = rng.permutation(lining)
        u = rng.random(table.n_slots)
        table.reserve(len(lining))
        col = table.full
        n = table.n_slots
        mother_slot = np.full(table.capacity, -1, dtype=np.int64)
        table.n_slots, self.next_sprout = kernels.select_tips(
            order, u, ENDOTHELIAL, col("alive"), col("cell_type"), col("x"), col("y"),
            col("age_h"), col("cell_id"), mother_slot, col(SPROUT), col(PARENT_SPROUT),
            col(INLET), col(TIP), table.occupant, fields.tissue, fields["vegf"], self.signalling,
            self.vegf_threshold, self.gradient_threshold_per_voxel, self.selection_probability,
            self.spacing_voxels, self.next_sprout, self.avoid_bone_surface, self.periodic, n,
        )
        record_mothers(table, n, mother_slot)
        self.tips_selected_total += table.n_slots - n

    def _regress(self, model: MarrowModel) -> None:
        """Each grown sprout regresses whole with probability 1 − exp(−r·K_s/(K_s + V̄)·Δt);
        its voxels return to marrow."""
        table, fields = model.cells, model.fields
        grown = np.flatnonzero(grown_endothelium(table))
        if grown.size == 0:
            return
        sprouts, member_of = np.unique(table[SPROUT][grown], return_inverse=True)
        x, y = table["x"][grown], table["y"][grown]
        sensed = self.signalling * fields["vegf"][x, y]
        mean_vegf = np.bincount(member_of, weights=sensed) / np.bincount(member_of)
        rate = self.regression_per_h * self.survival_half_saturation / (
            self.survival_half_saturation + mean_vegf
        )
        regresses = model.rng.random(len(sprouts)) < -np.expm1(-rate * model.step_h)
        if not regresses.any():
            return
        dying = regresses[member_of]
        table["alive"][grown[dying]] = False
        table.occupant[x[dying], y[dying]] = -1
        lumen = fields[VESSEL_LAYER]
        if lumen[x[dying], y[dying]].any():  # blind sprouts leave the tissue map as it is
            lumen[x[dying], y[dying]] = 0.0
            fields.update_tissue()
        self.sprouts_regressed_total += int(regresses.sum())

    def readouts(self) -> dict[str, int]:
        """Cumulative tip selections and sprout regressions."""
        return {
            "tips_selected_total": self.tips_selected_total,
            "sprouts_regressed_total": self.sprouts_regressed_total,
        }

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The sprout counter and cumulative counts (checkpointed)."""
        return {
            "counters": np.array(
                [self.next_sprout, self.tips_selected_total, self.sprouts_regressed_total]
            )
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the sprout counter and cumulative counts."""
        self.next_sprout, self.tips_selected_total, self.sprouts_regressed_total = (
            int(v) for v in arrays["counters"]
        )


class SproutGrowth:
    """Endothelial actions: the tip walk with anastomosis, then perfusion of grown vessels.

    Attributes:
        tip_moves_total: cumulative voxels advanced by tips (each leaves a stalk cell).
        tip_hours_total: cumulative hours spent by tips (moving or not).
        anastomoses_total: cumulative tip fusions with another vessel.
    """

    name = "sprout_growth"

    def __init__(self, model: MarrowModel):
        rules = model.config.angiogenesis
        voxel_um = model.config.domain.voxel_um
        self.signalling = rules.vegfr2_signalling_fraction
        self.hop_per_direction = units.hop_probability(
            rules.tip_random_motility_um2_per_h, model.step_h, voxel_um
        ) / 4.0
        self.chemotaxis_per_h = (
            rules.tip_chemotactic_sensitivity_um2_per_h_per_pg_per_mL / voxel_um**2
        )
        self.chemotaxis_saturation = rules.chemotaxis_vegf_saturation_pg_per_mL
        self.max_gradient_per_voxel = rules.max_sensed_vegf_gradient_pg_per_mL_per_um * voxel_um
        self.avoid_bone_surface = rules.tips_avoid_bone_surface
        self.periodic = model.config.domain.boundary == "periodic"
        self.tip_moves_total = 0
        self.tip_hours_total = 0.0
        self.anastomoses_total = 0

    def step(self, model: MarrowModel) -> None:
        """Move the tips, then make grown vessels lumen exactly where they carry flow."""
        table, fields, rng = model.cells, model.fields, model.rng
        tips = np.flatnonzero(endothelium(table) & table[TIP])
        if tips.size:
            table.reserve(len(tips))
            col = table.full
            n = table.n_slots
            mother_slot = np.full(table.capacity, -1, dtype=np.int64)
            table.n_slots, moved, fused = kernels.move_tips(
                rng.permutation(tips), rng.random(n), ENDOTHELIAL, col("alive"),
                col("cell_type"), col("x"), col("y"), col("age_h"), col("cell_id"), mother_slot,
                col(SPROUT), col(PARENT_SPROUT), col(INLET), col(TIP), table.occupant,
                fields.tissue, fields["vegf"], self.signalling, self.hop_per_direction,
                self.chemotaxis_per_h, self.chemotaxis_saturation, self.max_gradient_per_voxel,
                model.step_h, self.avoid_bone_surface, self.periodic, n,
            )
            record_mothers(table, n, mother_slot)
            self.tip_moves_total += moved
            self.tip_hours_total += len(tips) * model.step_h
            self.anastomoses_total += fused
        self._perfuse(model)

    def _perfuse(self, model: MarrowModel) -> None:
        """Set the lumen layer of grown ECs to 1 where they carry flow and 0 where they do
        not, and reclassify the tissue if anything changed."""
        table, fields = model.cells, model.fields
        grown = np.flatnonzero(grown_endothelium(table))
        if grown.size == 0:
            return
        perfused = np.zeros(table.n_slots, dtype=bool)
        kernels.perfused_sprout_cells(
            ENDOTHELIAL, table["alive"], table["cell_type"], table["x"], table["y"],
            table[SPROUT], table[INLET], table.occupant, self.periodic, table.n_slots, perfused,
        )
        x, y = table["x"][grown], table["y"][grown]
        lumen = fields[VESSEL_LAYER]
        wanted = perfused[grown].astype(np.float64)
        changed = lumen[x, y] != wanted
        if changed.any():
            lumen[x[changed], y[changed]] = wanted[changed]
            fields.update_tissue()

    def readouts(self) -> dict[str, float]:
        """Cumulative tip advance (voxels), tip-hours and anastomoses."""
        return {
            "tip_moves_total": self.tip_moves_total,
            "tip_hours_total": self.tip_hours_total,
            "anastomoses_total": self.anastomoses_total,
        }

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Cumulative counts (checkpointed)."""
        return {
            "totals": np.array(
                [self.tip_moves_total, self.tip_hours_total, self.anastomoses_total],
                dtype=np.float64,
            )
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the cumulative counts."""
        moves, hours, fused = arrays["totals"]
        self.tip_moves_total, self.tip_hours_total, self.anastomoses_total = (
            int(moves), float(hours), int(fused)
        )

