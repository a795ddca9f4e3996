"""Remodelling acceptance runs of the default 2 × 2 mm section (slow: ``make validate``).

- Healthy balance: BV/TV drift over one simulated year within ±1 % (relative), mean of the
  :data:`SEEDS`, measured after a spin-up of :data:`SPIN_UP_D` days. The procedural start has
  no remodelling cavities and every osteoblast placed at t = 0 is already forming, so the first
  months build the remodelling space (docs/bone.md, "Calibration"). The drift of a run is the
  least-squares trend of its daily BV/TV over the year, times one year, relative to the trend's
  value at the start of the year: a single remodelling event at either end then cannot decide it.
  A single 4 mm² run wanders by ±1–2 % over months (~15 active osteoclasts), hence five seeds.
- A remodelling cycle per site: in the same runs, the active osteoclasts and osteoblasts of
  every 200 µm site (a BMU's width), sampled daily, show resorption (2–4 weeks) followed by
  formation (2.5–4 months), means over all complete cycles (REFERENCE §3 target 11).
- Signs (REFERENCE target 41), seeds 1 and 2, each against the healthy run of the same seed at
  the same day: an external RANKL source of 1000 pM/day (target 41's P_RANKL) loses bone;
  tenfold osteoblast OPG secretion or doubled osteoblast commitment gains bone. Only parameters
  change. OPG × 2, target 41's magnitude case, moves BV/TV by a few tenths of a percent in a
  year (+0.9 %/yr in Pivonka), under the run-to-run spread of a 4 mm² section, so the sign is
  tested with a tenfold rise (docs/bone.md, "Acceptance runs").

The runs go through a two-process pool with NUMBA_NUM_THREADS=1 (about an hour in all on two
cores).
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from abm.bone.bmu import active_cells_per_site, remodelling_cycles
from abm.model import MarrowModel
from abm.observers.timeseries import readouts
from abm.scenario import load_scenario

pytestmark = pytest.mark.slow

HEALTHY = Path(__file__).resolve().parents[2] / "scenarios" / "healthy.yaml"
SEEDS = (1, 2, 3, 4, 5)
SIGN_SEEDS = (1, 2)
SPIN_UP_D = 180
YEAR_D = 365
SIGN_D = 240
SITE_VOXELS = 20
"""Sites of 200 µm, the width of a BMU (REFERENCE 1.1, Parfitt 1994)."""
DRIFT_TOLERANCE = 0.01
RANKL_SOURCE_PM_PER_DAY = 1000.0
"""Pivonka's external RANKL production P_RANKL of REFERENCE target 41."""
_DEFAULTS = load_scenario(HEALTHY).scenario
_OPG = _DEFAULTS.cells.osteoblast.secretion_per_h["opg"]
_COMMITMENT = _DEFAULTS.bone.osteoblasts.max_commitment_rate_per_day
PERTURBATIONS = {
    # name: (overrides, expected sign of the BV/TV change against the seed-matched healthy run)
    "rankl_source": ((f"fields.rankl.external_production_per_h={RANKL_SOURCE_PM_PER_DAY / 24!r}",),
                     -1),
    "opg_tenfold": ((f"cells.osteoblast.secretion_per_h.opg={10 * _OPG!r}",), +1),
    "commitment_doubled": (
        (f"bone.osteoblasts.max_commitment_rate_per_day={2 * _COMMITMENT!r}",), +1
    ),
}


def simulate(seed: int, overrides: tuple[str, ...], days: int) -> dict[str, np.ndarray]:
    """Run the healthy scenario (with ``overrides``) for ``days``; daily BV/TV and, per site,
    active osteoclasts and osteoblasts (``[day, site]``), day 0 included."""
    model = MarrowModel.from_scenario(HEALTHY, (f"seed={seed}", *overrides))
    steps_per_day = round(24 / model.step_h)
    bone, sites = [], []
    for day in range(days + 1):
        if day:
            for _ in range(steps_per_day):
                model.step()
        bone.append(readouts(model)["bone_volume_fraction"])
        sites.append(active_cells_per_site(model.cells, SITE_VOXELS))
    counts = np.stack(sites, axis=1)
    return {"bone": np.array(bone), "osteoclasts": counts[0], "osteoblasts": counts[1]}


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """Every run of this module, keyed by (perturbation or "healthy", seed)."""
    jobs = {("healthy", seed): ((), SPIN_UP_D + YEAR_D) for seed in SEEDS}
    jobs.update({
        (name, seed): (overrides, SIGN_D)
        for name, (overrides, _) in PERTURBATIONS.items() for seed in SIGN_SEEDS
    })
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NUMBA_NUM_THREADS", "1")
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1),
                                 mp_context=context) as pool:
            futures = {
                key: pool.submit(simulate, key[1], overrides, days)
                for key, (overrides, days) in jobs.items()
            }
            return {key: future.result() for key, future in futures.items()}


def test_healthy_bone_volume_drifts_less_than_one_percent_in_a_year(runs):
    days = np.arange(YEAR_D + 1)
    drifts = []
    for seed in SEEDS:
        slope, start = np.polyfit(days, runs["healthy", seed]["bone"][SPIN_UP_D:], 1)
        drifts.append(slope * YEAR_D / start)
    print("BV/TV drift per seed over the year after spin-up:", [f"{d:+.2%}" for d in drifts])
    assert abs(statistics.mean(drifts)) <= DRIFT_TOLERANCE, drifts


def test_sites_show_resorption_then_formation(runs):
    cycles = [
        cycle
        for seed in SEEDS
        for cycle in remodelling_cycles(
            runs["healthy", seed]["osteoclasts"], runs["healthy", seed]["osteoblasts"]
        )
    ]
    resorption = statistics.mean(c.resorption_d for c in cycles)
    formation = statistics.mean(c.formation_d for c in cycles)
    print(f"{len(cycles)} cycles: mean resorption {resorption:.1f} d, formation {formation:.1f} d")
    assert len(cycles) >= 30
    assert 14 <= resorption <= 28
    assert 75 <= formation <= 122


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_perturbation_moves_bone_volume_the_expected_way(runs, name):
    _, sign = PERTURBATIONS[name]
    changes = [
        runs[name, seed]["bone"][SIGN_D] / runs["healthy", seed]["bone"][SIGN_D] - 1
        for seed in SIGN_SEEDS
    ]
    print(f"{name}: BV/TV against healthy at day {SIGN_D}:", [f"{c:+.2%}" for c in changes])
    assert all(sign * change > 0 for change in changes), changes
