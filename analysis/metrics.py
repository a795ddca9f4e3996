"""Histomorphometry, vessel, oxygen and cell readouts of one snapshot, for the whole section or
a region of it (near the clone's foci versus far from them).

Pure functions of arrays indexed ``[x, y]`` with square voxels of ``voxel_um`` µm. Inputs are
the snapshot layers of a run (``bone_mineral``, ``osteoid`` and ``vessel_lumen`` volume
fractions 0–1, ``oxygen`` in mmHg, the ``cell_type_map`` of cell-type codes with −1 for no cell)
and an optional boolean ``region`` of the same shape (default: the whole section).

Tissue classes follow the model's tissue map: a voxel is **bone** when its matrix
(mineral + osteoid) is at least :data:`BONE_MATRIX_THRESHOLD`, **vessel lumen** when its lumen
fraction is at least :data:`LUMEN_THRESHOLD` (lumen wins over bone), and **marrow** otherwise.

Readouts (2-D, Parfitt 1987 nomenclature) and units:

* BV/TV, dimensionless: mean matrix fraction (mineral + osteoid, as the time series'
  ``bone_volume_fraction``).
* Tb.Th and Tb.Sp, µm: mean local thickness of the bone and of the non-bone phase
  (:func:`abm.bone.morphometry.local_thickness_map`, exact for lattice-aligned bands of an odd
  number of voxels).
* BS, mm, and BS/TV, 1/mm: bone perimeter counted as lattice faces between a bone voxel and a
  non-bone voxel, ``voxel_um`` each. A face belongs to a region when its bone voxel does.
* OS/BS: fraction of bone faces with osteoid (at least :data:`OSTEOID_SEAM_FRACTION`) on either
  side (the bone voxel, or the marrow voxel an osteoblast is filling).
* ES/BS: fraction of bone faces with an osteoclast on their marrow side. The snapshot keeps no
  history of resorption lacunae, so this is the surface being eroded now (reversal surfaces
  without osteoclasts are not counted).
* N.Oc/BS and N.Ob/BS, 1/mm: osteoclasts and osteoblasts in voxels sharing a face with bone, per
  mm of bone surface.
* MVD, 1/mm²: vessel profiles per mm² of region, as the time series counts them when the
  first snapshot's lumen is given (the initial network's endothelium by 8-connected profiles,
  grown endothelium half a profile per voxel, the stereology of in-plane vessel); otherwise the
  8-connected components of all endothelium.
* Perfused fraction: endothelial cells on vessel-lumen voxels over all endothelial cells.
* Hypoxic fraction: marrow voxels with pO2 below a threshold (the run's HIF half-maximum) over
  marrow voxels; the pO2 histogram of marrow voxels uses
  :data:`abm.vessels.morphometry.PO2_BIN_EDGES_MMHG`.
* Cell counts per type and per mm² of region.

Whole-section readouts that only the model can compute exactly (in-plane vessel length, the
stereological MVD, serum markers) are read from the run's time series
(:func:`timeseries_readouts`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from abm.bone.morphometry import DEFAULT_THRESHOLD, local_thickness_map
from abm.scenario.schema import CELL_TYPES
from abm.vessels.morphometry import po2_histogram, vessel_profiles

BONE_MATRIX_THRESHOLD = DEFAULT_THRESHOLD
"""Matrix fraction (mineral + osteoid) at or above which a voxel is bone (the tissue map's 0.5)."""

LUMEN_THRESHOLD = 0.5
"""Lumen fraction at or above which a voxel is vessel lumen (as
``abm.vessels.geometry.LUMEN_FRACTION``)."""

OSTEOID_SEAM_FRACTION = 0.05
"""Osteoid volume fraction of a voxel at or above which a bone face is osteoid surface."""

NO_CELL = -1
"""Code of an empty voxel in the cell-type map."""

CELL_TYPE_CODE = {name: code for code, name in enumerate(CELL_TYPES)}
"""Cell-type name -> code in the cell-type map."""

FOCUS_RADIUS_UM = 100.0
"""Default radius (µm) of the disc over which the local plasma-cell fraction is taken."""

FOCUS_SURROUND_UM = 100.0
"""Default distance (µm) from a focus mask within which bone counts as "around" the focus (the
disc radius of :data:`FOCUS_RADIUS_UM` again: the bone the focus's plasma cells border)."""

FOCUS_MIN_PLASMA_FRACTION = 0.05
"""Default local plasma-cell fraction (plasma cells per voxel of the disc) at or above which a
voxel is near a clonal focus: ~10× the healthy marrow's ~0.5 % plasma cells, far below the ~40 %
inside the POEMS scenario's foci."""

TIMESERIES_READOUTS: tuple[str, ...] = (
    "bone_volume_fraction",
    "microvessel_density_per_mm2",
    "vessel_length_density_mm_per_mm2",
    "perfused_vessel_fraction",
    "hypoxic_marrow_fraction",
    "serum_vegf_pg_per_mL",
    "plasma_vegf_pg_per_mL",
    "plasma_il6_pg_per_mL",
    "plasma_il1b_pg_per_mL",
    "crp_mg_per_L",
    "platelets_per_nL",
)
"""Whole-section and serum readouts taken from the time series as the model recorded them."""


def _whole(shape: tuple[int, ...], region: np.ndarray | None) -> np.ndarray:
    """``region`` as a boolean array, or all True."""
    if region is None:
        return np.ones(shape, dtype=bool)
    region = np.asarray(region, dtype=bool)
    if region.shape != shape:
        raise ValueError(f"region has shape {region.shape}, expected {shape}")
    return region


def _area_mm2(region: np.ndarray, voxel_um: float) -> float:
    return float(np.count_nonzero(region)) * (voxel_um * 1e-3) ** 2


def lumen_mask(lumen: np.ndarray) -> np.ndarray:
    """``bool[nx, ny]``: vessel-lumen voxels."""
    return np.asarray(lumen) >= LUMEN_THRESHOLD


def bone_mask(mineral: np.ndarray, osteoid: np.ndarray, lumen: np.ndarray | None = None):
    """``bool[nx, ny]``: bone voxels (matrix ≥ :data:`BONE_MATRIX_THRESHOLD`, not lumen)."""
    mask = np.asarray(mineral) + np.asarray(osteoid) >= BONE_MATRIX_THRESHOLD
    return mask if lumen is None else mask & ~lumen_mask(lumen)


def bone_volume_fraction(
    mineral: np.ndarray, osteoid: np.ndarray, region: np.ndarray | None = None
) -> float:
    """BV/TV (0–1): mean matrix fraction over the region (nan for an empty region)."""
    region = _whole(np.shape(mineral), region)
    if not region.any():
        return math.nan
    return float((np.asarray(mineral) + np.asarray(osteoid))[region].mean())


def _mean_local_thickness_um(
    phase: np.ndarray, voxel_um: float, periodic: bool, region: np.ndarray
) -> float:
    """Mean local thickness (µm) of the True phase over its voxels in ``region``: nan if the
    region holds none of the phase, inf if the phase fills the section."""
    inside = phase & region
    if not inside.any():
        return math.nan
    return float(local_thickness_map(phase, periodic)[inside].mean()) * voxel_um


def trabecular_thickness_um(
    bone: np.ndarray, voxel_um: float, periodic: bool = True, region: np.ndarray | None = None
) -> float:
    """Tb.Th (µm): mean local thickness of the boolean ``bone`` mask over its voxels in the
    region (nan without bone there)."""
    bone = np.asarray(bone, dtype=bool)
    return _mean_local_thickness_um(bone, voxel_um, periodic, _whole(bone.shape, region))


def trabecular_separation_um(
    bone: np.ndarray, voxel_um: float, periodic: bool = True, region: np.ndarray | None = None
) -> float:
    """Tb.Sp (µm): mean local thickness of the non-bone phase over its voxels in the region."""
    bone = np.asarray(bone, dtype=bool)
    return _mean_local_thickness_um(~bone, voxel_um, periodic, _whole(bone.shape, region))


def bone_faces(bone: np.ndarray, periodic: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The lattice faces between a bone and a non-bone voxel (4-neighbour pairs), as two
    ``int64[n_faces, 2]`` arrays of voxel indices: the bone side and the other side. With
    ``periodic`` faces across the array edges count; otherwise the edge is no boundary."""
    bone = np.asarray(bone, dtype=bool)
    nx, ny = bone.shape
    bone_side, other_side = [], []
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        x, y = np.nonzero(bone)
        u, v = x + dx, y + dy
        if periodic:
            u, v = u % nx, v % ny
        else:
            keep = (u >= 0) & (u < nx) & (v >= 0) & (v < ny)
            x, y, u, v = x[keep], y[keep], u[keep], v[keep]
        face = ~bone[u, v]
        bone_side.append(np.stack([x[face], y[face]], axis=1))
        other_side.append(np.stack([u[face], v[face]], axis=1))
    return np.concatenate(bone_side), np.concatenate(other_side)


def surface_readouts(
    mineral: np.ndarray,
    osteoid: np.ndarray,
    cell_map: np.ndarray,
    voxel_um: float,
    periodic: bool = True,
    region: np.ndarray | None = None,
    lumen: np.ndarray | None = None,
) -> dict[str, float]:
    """Bone-surface readouts of the region (see the module docstring for definitions):
    ``bone_surface_mm``, ``bone_surface_density_per_mm`` (BS/TV), ``osteoid_surface_fraction``
    (OS/BS), ``eroded_surface_fraction`` (ES/BS), ``osteoclasts_per_bone_surface_per_mm`` and
    ``osteoblasts_per_bone_surface_per_mm``. Fractions and densities are nan without bone
    surface in the region."""
    bone = bone_mask(mineral, osteoid, lumen)
    region = _whole(bone.shape, region)
    bone_side, other_side = bone_faces(bone, periodic)
    in_region = region[bone_side[:, 0], bone_side[:, 1]]
    bone_side, other_side = bone_side[in_region], other_side[in_region]
    n_faces = len(bone_side)
    surface_mm = n_faces * voxel_um * 1e-3
    area_mm2 = _area_mm2(region, voxel_um)
    out = {
        "bone_surface_mm": surface_mm,
        "bone_surface_density_per_mm": surface_mm / area_mm2 if area_mm2 else math.nan,
    }
    if n_faces == 0:
        nan = math.nan
        out.update(osteoid_surface_fraction=nan, eroded_surface_fraction=nan,
                   osteoclasts_per_bone_surface_per_mm=nan,
                   osteoblasts_per_bone_surface_per_mm=nan)
        return out
    osteoid = np.asarray(osteoid)
    seam = (osteoid[bone_side[:, 0], bone_side[:, 1]] >= OSTEOID_SEAM_FRACTION) | (
        osteoid[other_side[:, 0], other_side[:, 1]] >= OSTEOID_SEAM_FRACTION
    )
    facing = np.asarray(cell_map)[other_side[:, 0], other_side[:, 1]]
    out["osteoid_surface_fraction"] = float(np.count_nonzero(seam)) / n_faces
    out["eroded_surface_fraction"] = (
        float(np.count_nonzero(facing == CELL_TYPE_CODE["osteoclast"])) / n_faces
    )
    on_surface = np.zeros(bone.shape, dtype=bool)  # voxels touching a face of the region
    on_surface[other_side[:, 0], other_side[:, 1]] = True
    for name in ("osteoclast", "osteoblast"):
        count = np.count_nonzero(on_surface & (np.asarray(cell_map) == CELL_TYPE_CODE[name]))
        out[f"{name}s_per_bone_surface_per_mm"] = count / surface_mm
    return out


def cell_counts(cell_map: np.ndarray, region: np.ndarray | None = None) -> dict[str, int]:
    """Living cells of each type in the region, keyed ``n_<cell type>``."""
    cell_map = np.asarray(cell_map)
    codes = cell_map[_whole(cell_map.shape, region)]
    counts = np.bincount(codes[codes != NO_CELL].astype(np.int64), minlength=len(CELL_TYPES))
    return {f"n_{name}": int(counts[code]) for code, name in enumerate(CELL_TYPES)}


def microvessel_density_per_mm2(
    endothelium: np.ndarray,
    voxel_um: float,
    periodic: bool = True,
    region: np.ndarray | None = None,
    initial_lumen: np.ndarray | None = None,
) -> float:
    """Vessel profiles per mm² of region; nan for an empty region.

    Without ``initial_lumen``: the 8-connected components of the boolean ``endothelium`` map
    within the region (joined across the edges when ``periodic``;
    :func:`abm.vessels.morphometry.vessel_profiles`). With the first snapshot's lumen
    fractions as ``initial_lumen``, the time series' definition
    (:func:`abm.vessels.morphometry.microvessel_density_per_mm2`): endothelium on the initial
    lumen crosses the section and counts by profiles, endothelium elsewhere was grown in the
    plane and counts half a profile per voxel.
    """
    endothelium = np.asarray(endothelium, dtype=bool)
    region = _whole(endothelium.shape, region)
    area_mm2 = _area_mm2(region, voxel_um)
    if area_mm2 == 0:
        return math.nan
    if initial_lumen is None:
        return vessel_profiles(endothelium & region, periodic) / area_mm2
    crossing = endothelium & lumen_mask(initial_lumen)
    grown = endothelium & ~crossing
    profiles = vessel_profiles(crossing & region, periodic)
    return (profiles + 0.5 * np.count_nonzero(grown & region)) / area_mm2


def perfused_fraction(
    endothelium: np.ndarray, lumen: np.ndarray, region: np.ndarray | None = None
) -> float:
    """Endothelial cells on vessel-lumen voxels over endothelial cells in the region (0 without
    endothelium, as the time series reports it)."""
    endothelium = np.asarray(endothelium, dtype=bool) & _whole(np.shape(endothelium), region)
    n = np.count_nonzero(endothelium)
    return float(np.count_nonzero(endothelium & lumen_mask(lumen))) / n if n else 0.0


def marrow_mask(mineral: np.ndarray, osteoid: np.ndarray, lumen: np.ndarray) -> np.ndarray:
    """``bool[nx, ny]``: marrow voxels (neither bone nor vessel lumen)."""
    return ~bone_mask(mineral, osteoid) & ~lumen_mask(lumen)


def hypoxic_fraction(
    oxygen_mmHg: np.ndarray, marrow: np.ndarray, threshold_mmHg: float,
    region: np.ndarray | None = None,
) -> float:
    """Fraction of marrow voxels of the region with pO2 below ``threshold_mmHg`` (0 without
    marrow, as the time series reports it)."""
    values = np.asarray(oxygen_mmHg)[np.asarray(marrow, dtype=bool) & _whole(marrow.shape, region)]
    return float(np.mean(values < threshold_mmHg)) if values.size else 0.0


def _disc(radius_voxels: float) -> np.ndarray:
    """``float[2r + 1, 2r + 1]``: 1 at the offsets within ``radius_voxels`` of the centre."""
    reach = int(math.floor(radius_voxels))
    offsets = np.arange(-reach, reach + 1)
    return (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius_voxels**2).astype(np.float64)


def within_distance(
    mask: np.ndarray, voxel_um: float, distance_um: float, periodic: bool = True
) -> np.ndarray:
    """``bool[nx, ny]``: voxels whose centre lies within ``distance_um`` of a voxel of ``mask``
    (the mask dilated by a disc; wrapping round a periodic section)."""
    hits = ndimage.correlate(np.asarray(mask, dtype=np.float64), _disc(distance_um / voxel_um),
                             mode="wrap" if periodic else "constant")
    return hits > 0.5


def clone_focus_mask(
    cell_map: np.ndarray,
    voxel_um: float,
    periodic: bool = True,
    radius_um: float = FOCUS_RADIUS_UM,
    min_plasma_fraction: float = FOCUS_MIN_PLASMA_FRACTION,
) -> np.ndarray:
    """``bool[nx, ny]``: voxels near a clonal focus — where plasma cells occupy at least
    ``min_plasma_fraction`` of the voxels within ``radius_um`` (a disc of the voxel centres at
    distance ≤ radius; on a closed section only the disc's voxels inside the section count).
    Scenario independent: the defaults (:data:`FOCUS_RADIUS_UM`,
    :data:`FOCUS_MIN_PLASMA_FRACTION`) do not know where a scenario put its foci."""
    plasma = (np.asarray(cell_map) == CELL_TYPE_CODE["plasma_cell"]).astype(np.float64)
    disc = _disc(radius_um / voxel_um)
    if periodic:
        fraction = ndimage.correlate(plasma, disc, mode="wrap") / disc.sum()
    else:
        inside = ndimage.correlate(np.ones_like(plasma), disc, mode="constant")
        fraction = ndimage.correlate(plasma, disc, mode="constant") / inside
    return fraction >= min_plasma_fraction - 1e-12


def region_readouts(
    layers: dict[str, np.ndarray],
    voxel_um: float,
    hypoxic_threshold_mmHg: float,
    periodic: bool = True,
    region: np.ndarray | None = None,
    initial_lumen: np.ndarray | None = None,
) -> dict[str, float]:
    """Every snapshot readout of the region from a snapshot's ``layers`` (needs
    ``bone_mineral``, ``osteoid``, ``vessel_lumen``, ``oxygen`` and ``cell_type_map``): BV/TV,
    Tb.Th, Tb.Sp, the surface readouts, MVD (:func:`microvessel_density_per_mm2`, with the first
    snapshot's ``initial_lumen`` if given), perfused and hypoxic fractions, the pO2 histogram,
    cell counts and densities (``<type>_per_mm2``), and the region's area."""
    mineral, osteoid = layers["bone_mineral"], layers["osteoid"]
    lumen, cell_map = layers["vessel_lumen"], layers["cell_type_map"]
    region = _whole(np.shape(mineral), region)
    bone = bone_mask(mineral, osteoid, lumen)
    marrow = marrow_mask(mineral, osteoid, lumen)
    endothelium = np.asarray(cell_map) == CELL_TYPE_CODE["endothelial_cell"]
    area_mm2 = _area_mm2(region, voxel_um)
    out: dict[str, float] = {
        "area_mm2": area_mm2,
        "bone_volume_fraction": bone_volume_fraction(mineral, osteoid, region),
        "trabecular_thickness_um": trabecular_thickness_um(bone, voxel_um, periodic, region),
        "trabecular_separation_um": trabecular_separation_um(bone, voxel_um, periodic, region),
        **surface_readouts(mineral, osteoid, cell_map, voxel_um, periodic, region, lumen),
        "microvessel_density_per_mm2": microvessel_density_per_mm2(
            endothelium, voxel_um, periodic, region, initial_lumen
        ),
        "perfused_vessel_fraction": perfused_fraction(endothelium, lumen, region),
        "hypoxic_marrow_fraction": hypoxic_fraction(
            layers["oxygen"], marrow, hypoxic_threshold_mmHg, region
        ),
        **po2_histogram(np.asarray(layers["oxygen"])[marrow & region]),
    }
    for key, count in cell_counts(cell_map, region).items():
        out[key] = count
        out[f"{key.removeprefix('n_')}_per_mm2"] = count / area_mm2 if area_mm2 else math.nan
    return out


def timeseries_readouts(columns: dict[str, np.ndarray], row: int = -1) -> dict[str, float]:
    """The :data:`TIMESERIES_READOUTS` the run recorded (those present), at row ``row``."""
    return {name: float(columns[name][row]) for name in TIMESERIES_READOUTS if name in columns}
