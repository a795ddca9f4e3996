"""Transport phase: diffusion, decay, secretion, uptake and consumption of every species, then
the OPG–RANKL binding equilibrium.

Per species (concentration c in its unit; rates per second), on the lattice:

    ∂c/∂t = ∇·(D_tissue ∇c) − λ·c − u·c − m·c/(c + K) + s + P + k_v·(c_blood − c)·[lumen]

- D_tissue: ``diffusion_um2_per_s`` × the voxel's tissue multiplier (marrow, mineralized bone,
  vessel lumen); λ = ln 2 / ``half_life_h``.
- Cells (from the cell table, one numba pass): secretion s, first-order uptake u and maximal
  consumption m of the cell's type, per-cell amounts spread over the voxel volume. Secretion
  is × (1 + a_H·HIF) with the type's ``hif_secretion_gain`` a_H and the cell's HIF-1α activity
  (:mod:`abm.processes.hypoxia`), and × the cell's fold change of the species' secretion from
  its response rules (:mod:`abm.processes.responses`). Osteoblasts
  and osteoclasts secrete only in their active stage (:data:`SECRETING_STAGES`); every stage
  consumes and takes up.
- Amounts released by other processes since the last step (TGF-β from resorbed matrix,
  :attr:`abm.fields.stack.FieldStack.released`) are added as a source spread over the step.
- Treatments (:mod:`abm.interventions`, ``model.treatment``) add an antibody's binding of the
  free species to λ and multiply a cell type's secretion by a drug's fold.
- Marrow voxels without an agent consume ``background_consumption_per_h`` (the marrow cell that
  is not modelled as an agent); all consumption is Michaelis–Menten with ``half_saturation`` K
  (zero-order when K = 0), linearized by Newton's method until the update is below
  :data:`CONSUMPTION_TOLERANCE` of the field's maximum.
- Vessel-lumen voxels exchange with blood at ``vessel_exchange_rate_per_s`` k_v.
- Every voxel gains ``external_production_per_h`` P (a source outside the model, e.g. Pivonka's
  external RANKL).

``solver.mode: implicit`` takes ``substeps`` backward-Euler steps over the model step;
``quasi_steady`` jumps to the steady state of this step's sources (oxygen: seconds). Every solve
is multigrid-preconditioned CG (:mod:`abm.fields.solver`) warm-started from the current field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from abm.cells.table import ACTIVE, CELL_TYPE_CODE, STAGES
from abm.fields import binding
from abm.fields.solver import EdgeConditions, FieldSolver, SolveReport, SolverWorkspace
from abm.fields.sources import deposit_cell_rates, linearized_consumption
from abm.fields.stack import MARROW, VESSEL_LUMEN
from abm.processes.hypoxia import HIF_COLUMN
from abm.processes.responses import fold
from abm.scenario import units
from abm.scenario.schema import FREE_RANKL_LAYER, Boundary, FieldSpecies, Scenario

if TYPE_CHECKING:
    from abm.model import MarrowModel

CONSUMPTION_TOLERANCE = 1e-6
"""Newton iterations on Michaelis–Menten consumption stop when max |Δc| ≤ this × max c."""

MAX_NEWTON_ITERATIONS = 50

SECRETION, UPTAKE, CONSUMPTION = range(3)
"""Terms of a species' per-cell rate table."""

SECRETING_STAGES: dict[str, tuple[int, ...]] = {
    "osteoblast": (ACTIVE,),
    "osteoclast": (ACTIVE,),
}
"""Lineage stages that secrete (Pivonka: OPG from active osteoblasts); other cell types secrete
in every stage."""


def edge_conditions(boundary: Boundary) -> EdgeConditions:
    """The solver's edge conditions from a scenario ``boundary`` section."""

    return EdgeConditions(
        *(edge.value if edge.kind == "fixed" else edge.kind for edge in boundary.edges())
    )


