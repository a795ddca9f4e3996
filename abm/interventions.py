"""Treatments over time: drugs with one-compartment pharmacokinetics and Emax effects on the
mechanism each acts on, and fractionated radiation (REFERENCE 2.9; docs/interventions.md).

Every dose is a Mesa event (``model.schedule_event``) at the end of the step it falls on, so it
acts from the next step on. A drug's amount A (mg) in its central compartment of volume V (L)
gains each dose and is eliminated at k = ln 2/t½ between doses; its plasma concentration is
C_p = A/V and its marrow concentration C_m = r·C_p (``marrow_to_plasma_ratio``). Each step uses
the mean concentrations over the step, C̄ = C(t)·(1 − e^(−kΔt))/(kΔt), exact for the linear
PK. The mechanisms (:mod:`abm.scenario.schema`):

- ``neutralizes``: an antibody binds its free ligand, an extra first-order loss k_on·C_Ab of
  the ligand in marrow (C_Ab = C̄_m in nM) and in its plasma pool (C̄_p);
- ``inhibits_secretion`` / ``inhibits_division``: the cell type's rate × (1 − E(C̄_m));
- ``kills``: an extra death rate E(C̄_m) of the cell type (of some lineage stages).

with E(C) = E_max·Cⁿ/(Cⁿ + EC50ⁿ). Radiation kills each cell in its field at a fraction with
probability 1 − exp(−αD − βD²) of the cell's type. The effects are collected each step in
:class:`TreatmentEffects` (``model.treatment``), which transport, the systemic compartment and
cell turnover read; without interventions every effect is neutral and nothing draws random
numbers, so a treated run equals an untreated one up to its first dose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from mesa.time import Event, Priority

from abm.cells import kernels
from abm.cells.table import CELL_TYPE_CODE, STAGES
from abm.scenario import units
from abm.scenario.schema import (
    CELL_TYPES,
    Cytotoxicity,
    DivisionInhibition,
    Drug,
    EmaxResponse,
    Neutralization,
    Radiation,
    Scenario,
    SecretionInhibition,
)

if TYPE_CHECKING:
    from abm.model import MarrowModel

NM_PER_MG_PER_L_PER_KDA = 1e3
"""1 mg/L of a protein of M kDa is 1000/M nM."""


def emax(response: EmaxResponse, maximum: float, concentration_mg_per_L: float) -> float:
    """E(C) = E_max·Cⁿ/(Cⁿ + EC50ⁿ)."""
    if concentration_mg_per_L <= 0.0:
        return 0.0
    x = (concentration_mg_per_L / response.ec50_mg_per_L) ** response.hill_power
    return maximum * x / (1.0 + x)


def step_mean_fraction(elimination_per_h: float, step_h: float) -> float:
    """Mean over a step of e^(−kt), t in [0, Δt]: (1 − e^(−kΔt))/(kΔt)."""
    x = elimination_per_h * step_h
    return -math.expm1(-x) / x


def linear_quadratic_kill(alpha_per_Gy: float, beta_per_Gy2: float, dose_Gy: float) -> float:
    """Probability that one fraction of ``dose_Gy`` kills a cell: 1 − exp(−αD − βD²)."""
    return -math.expm1(-(alpha_per_Gy * dose_Gy + beta_per_Gy2 * dose_Gy**2))


@dataclass
class TreatmentEffects:
    """What the interventions do to the model's rates during the current step.

    Attributes:
        marrow_sink_per_h: extra first-order loss of a free species in the marrow, 1/h.
        plasma_sink_per_h: extra first-order loss of a species' plasma pool, 1/h.
        secretion_fold: by species, the fold of each cell type's secretion (``float64[types]``).
        division_fold: fold of each cell type's division rate.
        death_rate_per_h: extra death rate by cell type and lineage stage, 1/h.
    """

    marrow_sink_per_h: dict[str, float] = field(default_factory=dict)
    plasma_sink_per_h: dict[str, float] = field(default_factory=dict)
    secretion_fold: dict[str, np.ndarray] = field(default_factory=dict)
    division_fold: np.ndarray = field(default_factory=lambda: np.ones(len(CELL_TYPES)))
    death_rate_per_h: np.ndarray = field(
        default_factory=lambda: np.zeros((len(CELL_TYPES), len(STAGES)))
    )

    def reset(self) -> None:
        """Make every effect neutral."""
        self.marrow_sink_per_h.clear()
        self.plasma_sink_per_h.clear()
        self.secretion_fold.clear()
        self.division_fold[:] = 1.0
        self.death_rate_per_h[:] = 0.0


@dataclass
class DrugCourse:
    """One drug of the scenario and its amount in the body."""

    name: str
    spec: Drug
    amount_mg: float = 0.0

    @property
    def elimination_per_h(self) -> float:
        """k = ln 2/t½, 1/h."""
        return units.half_life_to_rate(self.spec.pharmacokinetics.half_life_h)

    @property
    def plasma_mg_per_L(self) -> float:
        """Plasma concentration now, mg/L."""
        return self.amount_mg / self.spec.pharmacokinetics.volume_L

    def give(self, dose_mg: float) -> None:
        """A bolus dose into the central compartment."""
        self.amount_mg += dose_mg

    def act(self, effects: TreatmentEffects, step_h: float) -> None:
        """Add this drug's effects over the coming step (at its step-mean concentrations) to
        ``effects``, then eliminate it over the step."""
        if self.amount_mg <= 0.0:
            return
        decay = self.elimination_per_h
        plasma = self.plasma_mg_per_L * step_mean_fraction(decay, step_h)
        marrow = plasma * self.spec.pharmacokinetics.marrow_to_plasma_ratio
        for effect in self.spec.effects:
            if isinstance(effect, Neutralization):
                per_nM = effect.association_rate_per_nM_per_h * NM_PER_MG_PER_L_PER_KDA / (
                    effect.molecular_weight_kDa
                )
                for sink, level in ((effects.marrow_sink_per_h, marrow),
                                    (effects.plasma_sink_per_h, plasma)):
                    sink[effect.species] = sink.get(effect.species, 0.0) + per_nM * level
            elif isinstance(effect, SecretionInhibition):
                code = CELL_TYPE_CODE[effect.cell_type]
                remaining = 1.0 - emax(effect, effect.max_inhibition, marrow)
                for species in effect.species:
                    fold = effects.secretion_fold.setdefault(species, np.ones(len(CELL_TYPES)))
                    fold[code] *= remaining
            elif isinstance(effect, DivisionInhibition):
                code = CELL_TYPE_CODE[effect.cell_type]
                effects.division_fold[code] *= 1.0 - emax(effect, effect.max_inhibition, marrow)
            elif isinstance(effect, Cytotoxicity):
                code = CELL_TYPE_CODE[effect.cell_type]
                stages = [STAGES.index(s) for s in effect.stages or STAGES]
                effects.death_rate_per_h[code, stages] += emax(
                    effect, effect.max_death_rate_per_h, marrow
                )
        self.amount_mg *= math.exp(-decay * step_h)


@dataclass
class RadiationCourse:
    """One radiation course: its field and the dose delivered so far."""

    name: str
    spec: Radiation
    in_field: np.ndarray
    """``bool[nx, ny]``: voxels inside the irradiated field."""
    delivered_Gy: float = 0.0

    def kill_probability(self) -> np.ndarray:
        """Probability that one fraction kills a cell, by cell type and stage."""
        dose = self.spec.schedule.dose_Gy
        probability = np.zeros((len(CELL_TYPES), len(STAGES)))
        for name, lq in self.spec.radiosensitivity.items():
            probability[CELL_TYPE_CODE[name], :] = linear_quadratic_kill(
                lq.alpha_per_Gy, lq.beta_per_Gy2, dose
            )
        return probability


@dataclass
class _Dose:
    """A scheduled dose: the Mesa event calls :meth:`give` (a bound method, held here, since
    Mesa keeps only a weak reference to the callback)."""

    interventions: Interventions
    model: MarrowModel
    course: DrugCourse | RadiationCourse
    step: int

    def give(self) -> None:
        """Give this dose now (between step ``step`` and the next)."""
        self.interventions.give(self.model, self.course)


def field_mask(spec: Radiation, scenario: Scenario) -> np.ndarray:
    """Voxels whose centres lie in the radiation field (the whole section without one)."""
    domain = scenario.domain
    if spec.field is None:
        return np.ones(domain.shape, dtype=bool)
    centres = (np.arange(max(domain.shape)) + 0.5) * domain.voxel_um
    x, y = centres[: domain.shape[0]], centres[: domain.shape[1]]
    (x0, x1), (y0, y1) = spec.field.x_um, spec.field.y_um
    return ((x >= x0) & (x < x1))[:, None] & ((y >= y0) & (y < y1))[None, :]


class Interventions:
    """Dose events, drug pharmacokinetics and the effects of this step (first process of the
    transport phase).

    Attributes:
        effects: this step's :class:`TreatmentEffects` (also ``model.treatment``).
        drugs, radiation: the scenario's courses, in scenario order.
        killed_total: cells killed by drugs and radiation so far.
        doses_given: how many of the scenario's doses (in time order) have been given.
    """

    name = "interventions"

    def __init__(self, model: MarrowModel):
        scenario = model.config
        self.effects = TreatmentEffects()
        self.drugs = [
            DrugCourse(name, spec) for name, spec in scenario.interventions.items()
            if isinstance(spec, Drug)
        ]
        self.radiation = [
            RadiationCourse(name, spec, field_mask(spec, scenario))
            for name, spec in scenario.interventions.items() if isinstance(spec, Radiation)
        ]
        self.killed_total = 0
        self.doses_given = 0
        self._doses = self._dose_list(model)
        self._events: list[Event] = []
        self.schedule(model)

    def _dose_list(self, model: MarrowModel) -> list[_Dose]:
        """Every dose of every course, in time order (ties in scenario order)."""
        time = model.config.time
        start_h = model.config.interventions_start_d * units.HOURS_PER_DAY
        doses = [
            _Dose(self, model, course, time.steps(start_h + day * units.HOURS_PER_DAY))
            for course in (*self.drugs, *self.radiation)
            for day in course.spec.schedule.dose_days()
        ]
        return sorted(doses, key=lambda dose: dose.step)

    def schedule(self, model: MarrowModel) -> None:
        """(Re)schedule the doses not yet given as Mesa events after the step they fall on;
        called at construction and after a checkpoint is loaded (a checkpoint taken during a
        dose's step, before the dose, leaves that dose to give)."""
        for event in self._events:
            event.cancel()
        self._events = [
            model.schedule_event(dose.give, at=float(dose.step), priority=Priority.LOW)
            for dose in self._doses[self.doses_given:]
        ]

    def give(self, model: MarrowModel, course: DrugCourse | RadiationCourse) -> None:
        """Give one dose of ``course`` now."""
        self.doses_given += 1
        if isinstance(course, DrugCourse):
            course.give(course.spec.schedule.dose_mg)
            return
        course.delivered_Gy += course.spec.schedule.dose_Gy
        self.kill(model, course.kill_probability(), course.in_field)
        model.sync_agents()

    def kill(self, model: MarrowModel, probability: np.ndarray, in_field: np.ndarray) -> None:
        """Kill each living cell in ``in_field`` with ``probability[type, stage]``."""
        table = model.cells
        n = table.n_slots
        self.killed_total += kernels.kill_cells(
            model.rng.random(n), probability, in_field, table["alive"], table["cell_type"],
            table["stage"], table["x"], table["y"], table.occupant, n,
        )

    def step(self, model: MarrowModel) -> None:
        """Collect the drugs' effects over this step and eliminate the drugs over it."""
        self.effects.reset()
        for drug in self.drugs:
            drug.act(self.effects, model.step_h)

    def readouts(self) -> dict[str, float]:
        """Drug plasma levels (mg/L), radiation delivered (Gy) and cells killed."""
        row: dict[str, float] = {f"{d.name}_plasma_mg_per_L": d.plasma_mg_per_L for d in self.drugs}
        row.update({f"{r.name}_delivered_Gy": r.delivered_Gy for r in self.radiation})
        if self.drugs or self.radiation:
            row["cells_killed_by_treatment_total"] = self.killed_total
        return row

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Drug amounts, radiation delivered, the kill count and the doses given
        (checkpointed)."""
        return {
            "drug_amount_mg": np.array([d.amount_mg for d in self.drugs]),
            "radiation_delivered_Gy": np.array([r.delivered_Gy for r in self.radiation]),
            "killed_total": np.array(self.killed_total),
            "doses_given": np.array(self.doses_given),
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_arrays` output; without any (a branch point taken from an
        untreated run) every course is as yet ungiven."""
        if not arrays:
            return
        for drug, amount in zip(self.drugs, arrays["drug_amount_mg"], strict=True):
            drug.amount_mg = float(amount)
        for course, dose in zip(self.radiation, arrays["radiation_delivered_Gy"], strict=True):
            course.delivered_Gy = float(dose)
        self.killed_total = int(arrays["killed_total"])
        self.doses_given = int(arrays["doses_given"])


class TreatmentDeaths:
    """Deaths from cytotoxic drugs at this step's extra death rates (decisions phase); draws
    random numbers only while a drug kills."""

    name = "treatment_deaths"

    def __init__(self, interventions: Interventions, shape: tuple[int, int]):
        self.interventions = interventions
        self.everywhere = np.ones(shape, dtype=bool)

    def step(self, model: MarrowModel) -> None:
        """Kill each living cell with probability 1 − exp(−h·Δt), h its extra death rate."""
        rate = self.interventions.effects.death_rate_per_h
        if rate.any():
            self.interventions.kill(model, -np.expm1(-rate * model.step_h), self.everywhere)
