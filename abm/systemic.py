"""The systemic compartment: what a patient's blood tests would show (docs/systemic.md).

A small ODE layer advanced once per step, right after transport (``systemic`` in the transport
phase). The section stands for the whole red marrow (``systemic.marrow_volume_mL``): its net
release of a cytokine into its vessels, scaled by whole-marrow volume / section marrow volume,
feeds a well-mixed plasma pool of volume V_p with first-order clearance k = ln 2 / t½; the rest
of the body keeps the pool at ``extramarrow_plasma_level`` C_x on its own:

    V_p · dC/dt = scale · J − k · V_p · (C − C_x) − k_b · V_p · C,
    J = Σ_lumen k_v · (c − C) · V_voxel

(J in amount per hour; c the tissue concentration in the section's lumen voxels after the
transport step; k_b the binding of a neutralizing antibody in plasma, ``model.treatment``,
0 without one). The plasma level is the blood value that transport exchanges with at the next
step. At steady state C* = C_x + scale·J/(k·V_p): linear in the marrow's release (C* = s·N/k of
REFERENCE §3 target 3) and inverse in the clearance.

From the plasma pools:

- serum VEGF = plasma VEGF × (1 + (r − 1) · P/P_ref): platelets release their VEGF on clotting,
  r the healthy serum/plasma ratio at the reference count P_ref;
- CRP: dCRP/dt = S · IL6/(IL6 + K) − (ln 2/19 h) · CRP (REFERENCE 2.6 rule 6);
- platelets: dP/dt = p0 · T^γ − P/τ, T = 1 + (F − 1) · IL6/(IL6 + K_T) the thrombopoietin fold
  (REFERENCE 1.5 Kaser 2001, Wolber & Jelkmann 2000), p0 such that P = P_ref at IL6 = C_x;
- capillary leak index: the whole-body capillary filtration relative to the extramarrow plasma
  VEGF, Lp(C)/Lp(C_x) with the wall rule of ``permeability`` (REFERENCE 2.8, Bates 1996/1998):
  1 + (F − 1) · C/(C + K_V) over the same at C_x, at unchanged Starling pressures;
- the nerve (``systemic.nerve``): endoneurial capillaries filter Lp(C)·[(Pc − P_e) − σ(πc − πi)]
  into an endoneurium drained at G·(P_e − P0), so its fluid pressure settles at
  P_e = (ℓ·(Pc − σ(πc − πi)) + g·P0)/(ℓ + g), ℓ = Lp(C)/Lp0, g = G/Lp0. Above its healthy value
  (at C_x) the extra pressure ΔP swells the endoneurium, oedema index 1 + c_t·ΔP, which spreads
  the capillaries: the oxygen diffusion distance grows as √(oedema index) in the nerve's cross
  section (Fick: the same consumption over a longer path); and it narrows the capillaries,
  r/r_h = 1 − c_c·ΔP, so their flow at unchanged driving pressure is (r/r_h)⁴ (Poiseuille).
  The balance is taken at steady state each step.

Every update is the exact solution of its linear ODE over the step at this step's inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from abm.fields.stack import MINERALIZED_BONE
from abm.scenario import units

if TYPE_CHECKING:
    from abm.model import MarrowModel
    from abm.processes.transport import SpeciesTransport, Transport


def hill(concentration: float, half_max: float) -> float:
    """c/(c + K), 0 for c ≤ 0."""
    return concentration / (concentration + half_max) if concentration > 0.0 else 0.0


def relax(value: float, steady: float, rate_per_h: float, step_h: float) -> float:
    """Exact step of dv/dt = rate · (steady − v) over ``step_h`` hours."""
    return steady + (value - steady) * math.exp(-rate_per_h * step_h)


@dataclass
class PlasmaPool:
    """One cytokine's plasma pool and the transport species it exchanges with."""

    species: SpeciesTransport
    clearance_per_h: float
    extramarrow_level: float
    level: float
    release_per_h: float = 0.0
    """The section's net release into its vessels at the last step, amount per hour."""


