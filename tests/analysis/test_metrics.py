"""Snapshot metrics on synthetic sections whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import metrics
from analysis.metrics import CELL_TYPE_CODE, NO_CELL

VOXEL_UM = 10.0
N = 20  # 20 × 20 voxels of 10 µm: 0.04 mm²


def slab_section() -> dict[str, np.ndarray]:
    """A periodic 20 × 20 section with a bone band at x = 5..9 across every y (5 voxels = 50 µm
    thick, marrow 15 voxels = 150 µm wide): mineral on x = 5..8, osteoid filling x = 9.
    Osteoclasts at (4, 0) and (4, 1) on the surface and one at (15, 3) in the marrow;
    osteoblasts at (10, 0..2) on the surface; endothelium as a 2 × 2 block on lumen at
    (14..15, 10..11), a 2 × 2 block off lumen at (14..15, 16..17), and a cell at (2, 8); pO2 5 mmHg
    for x < 3 and 20 mmHg elsewhere; plasma cells at (12, 12) and (12, 13)."""
    mineral = np.zeros((N, N))
    osteoid = np.zeros((N, N))
    mineral[5:9] = 1.0
    osteoid[9] = 1.0
    lumen = np.zeros((N, N))
    lumen[14:16, 10:12] = 1.0
    cells = np.full((N, N), NO_CELL, dtype=np.int8)
    cells[4, 0] = cells[4, 1] = cells[15, 3] = CELL_TYPE_CODE["osteoclast"]
    cells[10, 0:3] = CELL_TYPE_CODE["osteoblast"]
    cells[14:16, 10:12] = CELL_TYPE_CODE["endothelial_cell"]
    cells[14:16, 16:18] = CELL_TYPE_CODE["endothelial_cell"]
    cells[2, 8] = CELL_TYPE_CODE["endothelial_cell"]
    cells[12, 12] = cells[12, 13] = CELL_TYPE_CODE["plasma_cell"]
    oxygen = np.full((N, N), 20.0)
    oxygen[:3] = 5.0
    return {"bone_mineral": mineral, "osteoid": osteoid, "vessel_lumen": lumen,
            "cell_type_map": cells, "oxygen": oxygen}


def test_slab_bone_volume_thickness_and_separation():
    s = slab_section()
    bone = metrics.bone_mask(s["bone_mineral"], s["osteoid"])
    assert metrics.bone_volume_fraction(s["bone_mineral"], s["osteoid"]) == 0.25
    assert metrics.trabecular_thickness_um(bone, VOXEL_UM) == 50.0
    assert metrics.trabecular_separation_um(bone, VOXEL_UM) == 150.0
    half = np.zeros((N, N), dtype=bool)
    half[:, :10] = True
    assert metrics.trabecular_thickness_um(bone, VOXEL_UM, region=half) == 50.0
    assert math.isnan(metrics.trabecular_thickness_um(np.zeros((N, N), bool), VOXEL_UM))


def test_partial_matrix_counts_by_volume():
    mineral = np.zeros((4, 4))
    mineral[0, 0] = 0.3
    osteoid = np.zeros((4, 4))
    osteoid[0, 0] = 0.1
    assert metrics.bone_volume_fraction(mineral, osteoid) == pytest.approx(0.4 / 16)
    assert not metrics.bone_mask(mineral, osteoid).any()  # 0.4 < 0.5: not bone


def test_slab_surfaces_and_cells_per_surface():
    s = slab_section()
    out = metrics.surface_readouts(
        s["bone_mineral"], s["osteoid"], s["cell_type_map"], VOXEL_UM, periodic=True
    )
    assert out["bone_surface_mm"] == pytest.approx(0.4)  # 2 faces × 20 columns × 10 µm
    assert out["bone_surface_density_per_mm"] == pytest.approx(10.0)  # 0.4 mm / 0.04 mm²
    assert out["osteoid_surface_fraction"] == 0.5  # the x = 9 | 10 side
    assert out["eroded_surface_fraction"] == 2 / 40
    assert out["osteoclasts_per_bone_surface_per_mm"] == pytest.approx(2 / 0.4)
    assert out["osteoblasts_per_bone_surface_per_mm"] == pytest.approx(3 / 0.4)


def test_surfaces_of_a_region_count_the_faces_of_its_bone():
    s = slab_section()
    half = np.zeros((N, N), dtype=bool)
    half[:, :10] = True
    out = metrics.surface_readouts(
        s["bone_mineral"], s["osteoid"], s["cell_type_map"], VOXEL_UM, region=half
    )
    assert out["bone_surface_mm"] == pytest.approx(0.2)
    assert out["bone_surface_density_per_mm"] == pytest.approx(10.0)
    assert out["eroded_surface_fraction"] == 2 / 20
    assert out["osteoclasts_per_bone_surface_per_mm"] == pytest.approx(2 / 0.2)
    no_bone = np.zeros((N, N), dtype=bool)
    no_bone[15:, :] = True
    assert math.isnan(metrics.surface_readouts(
        s["bone_mineral"], s["osteoid"], s["cell_type_map"], VOXEL_UM, region=no_bone
    )["eroded_surface_fraction"])


def test_closed_section_edges_are_no_bone_surface():
    mineral = np.zeros((10, 10))
    mineral[:3] = 1.0  # a band touching the x = 0 edge
    bone = metrics.bone_mask(mineral, np.zeros_like(mineral))
    assert len(metrics.bone_faces(bone, periodic=False)[0]) == 10
    assert len(metrics.bone_faces(bone, periodic=True)[0]) == 20


def test_vessels_oxygen_and_cell_counts():
    s = slab_section()
    endothelium = s["cell_type_map"] == CELL_TYPE_CODE["endothelial_cell"]
    # three profiles: two 2 × 2 blocks and a single cell, in 0.04 mm²
    assert metrics.microvessel_density_per_mm2(endothelium, VOXEL_UM) == pytest.approx(75.0)
    assert metrics.perfused_fraction(endothelium, s["vessel_lumen"]) == 4 / 9
    marrow = metrics.marrow_mask(s["bone_mineral"], s["osteoid"], s["vessel_lumen"])
    assert marrow.sum() == 400 - 100 - 4
    # hypoxic: x < 3 (60 voxels, all marrow) of 296 marrow voxels
    assert metrics.hypoxic_fraction(s["oxygen"], marrow, 10.0) == 60 / 296
    counts = metrics.cell_counts(s["cell_type_map"])
    assert counts == {"n_plasma_cell": 2, "n_stromal_cell": 0, "n_osteoblast": 3,
                      "n_osteoclast": 3, "n_endothelial_cell": 9}


def test_profiles_touching_across_a_periodic_edge_are_one_vessel():
    endothelium = np.zeros((N, N), dtype=bool)
    endothelium[0, 5] = endothelium[N - 1, 5] = True
    assert metrics.microvessel_density_per_mm2(endothelium, VOXEL_UM, True) == 25.0
    assert metrics.microvessel_density_per_mm2(endothelium, VOXEL_UM, False) == 50.0


def test_grown_endothelium_counts_half_a_profile_per_voxel():
    s = slab_section()
    endothelium = s["cell_type_map"] == CELL_TYPE_CODE["endothelial_cell"]
    # crossing: the block on the initial lumen (1 profile); grown: 4 + 1 voxels off it
    mvd = metrics.microvessel_density_per_mm2(endothelium, VOXEL_UM,
                                              initial_lumen=s["vessel_lumen"])
    assert mvd == pytest.approx((1 + 0.5 * 5) / 0.04)
    right = np.zeros((N, N), dtype=bool)
    right[:, 15:] = True  # y ≥ 15: 100 voxels (0.01 mm²) holding only the 2 × 2 sprout block
    assert metrics.microvessel_density_per_mm2(
        endothelium, VOXEL_UM, region=right, initial_lumen=s["vessel_lumen"]
    ) == pytest.approx((0 + 0.5 * 4) / 0.01)


def test_region_readouts_of_the_whole_slab():
    s = slab_section()
    out = metrics.region_readouts(s, VOXEL_UM, hypoxic_threshold_mmHg=10.0)
    assert out["area_mm2"] == pytest.approx(0.04)
    assert out["bone_volume_fraction"] == 0.25
    assert out["trabecular_thickness_um"] == 50.0
    assert out["osteoclast_per_mm2"] == pytest.approx(3 / 0.04)
    assert out["hypoxic_marrow_fraction"] == 60 / 296
    assert out["marrow_pO2_fraction_5_10_mmHg"] == 60 / 296  # 5 mmHg falls in [5, 10)
    assert out["marrow_pO2_fraction_20_25_mmHg"] == 236 / 296


def test_clone_focus_mask_needs_the_local_density():
    cells = np.full((N, N), NO_CELL, dtype=np.int8)
    cells[5, 5] = CELL_TYPE_CODE["plasma_cell"]
    # radius one voxel: a 5-voxel cross; 0.4 needs two plasma cells in it
    lone = metrics.clone_focus_mask(cells, VOXEL_UM, radius_um=10.0, min_plasma_fraction=0.4)
    assert not lone.any()
    cells[5, 6] = CELL_TYPE_CODE["plasma_cell"]
    pair = metrics.clone_focus_mask(cells, VOXEL_UM, radius_um=10.0, min_plasma_fraction=0.4)
    assert sorted(zip(*np.nonzero(pair), strict=True)) == [(5, 5), (5, 6)]
    # one plasma cell in 5 voxels is enough at 0.2: the cross around each cell
    loose = metrics.clone_focus_mask(cells, VOXEL_UM, radius_um=10.0, min_plasma_fraction=0.2)
    assert loose.sum() == 8  # two overlapping crosses of 5 sharing two voxels


def test_clone_focus_mask_on_a_closed_section_counts_only_voxels_inside():
    cells = np.full((N, N), NO_CELL, dtype=np.int8)
    cells[0, 0] = CELL_TYPE_CODE["plasma_cell"]
    # the corner's cross has 3 voxels inside the section: 1/3 ≥ 0.3
    corner = metrics.clone_focus_mask(
        cells, VOXEL_UM, periodic=False, radius_um=10.0, min_plasma_fraction=0.3
    )
    assert corner[0, 0] and corner.sum() == 1


def test_within_distance_dilates_by_a_disc_wrapping_only_a_periodic_section():
    mask = np.zeros((N, N), dtype=bool)
    mask[0, 0] = True
    periodic = metrics.within_distance(mask, VOXEL_UM, distance_um=10.0)
    assert sorted(zip(*np.nonzero(periodic), strict=True)) == [
        (0, 0), (0, 1), (0, N - 1), (1, 0), (N - 1, 0)]
    closed = metrics.within_distance(mask, VOXEL_UM, distance_um=10.0, periodic=False)
    assert sorted(zip(*np.nonzero(closed), strict=True)) == [(0, 0), (0, 1), (1, 0)]
    # 15 µm reaches the diagonal neighbours (14.1 µm) but not two voxels away
    assert metrics.within_distance(mask, VOXEL_UM, 15.0, periodic=False).sum() == 4


def test_thresholds_match_the_model():
    from abm.bone.geometry import MINERALIZED_FRACTION
    from abm.cells.table import EMPTY
    from abm.vessels.geometry import LUMEN_FRACTION

    assert metrics.BONE_MATRIX_THRESHOLD == MINERALIZED_FRACTION
    assert metrics.LUMEN_THRESHOLD == LUMEN_FRACTION
    assert metrics.NO_CELL == EMPTY


def test_analysis_does_not_import_the_model():
    import subprocess
    import sys

    code = (
        "import sys, analysis.metrics, analysis.runs;"
        "bad = [m for m in sys.modules if m.split('.')[:2] in"
        " (['abm', 'model'], ['abm', 'processes'], ['abm', 'cells'], ['abm', 'fields'])];"
        "print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
