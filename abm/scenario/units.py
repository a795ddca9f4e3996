"""Unit conversions applied once, when a scenario is loaded.

Internal units of the model: time in hours, length in µm, rates per hour, concentrations in each
field's stated unit. Stochastic per-step events use probabilities derived here.
"""

from __future__ import annotations

import math

HOURS_PER_DAY = 24.0
SECONDS_PER_HOUR = 3600.0
MINUTES_PER_HOUR = 60.0
ML_PER_UM3 = 1e-12
"""1 µm³ = 1e-15 L = 1e-12 mL."""


def half_life_to_rate(half_life_h: float) -> float:
    """First-order rate constant (1/h) of a half-life in hours: k = ln 2 / t½."""
    return math.log(2.0) / half_life_h


def per_day_to_per_h(rate_per_day: float) -> float:
    """Convert a rate from 1/day to 1/h."""
    return rate_per_day / HOURS_PER_DAY


def event_probability(rate_per_h: float, step_h: float) -> float:
    """Probability that a Poisson event of rate ``rate_per_h`` happens within one step.

    p = 1 − exp(−k·Δt): exact for a constant rate over the step, never above 1.
    """
    return -math.expm1(-rate_per_h * step_h)


def hop_probability(motility_um2_per_h: float, step_h: float, voxel_um: float) -> float:
    """Per-step probability of one lattice hop for a 2-D random walk with coefficient D.

    A walker hopping one voxel (Δx) to one of 4 neighbours with probability p per step Δt has
    mean squared displacement 4·D·t with D = p·Δx²/(4·Δt), so p = 4·D·Δt/Δx².
    """
    return 4.0 * motility_um2_per_h * step_h / voxel_um**2


def cell_amount_to_concentration(
    unit: str, voxel_volume_um3: float, solubility_uM_per_mmHg: float | None = None
) -> float:
    """Concentration (in ``unit``) that one amount unit raises in one voxel.

    Amount units by species unit: pg (pg/mL), amol (pM), amol of O2 (mmHg; dissolved
    concentration converted to partial pressure with the solubility), a.u.·mL (a.u.).
    """
    litres = voxel_volume_um3 * 1e-15
    if unit in ("pg/mL", "a.u."):
        return 1.0 / (voxel_volume_um3 * ML_PER_UM3)  # amount per mL
    if unit == "pM":
        return 1e-18 / litres * 1e12  # amol -> mol, M -> pM
    if unit == "mmHg":
        if solubility_uM_per_mmHg is None:
            raise ValueError("oxygen in mmHg needs a solubility")
        return 1e-18 / litres * 1e6 / solubility_uM_per_mmHg  # amol -> µM -> mmHg
    raise ValueError(f"unknown unit {unit!r}")
