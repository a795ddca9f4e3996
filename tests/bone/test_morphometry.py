"""2-D histomorphometry on analytic shapes, degenerate sections, a brute-force local thickness
and periodic invariance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from abm.bone import morphometry as morph

VOXEL = 10.0  # µm


def band(nx: int, ny: int, width: int, start: int = 3, axis: int = 1) -> np.ndarray:
    """Mineral 1.0 on a straight band ``width`` voxels wide crossing the whole section; the band
    runs along x (rows y = start … start + width − 1) for ``axis=1``, along y for ``axis=0``."""
    mineral = np.zeros((nx, ny))
    index = [slice(None), slice(None)]
    index[axis] = slice(start, start + width)
    mineral[tuple(index)] = 1.0
    return mineral


def disc(n: int, radius: float) -> np.ndarray:
    """Mineral 1.0 on voxels whose centre is within ``radius`` of the section centre."""
    x, y = np.meshgrid(np.arange(n) - n // 2, np.arange(n) - n // 2, indexing="ij")
    return (x * x + y * y <= radius * radius).astype(np.float64)


@pytest.mark.parametrize("width", [1, 2, 5, 8, 15])
@pytest.mark.parametrize("axis", [0, 1])
def test_band_across_periodic_section(width: int, axis: int) -> None:
    nx, ny = (40, 50) if axis == 1 else (50, 40)
    mineral = band(nx, ny, width, axis=axis)
    across = mineral.shape[axis]  # extent perpendicular to the band
    along = mineral.shape[1 - axis]
    assert morph.bone_volume_fraction(mineral) == width / across
    # two bone–marrow faces per column: perimeter 2 · along · voxel over area nx · ny · voxel²
    assert morph.boundary_faces(mineral >= 0.5) == 2 * along
    expected_bs = 2 * along * VOXEL / (nx * ny * VOXEL**2) * 1000.0
    assert morph.bone_surface_density_per_mm(mineral, VOXEL) == pytest.approx(expected_bs)
    # plate model: exact for an axis-aligned band
    plate = morph.trabecular_thickness_um(mineral, VOXEL, method="plate")
    assert plate == pytest.approx(width * VOXEL)
    # local thickness: exact for an odd width, one voxel less for an even one (lattice centres)
    local = morph.trabecular_thickness_um(mineral, VOXEL)
    assert local == pytest.approx((width if width % 2 else width - 1) * VOXEL)
    assert abs(local - plate) <= VOXEL
    # marrow: the complementary band
    marrow = across - width
    assert morph.trabecular_separation_um(mineral, VOXEL, method="plate") == pytest.approx(
        marrow * VOXEL
    )
    assert abs(morph.trabecular_separation_um(mineral, VOXEL) - marrow * VOXEL) <= VOXEL
    # Tb.N = BV/TV / Tb.Th: one band per `across` voxels
    assert morph.trabecular_number_per_mm(mineral, VOXEL, method="plate") == pytest.approx(
        1000.0 / (across * VOXEL)
    )


def test_band_in_closed_section_ignores_the_array_edge() -> None:
    mineral = band(40, 50, 7, start=10)
    assert morph.boundary_faces(mineral >= 0.5, periodic=False) == 2 * 40
    assert morph.trabecular_thickness_um(mineral, VOXEL, periodic=False) == pytest.approx(70.0)
    assert morph.trabecular_thickness_um(
        mineral, VOXEL, periodic=False, method="plate"
    ) == pytest.approx(70.0)
    # a band touching the edge: no face at the edge, so the plate width doubles
    edge = band(40, 50, 7, start=0)
    assert morph.boundary_faces(edge >= 0.5, periodic=False) == 40
    assert morph.boundary_faces(edge >= 0.5, periodic=True) == 80


def test_diagonal_band_shows_the_face_count_bias() -> None:
    """A 45° band: face-counted perimeter is √2 × the true one, so the plate width is the
    true width / √2; the local thickness stays within a voxel of the true width."""
    n, k = 60, 14
    x, y = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    mineral = (((x + y) % n) < k).astype(np.float64)  # periodic, k diagonals
    true_width = k / math.sqrt(2.0)  # voxels, perpendicular to the band
    assert morph.boundary_faces(mineral >= 0.5) == 4 * n  # true perimeter 2 · n · √2
    assert morph.trabecular_thickness_um(mineral, 1.0, method="plate") == pytest.approx(k / 2)
    assert abs(morph.trabecular_thickness_um(mineral, 1.0) - true_width) <= 1.0
    corrected = morph.trabecular_thickness_um(
        mineral, 1.0, method="plate", isotropic_correction=True
    )
    assert corrected == pytest.approx(k / 2 * 4 / math.pi)


@pytest.mark.parametrize("radius", [5.0, 10.3, 20.0])
def test_disc(radius: float) -> None:
    n = 101
    mineral = disc(n, radius)
    assert morph.bone_volume_fraction(mineral) == pytest.approx(np.pi * radius**2 / n**2, rel=0.05)
    # every voxel lies in the disc's own largest inscribed disc: local thickness ≈ 2r everywhere
    local_map = morph.local_thickness_map(mineral >= 0.5)
    inside = local_map[mineral >= 0.5]
    assert np.ptp(inside) == 0.0
    assert abs(inside[0] - 2 * radius) <= 1.0
    assert abs(morph.trabecular_thickness_um(mineral, VOXEL) - 2 * radius * VOXEL) <= VOXEL
    # plate model of a disc: 2A/P = r with the true perimeter; face counting gives P ≈ 8r → πr/4
    plate = morph.trabecular_thickness_um(mineral, VOXEL, method="plate")
    assert plate == pytest.approx(math.pi * radius / 4 * VOXEL, rel=0.07)
    corrected = morph.trabecular_thickness_um(
        mineral, VOXEL, method="plate", isotropic_correction=True
    )
    assert corrected == pytest.approx(radius * VOXEL, rel=0.07)


def test_no_bone_and_all_bone() -> None:
    empty, full = np.zeros((30, 20)), np.ones((30, 20))
    for method in ("local", "plate"):
        assert math.isnan(morph.trabecular_thickness_um(empty, VOXEL, method=method))
        assert morph.trabecular_separation_um(empty, VOXEL, method=method) == math.inf
        assert morph.trabecular_number_per_mm(empty, VOXEL, method=method) == 0.0
        assert morph.trabecular_thickness_um(full, VOXEL, method=method) == math.inf
        assert math.isnan(morph.trabecular_separation_um(full, VOXEL, method=method))
        assert morph.trabecular_number_per_mm(full, VOXEL, method=method) == 0.0
    assert morph.bone_volume_fraction(empty) == 0.0
    assert morph.bone_volume_fraction(full) == 1.0
    assert morph.bone_surface_density_per_mm(empty, VOXEL) == 0.0
    assert morph.bone_surface_density_per_mm(full, VOXEL) == 0.0
    assert np.all(morph.local_thickness_map(np.zeros((4, 4), bool)) == 0.0)
    assert np.all(morph.local_thickness_map(np.ones((4, 4), bool)) == np.inf)


def test_threshold_is_inclusive() -> None:
    mineral = np.array([[0.5, 0.49999], [1.0, 0.0]])
    assert morph.bone_volume_fraction(mineral) == 0.5
    assert morph.bone_volume_fraction(mineral, threshold=0.4) == 0.75


def test_invalid_input() -> None:
    with pytest.raises(ValueError, match="2-D"):
        morph.bone_volume_fraction(np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="method"):
        morph.trabecular_thickness_um(band(10, 10, 3), VOXEL, method="rod")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no False"):
        morph.squared_distance_to_complement(np.ones((3, 3), bool))


def _brute_force_local_thickness(mask: np.ndarray, periodic: bool) -> np.ndarray:
    """The definition, voxel by voxel: R² to the nearest other-phase voxel, then every voxel
    with |p − c|² < R² gets max(2R − 1)."""
    nx, ny = mask.shape
    ox, oy = np.nonzero(~mask)
    out = np.zeros(mask.shape)
    for cx, cy in zip(*np.nonzero(mask), strict=True):
        dx, dy = np.abs(ox - cx), np.abs(oy - cy)
        if periodic:
            dx, dy = np.minimum(dx, nx - dx), np.minimum(dy, ny - dy)
        r2 = int((dx * dx + dy * dy).min())
        reach = math.isqrt(r2) + 1
        for ux in range(-reach, reach + 1):
            for uy in range(-reach, reach + 1):
                if ux * ux + uy * uy >= r2:
                    continue
                px, py = cx + ux, cy + uy
                if periodic:
                    px, py = px % nx, py % ny
                elif not (0 <= px < nx and 0 <= py < ny):
                    continue
                out[px, py] = max(out[px, py], 2.0 * math.sqrt(r2) - 1.0)
    return out


@pytest.mark.parametrize("periodic", [True, False])
def test_local_thickness_matches_the_definition(periodic: bool) -> None:
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(12):
        nx, ny = rng.integers(6, 24, size=2)
        smooth = ndimage.gaussian_filter(rng.random((nx, ny)), 1.3, mode="wrap")
        mask = smooth > np.median(smooth)
        if mask.all() or not mask.any():
            continue
        expected = _brute_force_local_thickness(mask, periodic)
        np.testing.assert_allclose(morph.local_thickness_map(mask, periodic), expected)
        checked += 1
    assert checked >= 10


def test_periodic_distance_is_exact_beyond_the_first_margin() -> None:
    """Two marrow voxels in a 70 × 90 periodic bone section: distances up to ~40 voxels need
    the wrap margin to grow."""
    mask = np.ones((70, 90), dtype=bool)
    mask[5, 7] = mask[40, 60] = False
    r2 = morph.squared_distance_to_complement(mask, periodic=True)
    x, y = np.meshgrid(np.arange(70), np.arange(90), indexing="ij")
    expected = np.full(mask.shape, np.iinfo(np.int64).max)
    for px, py in [(5, 7), (40, 60)]:
        dx, dy = np.abs(x - px), np.abs(y - py)
        dx, dy = np.minimum(dx, 70 - dx), np.minimum(dy, 90 - dy)
        expected = np.minimum(expected, dx * dx + dy * dy)
    np.testing.assert_array_equal(r2, expected)
    assert r2.max() > 16**2


def test_periodic_measures_are_invariant_under_roll() -> None:
    rng = np.random.default_rng(3)
    smooth = ndimage.gaussian_filter(rng.random((64, 48)), 3.0, mode="wrap")
    mineral = (smooth > np.quantile(smooth, 0.75)).astype(np.float64)
    rolled = np.roll(mineral, (17, -29), axis=(0, 1))
    for function in (
        morph.trabecular_thickness_um,
        morph.trabecular_separation_um,
        morph.trabecular_number_per_mm,
    ):
        for method in ("local", "plate"):
            assert function(rolled, VOXEL, method=method) == pytest.approx(
                function(mineral, VOXEL, method=method), rel=1e-12
            )
    assert morph.bone_surface_density_per_mm(rolled, VOXEL) == pytest.approx(
        morph.bone_surface_density_per_mm(mineral, VOXEL)
    )
