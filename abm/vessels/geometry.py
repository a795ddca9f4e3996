"""Initial vessel geometry: which voxels are perfused lumen at t = 0."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from abm.fields.files import read_fraction_file
from abm.scenario.schema import Domain, NoVessels, VesselCrossSections, VesselsFromFile

LUMEN_FRACTION = 0.5
"""A voxel whose vessel-lumen value is at least this is lumen (tissue class ``vessel_lumen``)."""


def cross_section_centres(
    shape_um: tuple[float, float], spacing_um: float, jitter: float, rng: np.random.Generator
) -> np.ndarray:
    """Vessel centres (µm, ``float64[n, 2]``) on a square lattice of ``spacing_um`` covering the
    section, each displaced uniformly by up to ``jitter`` × spacing / 2 per axis."""
    axes = [np.arange(spacing_um / 2, length, spacing_um) for length in shape_um]
    gx, gy = np.meshgrid(*axes, indexing="ij")
    centres = np.column_stack([gx.ravel(), gy.ravel()])
    centres += rng.uniform(-1.0, 1.0, size=centres.shape) * jitter * spacing_um / 2
    return centres


def lumen_discs(
    shape: tuple[int, int], voxel_um: float, centres_um: np.ndarray, radius_um: float
) -> np.ndarray:
    """1.0 on voxels whose centre lies within ``radius_um`` of a vessel centre (periodic
    distances) or that contain a centre, else 0.0 (``float64[nx, ny]``)."""
    lumen = np.zeros(shape)
    size = np.array(shape) * voxel_um
    reach = int(np.ceil(radius_um / voxel_um)) + 1
    offsets = np.arange(-reach, reach + 1)
    for cx, cy in np.mod(centres_um, size):
        i0, j0 = int(cx // voxel_um), int(cy // voxel_um)
        ii, jj = np.meshgrid((i0 + offsets) % shape[0], (j0 + offsets) % shape[1], indexing="ij")
        dx = (i0 + offsets[:, None] + 0.5) * voxel_um - cx
        dy = (j0 + offsets[None, :] + 0.5) * voxel_um - cy
        inside = dx**2 + dy**2 <= radius_um**2
        lumen[ii[inside], jj[inside]] = 1.0
        lumen[i0, j0] = 1.0
    return lumen


def _out_of_bone(centres_um: np.ndarray, bone: np.ndarray, voxel_um: float) -> np.ndarray:
    """Centres inside ``bone`` moved to the centre of the nearest marrow voxel (Euclidean
    distance on the lattice; the search does not wrap around periodic edges)."""
    if not bone.any() or bone.all():
        return centres_um
    size = np.array(bone.shape) * voxel_um
    voxel = (np.mod(centres_um, size) // voxel_um).astype(np.int64)
    nearest = ndimage.distance_transform_edt(bone, return_distances=False, return_indices=True)
    inside = bone[voxel[:, 0], voxel[:, 1]]
    moved = centres_um.copy()
    for axis in (0, 1):
        moved[inside, axis] = (nearest[axis][voxel[inside, 0], voxel[inside, 1]] + 0.5) * voxel_um
    return moved


def initial_vessel_lumen(
    domain: Domain, rng: np.random.Generator, bone: np.ndarray
) -> np.ndarray:
    """Vessel-lumen value (0–1) of every voxel at t = 0, ``float64[nx, ny]``.

    Vessels run through marrow: a procedural cross-section whose centre falls in bone
    (``bone``: boolean map) moves to the nearest marrow voxel (so vessels line the endosteum, as
    the arterioles of Spencer 2014 do, and vessel density per marrow area is kept), and lumen
    discs stop at bone.
    """
    vessels = domain.vessels
    if isinstance(vessels, NoVessels):
        return np.zeros(domain.shape)
    if isinstance(vessels, VesselsFromFile):
        return read_fraction_file(vessels.path, domain.shape)
    if isinstance(vessels, VesselCrossSections):
        centres = cross_section_centres(
            domain.size_um, vessels.spacing_um, vessels.jitter, rng
        )
        centres = _out_of_bone(centres, bone, domain.voxel_um)
        lumen = lumen_discs(domain.shape, domain.voxel_um, centres, vessels.radius_um)
        lumen[bone] = 0.0
        return lumen
    raise TypeError(f"unhandled vessel kind {vessels!r}")