@dataclass
class SpeciesTransport:
    """One species' coefficients in solver units (per second, concentration per voxel)."""

    name: str
    solver: FieldSolver
    theta: float
    substeps: int
    diffusion_by_tissue: np.ndarray
    decay_per_s: float
    exchange_per_s: float
    blood_value: float
    background_consumption_per_s: float
    production_per_s: float
    """External production in every voxel, unit/s."""
    half_saturation: float
    rates: np.ndarray
    """``float64[n_types, n_stages, 3]``: secretion (unit/s), uptake (1/s), consumption
    (unit/s) of a cell by type and lineage stage."""
    hif_gain: np.ndarray
    """``float64[n_types, 3]``: each term is × (1 + gain × the cell's HIF-1α activity); only
    secretion has gains (``cells.<type>.hif_secretion_gain``)."""

    @classmethod
    def from_scenario(
        cls, name: str, spec: FieldSpecies, scenario: Scenario,
        workspace: SolverWorkspace | None = None,
    ) -> SpeciesTransport:
        """One species' coefficients; its solver uses ``workspace`` for scratch (shared by every
        species of a model; default: its own)."""
        domain, step_s = scenario.domain, scenario.time.step_h * units.SECONDS_PER_HOUR
        quasi_steady = spec.solver.mode == "quasi_steady"
        substeps = 1 if quasi_steady else spec.solver.substeps
        per_amount = units.cell_amount_to_concentration(
            spec.unit, domain.voxel_volume_um3, spec.solubility_uM_per_mmHg
        )
        rates = np.zeros((len(scenario.cells.items()), len(STAGES), 3))
        hif_gain = np.zeros((len(scenario.cells.items()), 3))
        for cell_name, cell in scenario.cells.items():
            code = CELL_TYPE_CODE[cell_name]
            stages = list(SECRETING_STAGES.get(cell_name, range(len(STAGES))))
            rates[code, stages, SECRETION] = cell.secretion_per_h.get(name, 0.0) * per_amount
            rates[code, :, UPTAKE] = cell.uptake_rate_per_h.get(name, 0.0)
            rates[code, :, CONSUMPTION] = cell.consumption_per_h.get(name, 0.0) * per_amount
            hif_gain[code, SECRETION] = cell.hif_secretion_gain.get(name, 0.0)
        rates /= units.SECONDS_PER_HOUR
        return cls(
            name=name,
            solver=FieldSolver(
                domain.shape, domain.voxel_um, step_s / substeps, edge_conditions(spec.boundary),
                relative_tolerance=spec.solver.relative_tolerance, workspace=workspace,
            ),
            theta=0.0 if quasi_steady else 1.0,
            substeps=substeps,
            diffusion_by_tissue=spec.diffusion_um2_per_s
            * np.array(spec.diffusion_multiplier.values()),
            decay_per_s=spec.decay_rate_per_h / units.SECONDS_PER_HOUR,
            exchange_per_s=spec.vessel_exchange_rate_per_s,
            blood_value=spec.blood_value,
            background_consumption_per_s=spec.background_consumption_per_h
            * per_amount / units.SECONDS_PER_HOUR,
            production_per_s=spec.external_production_per_h / units.SECONDS_PER_HOUR,
            half_saturation=spec.half_saturation,
            rates=rates,
            hif_gain=hif_gain,
        )

    @property
    def consumes(self) -> bool:
        """Whether anything consumes this species (then Newton iterations are needed)."""
        return self.background_consumption_per_s > 0.0 or bool(self.rates[..., CONSUMPTION].any())


