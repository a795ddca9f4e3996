"""Komarova 2003 bone-remodelling ODE model: a reference for the simulator's bone processes.

Komarova SV, Smith RJ, Dixon SJ, Sims SM, Wahl LM (2003). *Mathematical model predicts a
critical role for osteoclast autocrine regulation in the control of bone remodeling.*
Bone 33:206–215, doi:10.1016/S8756-3282(03)00157-1; curated as BioModels BIOMD0000000148.

At one remodelling site, osteoclasts x1 and osteoblasts x2 (cells) regulate each other's
production through power laws, and bone mass z (% bone at a remodelling site) is resorbed by the
osteoclasts and formed by the osteoblasts in excess of their steady-state numbers::

    dx1/dt = α1·x1^g11·x2^g21 − β1·x1
    dx2/dt = α2·x1^g12·x2^g22 − β2·x2
    dz/dt  = −k1·max(x1 − x̄1, 0) + k2·max(x2 − x̄2, 0)

with the non-trivial steady state (γ = g12·g21 − (1 − g11)(1 − g22))::

    x̄1 = (β1/α1)^((1 − g22)/γ) · (β2/α2)^(g21/γ)
    x̄2 = (β1/α1)^(g12/γ) · (β2/α2)^((1 − g11)/γ)

Two published parameter sets are provided: `SINGLE_CYCLE` (Komarova 2003 Fig. 2: one
remodelling cycle that returns to the steady state) and `CYCLIC` (g11 = 1.1, the set used by
Ayati BP et al. 2010, Biol Direct 5:28, doi:10.1186/1745-6150-5-28: a sustained limit-cycle
oscillation). The model's bone mass maps to the simulator's bone volume fraction of the site as
BV/TV_site = BV/TV_0 · z / 100, where BV/TV_0 is the site's bone volume fraction at z = 100 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.integrate import solve_ivp


@dataclass(frozen=True)
class KomarovaParameters:
    """Rate constants and power-law exponents of the Komarova 2003 model.

    Exponent gij is the effect of cell type i on the production of cell type j
    (1 = osteoclasts, 2 = osteoblasts). Production αj is quoted in cells/day; formally, with the
    power laws, its unit is cells^(1 − g1j − g2j)/day.

    ====================================== ====== ==============================================
    field                                  paper  meaning [unit]
    ====================================== ====== ==============================================
    osteoclast_production_per_day          α1     osteoclast production [cells/day]
    osteoblast_production_per_day          α2     osteoblast production [cells/day]
    osteoclast_removal_per_day             β1     osteoclast removal [1/day]
    osteoblast_removal_per_day             β2     osteoblast removal [1/day]
    osteoclast_autocrine_exponent          g11    osteoclasts on osteoclast production [-]
    osteoblast_to_osteoclast_exponent      g21    osteoblasts on osteoclast production [-]
    osteoclast_to_osteoblast_exponent      g12    osteoclasts on osteoblast production [-]
    osteoblast_autocrine_exponent          g22    osteoblasts on osteoblast production [-]
    resorption_percent_per_osteoclast_day  k1     resorption [% bone per osteoclast per day]
    formation_percent_per_osteoblast_day   k2     formation [% bone per osteoblast per day]
    ====================================== ====== ==============================================
    """

    osteoclast_production_per_day: float
    osteoblast_production_per_day: float
    osteoclast_removal_per_day: float
    osteoblast_removal_per_day: float
    osteoclast_autocrine_exponent: float
    osteoblast_to_osteoclast_exponent: float
    osteoclast_to_osteoblast_exponent: float
    osteoblast_autocrine_exponent: float
    resorption_percent_per_osteoclast_day: float
    formation_percent_per_osteoblast_day: float

    def steady_state(self) -> tuple[float, float]:
        """Steady-state (osteoclasts x̄1, osteoblasts x̄2) in cells, from the closed forms."""
        g11 = self.osteoclast_autocrine_exponent
        g21 = self.osteoblast_to_osteoclast_exponent
        g12 = self.osteoclast_to_osteoblast_exponent
        g22 = self.osteoblast_autocrine_exponent
        gamma = g12 * g21 - (1.0 - g11) * (1.0 - g22)
        osteoclast_ratio = self.osteoclast_removal_per_day / self.osteoclast_production_per_day
        osteoblast_ratio = self.osteoblast_removal_per_day / self.osteoblast_production_per_day
        osteoclasts = osteoclast_ratio ** ((1.0 - g22) / gamma) * osteoblast_ratio ** (g21 / gamma)
        osteoblasts = osteoclast_ratio ** (g12 / gamma) * osteoblast_ratio ** ((1.0 - g11) / gamma)
        return osteoclasts, osteoblasts

    def rhs(self, time_d: float, state: Sequence[float]) -> np.ndarray:
        """Time derivative of (osteoclasts [cells], osteoblasts [cells], bone mass [%]) per day.

        ``time_d`` is unused (the model is autonomous); it is there for `solve_ivp`.
        """
        osteoclasts, osteoblasts, _bone_mass_percent = state
        steady_osteoclasts, steady_osteoblasts = self.steady_state()
        osteoclast_rate = (
            self.osteoclast_production_per_day
            * osteoclasts**self.osteoclast_autocrine_exponent
            * osteoblasts**self.osteoblast_to_osteoclast_exponent
            - self.osteoclast_removal_per_day * osteoclasts
        )
        osteoblast_rate = (
            self.osteoblast_production_per_day
            * osteoclasts**self.osteoclast_to_osteoblast_exponent
            * osteoblasts**self.osteoblast_autocrine_exponent
            - self.osteoblast_removal_per_day * osteoblasts
        )
        bone_mass_rate = -self.resorption_percent_per_osteoclast_day * max(
            osteoclasts - steady_osteoclasts, 0.0
        ) + self.formation_percent_per_osteoblast_day * max(osteoblasts - steady_osteoblasts, 0.0)
        return np.array([osteoclast_rate, osteoblast_rate, bone_mass_rate])


SINGLE_CYCLE = KomarovaParameters(
    osteoclast_production_per_day=3.0,
    osteoblast_production_per_day=4.0,
    osteoclast_removal_per_day=0.2,
    osteoblast_removal_per_day=0.02,
    osteoclast_autocrine_exponent=0.5,
    osteoblast_to_osteoclast_exponent=-0.5,
    osteoclast_to_osteoblast_exponent=1.0,
    osteoblast_autocrine_exponent=0.0,
    resorption_percent_per_osteoclast_day=0.24,
    formation_percent_per_osteoblast_day=0.0017,
)
"""Komarova 2003 Fig. 2: a single remodelling cycle (steady state x̄1 ≈ 1.06, x̄2 ≈ 212.13)."""

CYCLIC = replace(
    SINGLE_CYCLE,
    osteoclast_autocrine_exponent=1.1,
    resorption_percent_per_osteoclast_day=0.0748,
    formation_percent_per_osteoblast_day=0.0006395,
)
"""Sustained remodelling cycles, as in Ayati 2010 (steady state x̄1 ≈ 1.159, x̄2 ≈ 231.72)."""


@dataclass(frozen=True)
class KomarovaTrajectory:
    """A solution sampled on a uniform time grid; all arrays have the same length."""

    time_d: np.ndarray
    """Time since the start [days]."""
    osteoclasts: np.ndarray
    """Osteoclasts x1 [cells]."""
    osteoblasts: np.ndarray
    """Osteoblasts x2 [cells]."""
    bone_mass_percent: np.ndarray
    """Bone mass z [% bone at the remodelling site]."""


def simulate(
    parameters: KomarovaParameters,
    initial_state: Sequence[float],
    days: float,
    max_step_d: float = 0.1,
    rtol: float = 1e-9,
    atol: float = 1e-9,
    output_interval_d: float = 0.01,
) -> KomarovaTrajectory:
    """Integrate the model for ``days`` from ``initial_state``.

    ``initial_state`` is (osteoclasts [cells], osteoblasts [cells], bone mass [%]); both cell
    numbers must be positive. The equations are integrated with explicit Runge–Kutta 4(5)
    (`scipy.integrate.solve_ivp`, steps of at most ``max_step_d`` days, which resolves the kinks
    of max(x − x̄, 0)) and sampled every ``output_interval_d`` days from the dense output.
    """
    sample_count = round(days / output_interval_d) + 1
    time_d = np.linspace(0.0, days, sample_count)
    solution = solve_ivp(
        parameters.rhs,
        (0.0, days),
        np.asarray(initial_state, dtype=float),
        method="RK45",
        t_eval=time_d,
        max_step=max_step_d,
        rtol=rtol,
        atol=atol,
    )
    if not solution.success:
        raise RuntimeError(f"Komarova model integration failed: {solution.message}")
    osteoclasts, osteoblasts, bone_mass_percent = solution.y
    return KomarovaTrajectory(time_d, osteoclasts, osteoblasts, bone_mass_percent)


def crossing_times(
    time_d: np.ndarray,
    values: np.ndarray,
    level: float,
    direction: Literal["up", "down"],
) -> np.ndarray:
    """Times [days] at which ``values`` cross ``level`` upwards or downwards, in order.

    Each crossing is located by linear interpolation between the two samples around it.
    """
    above = values >= level
    if direction == "up":
        before = np.flatnonzero(~above[:-1] & above[1:])
    elif direction == "down":
        before = np.flatnonzero(above[:-1] & ~above[1:])
    else:
        raise ValueError(f"direction must be 'up' or 'down', not {direction!r}")
    fraction = (level - values[before]) / (values[before + 1] - values[before])
    return time_d[before] + fraction * (time_d[before + 1] - time_d[before])


def local_maxima(time_d: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(times [days], values) of the interior samples that exceed their left neighbour and are
    not below their right one; successive maxima give an oscillation's period."""
    peak = np.flatnonzero((values[1:-1] > values[:-2]) & (values[1:-1] >= values[2:])) + 1
    return time_d[peak], values[peak]