class SystemicCompartment:
    """Plasma cytokines, serum VEGF, CRP, platelets, the capillary leak index and the nerve.

    Attributes:
        pools: plasma pool by species (``vegf``, ``il6``, ``il1b``).
        crp_mg_per_L, platelets_per_nL: current values.
    """

    name = "systemic"

    def __init__(self, model: MarrowModel, transport: Transport):
        config = model.config.systemic
        self.transport = transport
        self.step_h = model.step_h
        self.plasma_volume_mL = config.plasma_volume_mL
        self.marrow_volume_mL = config.marrow_volume_mL
        self.voxel_mL = model.config.domain.voxel_volume_um3 * units.ML_PER_UM3
        by_name = {sp.name: sp for sp in transport.species}
        self.pools = {
            name: PlasmaPool(
                species=by_name[name],
                clearance_per_h=units.half_life_to_rate(
                    spec.clearance_half_life_min / units.MINUTES_PER_HOUR
                ),
                extramarrow_level=spec.extramarrow_plasma_level,
                level=by_name[name].blood_value,
            )
            for name, spec in config.plasma.items()
        }
        self.serum_ratio = config.healthy_serum_to_plasma_vegf_ratio
        crp = config.crp
        self.crp_clearance_per_h = units.half_life_to_rate(crp.half_life_h)
        self.crp_max_synthesis = crp.max_synthesis_mg_per_L_per_h
        self.crp_il6_half_max = crp.il6_half_max_pg_per_mL
        platelets = config.platelets
        self.platelet_reference = platelets.reference_count_per_nL
        self.platelet_turnover_per_h = 1.0 / (platelets.lifespan_d * units.HOURS_PER_DAY)
        self.tpo_max_fold = platelets.tpo_il6_max_fold
        self.tpo_half_max = platelets.tpo_il6_half_max_pg_per_mL
        self.tpo_exponent = platelets.production_tpo_exponent
        self._tpo_reference = self.tpo_fold(self.pools["il6"].extramarrow_level)
        permeability = model.config.permeability
        self.leak_max_fold = permeability.vegf_max_conductivity_fold
        self.leak_half_occupancy = permeability.vegfr2_half_occupancy_pg_per_mL
        nerve = config.nerve
        self.capillary_drive_mmHg = permeability.capillary_pressure_mmHg - (
            permeability.reflection_coefficient
            * (permeability.plasma_oncotic_pressure_mmHg
               - permeability.interstitial_oncotic_pressure_mmHg)
        )
        self.nerve_drainage_ratio = nerve.drainage_to_filtration_conductance_ratio
        self.nerve_drainage_pressure = nerve.drainage_pressure_mmHg
        self.nerve_capillary_compliance = nerve.capillary_compliance_per_mmHg
        self.nerve_tissue_compliance = nerve.tissue_compliance_per_mmHg
        self.healthy_endoneurial_pressure = self.endoneurial_pressure(
            self.pools["vegf"].extramarrow_level
        )
        il6 = self.pools["il6"].level
        self.crp_mg_per_L = self.crp_steady_state(il6)
        self.platelets_per_nL = self.platelet_steady_state(il6)

    # ------------------------------------------------------------------ rules

    def tpo_fold(self, il6_pg_per_mL: float) -> float:
        """Thrombopoietin fold T = 1 + (F − 1) · IL6/(IL6 + K_T)."""
        return 1.0 + (self.tpo_max_fold - 1.0) * hill(il6_pg_per_mL, self.tpo_half_max)

    def platelet_steady_state(self, il6_pg_per_mL: float) -> float:
        """P* = P_ref · (T(IL6)/T(C_x))^γ, 10⁹/L."""
        return self.platelet_reference * (
            self.tpo_fold(il6_pg_per_mL) / self._tpo_reference
        ) ** self.tpo_exponent

    def crp_steady_state(self, il6_pg_per_mL: float) -> float:
        """CRP* = S · IL6/(IL6 + K) / k_CRP, mg/L."""
        synthesis = self.crp_max_synthesis * hill(il6_pg_per_mL, self.crp_il6_half_max)
        return synthesis / self.crp_clearance_per_h

    def conductivity_fold(self, vegf_pg_per_mL: float) -> float:
        """Lp/Lp0 = 1 + (F − 1) · V/(V + K_V) of ``permeability``."""
        return 1.0 + (self.leak_max_fold - 1.0) * hill(vegf_pg_per_mL, self.leak_half_occupancy)

    def endoneurial_pressure(self, vegf_pg_per_mL: float) -> float:
        """Endoneurial fluid pressure P_e (mmHg) where filtration equals drainage."""
        conductance = self.conductivity_fold(vegf_pg_per_mL)
        return (
            conductance * self.capillary_drive_mmHg
            + self.nerve_drainage_ratio * self.nerve_drainage_pressure
        ) / (conductance + self.nerve_drainage_ratio)

    def nerve_readouts(self, vegf_pg_per_mL: float) -> dict[str, float]:
        """Endoneurial fluid pressure, oedema index, O2 diffusion distance and capillary flow
        (each relative to healthy) at a plasma VEGF."""
        pressure = self.endoneurial_pressure(vegf_pg_per_mL)
        excess = pressure - self.healthy_endoneurial_pressure
        oedema = max(1.0 + self.nerve_tissue_compliance * excess, 0.0)
        radius = max(1.0 - self.nerve_capillary_compliance * excess, 0.0)
        return {
            "endoneurial_fluid_pressure_mmHg": pressure,
            "endoneurial_oedema_index": oedema,
            "endoneurial_o2_diffusion_distance_fold": math.sqrt(oedema),
            "endoneurial_capillary_flow_fold": radius**4,
        }

    def section_marrow_mL(self, model: MarrowModel) -> float:
        """Volume of the section outside mineralized bone (marrow and vessels), mL."""
        bone = np.count_nonzero(model.fields.tissue == MINERALIZED_BONE)
        return (model.config.n_voxels - bone) * self.voxel_mL

    # ------------------------------------------------------------------ step

    def step(self, model: MarrowModel) -> None:
        """Advance the plasma pools from the section's release at this step's fields, then CRP
        and platelets from the new plasma IL-6; set the blood values for the next transport."""
        scale = self.marrow_volume_mL / self.section_marrow_mL(model)
        lumen = self.transport.lumen
        for pool in self.pools.values():
            sp = pool.species
            excess = np.sum(model.fields[sp.name], where=lumen) - pool.level * np.count_nonzero(
                lumen
            )
            pool.release_per_h = (
                sp.exchange_per_s * units.SECONDS_PER_HOUR * excess * self.voxel_mL
            )
            loss_per_h = pool.clearance_per_h + model.treatment.plasma_sink_per_h.get(sp.name, 0.0)
            steady = (
                pool.clearance_per_h * pool.extramarrow_level
                + scale * pool.release_per_h / self.plasma_volume_mL
            ) / loss_per_h
            pool.level = max(relax(pool.level, steady, loss_per_h, self.step_h), 0.0)
            sp.blood_value = pool.level
        il6 = self.pools["il6"].level
        self.crp_mg_per_L = relax(
            self.crp_mg_per_L, self.crp_steady_state(il6), self.crp_clearance_per_h, self.step_h
        )
        self.platelets_per_nL = relax(
            self.platelets_per_nL, self.platelet_steady_state(il6),
            self.platelet_turnover_per_h, self.step_h,
        )

    # ------------------------------------------------------------------ readouts and state

    @property
    def serum_vegf_pg_per_mL(self) -> float:
        """Plasma VEGF plus the VEGF platelets release on clotting, pg/mL."""
        platelet_share = (self.serum_ratio - 1.0) * self.platelets_per_nL / self.platelet_reference
        return self.pools["vegf"].level * (1.0 + platelet_share)

    @property
    def capillary_leak_index(self) -> float:
        """Whole-body capillary filtration relative to that at the extramarrow plasma VEGF."""
        vegf = self.pools["vegf"]
        return self.conductivity_fold(vegf.level) / self.conductivity_fold(vegf.extramarrow_level)

    def readouts(self) -> dict[str, float]:
        """The blood tests, in clinical units."""
        row = {f"plasma_{name}_pg_per_mL": pool.level for name, pool in self.pools.items()}
        row["serum_vegf_pg_per_mL"] = self.serum_vegf_pg_per_mL
        row["crp_mg_per_L"] = self.crp_mg_per_L
        row["platelets_per_nL"] = self.platelets_per_nL
        row["capillary_leak_index"] = self.capillary_leak_index
        row.update(self.nerve_readouts(self.pools["vegf"].level))
        row.update(
            {f"marrow_{name}_release_pg_per_h": pool.release_per_h
             for name, pool in self.pools.items()}
        )
        return row

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Plasma levels, CRP and platelets (to continue a run exactly)."""
        return {
            "plasma": np.array([pool.level for pool in self.pools.values()]),
            "crp_platelets": np.array([self.crp_mg_per_L, self.platelets_per_nL]),
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_arrays` output, and the blood values transport uses."""
        for pool, level in zip(self.pools.values(), arrays["plasma"], strict=True):
            pool.level = float(level)
            pool.species.blood_value = pool.level
        self.crp_mg_per_L, self.platelets_per_nL = (float(v) for v in arrays["crp_platelets"])