class Transport:
    """Advance every field over one model step (transport phase), then update free RANKL.

    Attributes:
        species: per-species coefficients and solvers, in field-stack order.
        last_reports: the last solve of each species (CG iterations, relative residual).
        last_newton_iterations: Newton iterations of each consuming species in the last step.
        lumen: vessel-lumen mask of the last step (where species exchange with blood).
    """

    name = "transport"

    def __init__(self, model: MarrowModel):
        scenario = model.config
        workspace = SolverWorkspace(scenario.domain.shape)  # species are solved one by one
        self.species = [
            SpeciesTransport.from_scenario(name, spec, scenario, workspace)
            for name, spec in scenario.fields.items()
        ]
        self.opg_rankl_kd_pM = scenario.binding.opg_rankl_dissociation_constant_pM
        self.step_s = scenario.time.step_h * units.SECONDS_PER_HOUR
        self._terms = np.zeros((3, *scenario.domain.shape))
        self._tissue_version = -1
        self.lumen = np.zeros(scenario.domain.shape, dtype=bool)
        self._no_hif = np.zeros(0)
        self.last_reports: dict[str, SolveReport] = {}
        self.last_newton_iterations: dict[str, int] = {}

    def step(self, model: MarrowModel) -> None:
        """Solve every species with the cells where they are now, then bind OPG and RANKL."""
        fields, table = model.fields, model.cells
        if fields.tissue_version != self._tissue_version:
            for sp in self.species:
                sp.solver.set_diffusivity(sp.diffusion_by_tissue[fields.tissue])
            self.lumen[...] = fields.tissue == VESSEL_LUMEN
            self._tissue_version = fields.tissue_version
        agentless_marrow = None  # built on first need: only consumed species use it
        for sp in self.species:
            terms = self._terms
            terms[...] = 0.0
            hif = table[HIF_COLUMN] if sp.hif_gain.any() else self._no_hif
            rates = sp.rates
            treated = model.treatment.secretion_fold.get(sp.name)
            if treated is not None:
                rates = rates.copy()
                rates[:, :, SECRETION] *= treated[:, None]
            deposit_cell_rates(
                table["alive"], table["cell_type"], table["stage"], table["x"], table["y"],
                table.n_slots, rates, hif, sp.hif_gain, fold(table, f"{sp.name}_secretion"),
                terms,
            )
            source, loss, consumption = terms[SECRETION], terms[UPTAKE], terms[CONSUMPTION]
            released = fields.released.get(sp.name)
            if released is not None:
                source += released / self.step_s
                released[...] = 0.0
            # Uniform terms only where non-zero: adding 0.0 would change no value.
            sink_per_h = model.treatment.marrow_sink_per_h.get(sp.name, 0.0)
            for array, uniform in (
                (loss, sp.decay_per_s), (loss, sink_per_h / units.SECONDS_PER_HOUR),
                (source, sp.production_per_s),
            ):
                if uniform != 0.0:
                    array += uniform
            if sp.exchange_per_s > 0.0:
                loss += sp.exchange_per_s * self.lumen
                source += sp.exchange_per_s * sp.blood_value * self.lumen
            if sp.background_consumption_per_s > 0.0:
                if agentless_marrow is None:
                    agentless_marrow = (fields.tissue == MARROW) & (table.occupant < 0)
                consumption += sp.background_consumption_per_s * agentless_marrow
            self._advance(sp, fields[sp.name], loss, source, consumption if sp.consumes else None)
        binding.free_rankl(
            fields["opg"], fields["rankl"], self.opg_rankl_kd_pM, fields[FREE_RANKL_LAYER]
        )

    def _advance(self, sp: SpeciesTransport, c: np.ndarray, loss, source, consumption) -> None:
        """``substeps`` solves of one species, with Newton iterations when it is consumed."""
        newton = 0
        for _ in range(sp.substeps):
            if consumption is None:
                self.last_reports[sp.name] = sp.solver.solve(c, loss, source, sp.theta)
                continue
            old = c.copy()
            for _ in range(MAX_NEWTON_ITERATIONS):
                newton += 1
                extra_loss, sink = linearized_consumption(consumption, sp.half_saturation, c)
                before = c.copy()
                self.last_reports[sp.name] = sp.solver.solve(
                    c, loss + extra_loss, source - sink, sp.theta, old=old
                )
                if np.abs(c - before).max() <= CONSUMPTION_TOLERANCE * max(c.max(), 1e-300):
                    break
            else:
                raise RuntimeError(
                    f"{sp.name}: consumption did not converge in {MAX_NEWTON_ITERATIONS} Newton"
                    " iterations"
                )
        self.last_newton_iterations[sp.name] = newton
