"""Wall conductivity and Starling filtration: kernel against reference, face counting, and
REFERENCE §3 target 23 (chronic high VEGF raises the flux per wall area F-fold, σ unchanged)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.cells import reference
from abm.cells.kernels import wall_conductivity_fold
from abm.fields.stack import MARROW, MINERALIZED_BONE, VESSEL_LUMEN
from abm.model import MarrowModel
from abm.processes.permeability import VesselPermeability


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), nx=st.integers(1, 12), ny=st.integers(1, 12),
       periodic=st.booleans())
def test_kernel_matches_reference(seed, nx, ny, periodic):
    rng = np.random.default_rng(seed)
    tissue = rng.choice([MARROW, MINERALIZED_BONE, VESSEL_LUMEN], (nx, ny)).astype(np.int8)
    vegf = rng.uniform(0.0, 5e4, (nx, ny))
    faces, fold_sum = wall_conductivity_fold(tissue, vegf, 12800.0, 6.0, periodic)
    want_faces, want_sum = reference.wall_conductivity_fold(tissue, vegf, 12800.0, 6.0, periodic)
    assert faces == want_faces
    assert fold_sum == pytest.approx(want_sum, rel=1e-12, abs=1e-12)


def test_faces_are_lumen_sides_that_touch_marrow():
    tissue = np.full((5, 5), MARROW, dtype=np.int8)
    tissue[2, 2] = VESSEL_LUMEN
    vegf = np.zeros((5, 5))
    vegf[3, 2] = 12800.0  # half occupancy on one face: fold (1 + 6)/2
    assert wall_conductivity_fold(tissue, vegf, 12800.0, 6.0, False) == (4, 3.0 + 3.5)
    tissue[2, 3] = MINERALIZED_BONE  # no filtration into bone
    tissue[1, 2] = VESSEL_LUMEN  # nor between lumen voxels; the new voxel adds its own faces
    faces, _ = wall_conductivity_fold(tissue, vegf, 12800.0, 6.0, False)
    assert faces == 2 + 3
    edge = np.full((3, 3), MARROW, dtype=np.int8)
    edge[0, 1] = VESSEL_LUMEN
    assert wall_conductivity_fold(edge, np.zeros((3, 3)), 1.0, 6.0, False)[0] == 3
    assert wall_conductivity_fold(edge, np.zeros((3, 3)), 1.0, 6.0, True)[0] == 4


@pytest.mark.parametrize("vegf_pg_per_mL, fold", [(0.0, 1.0), (12800.0, 3.5), (1e15, 6.0)])
def test_flux_per_wall_area_rises_with_vegfr2_occupancy(tiny_scenario, vegf_pg_per_mL, fold):
    """Target 23: at constant pressures the flux is Lp0 · fold · 8.1 mmHg (REFERENCE 2.8's
    plug-in pressures), and saturating VEGF gives F = 6 times the flux without VEGF."""
    model = MarrowModel.from_scenario(tiny_scenario)
    permeability = next(p for p in model.processes() if isinstance(p, VesselPermeability))
    assert permeability.net_pressure_mmHg == pytest.approx(8.1)
    model.fields["vegf"][...] = vegf_pg_per_mL
    permeability.step(model)
    assert permeability.wall_faces > 0
    assert permeability.conductivity_fold_mean == pytest.approx(fold, rel=1e-9)
    readouts = permeability.readouts()
    lp0 = model.config.permeability.baseline_conductivity_um_per_s_per_mmHg
    assert readouts["capillary_filtration_um_per_s"] == pytest.approx(lp0 * fold * 8.1)
    faces_area_um2 = permeability.wall_faces * model.config.domain.voxel_um**2
    section_um3 = model.config.n_voxels * model.config.domain.voxel_um**3
    assert readouts["capillary_filtration_uL_per_h_per_mm3"] == pytest.approx(
        lp0 * fold * 8.1 * faces_area_um2 / section_um3 * 3600
    )
