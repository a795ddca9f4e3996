"""Vessel readouts a pathologist would take from a section: vessel profiles and microvessel
density (MVD), in-plane vessel length, and the marrow pO2 histogram.

MVD counts vessel profiles per mm² of section, as CD34-stained marrow sections are counted
(REFERENCE 1.6: median 48 /mm² in newly diagnosed myeloma). The initial network's vessels cross
the section: each is one profile, an 8-connected component of its endothelium (on a periodic
section, components that touch across an edge are one vessel). Vessels grown by sprouting lie
in the section's plane, where a pathologist's section would not see them whole: they stand for
a 3-D network of the same length density L_V, which a thin section cuts at Q_A = L_V/2 profiles
per area (stereology, isotropic orientation). With the model one voxel deep, L_V = (grown
voxels × voxel)/(area × voxel), so each grown voxel adds half a profile.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def label_vessel_profiles(lumen: np.ndarray, periodic: bool) -> tuple[np.ndarray, int]:
    """``(labels, n)``: each vessel profile (8-connected component of the boolean ``lumen``
    map, merging components that touch across the edges when ``periodic``) numbered 1..n,
    0 outside lumen (``int32[nx, ny]``)."""
    labels, n = ndimage.label(lumen, structure=EIGHT_CONNECTED)
    if not periodic or n == 0:
        return labels.astype(np.int32), int(n)
    parent = np.arange(n + 1)

    def root(label: int) -> int:
        while parent[label] != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    for first, last in ((labels[0], labels[-1]), (labels[:, 0], labels[:, -1])):
        for shift in (-1, 0, 1):  # the wrapped neighbour and its two diagonals
            opposite = np.roll(last, shift)
            touching = (first > 0) & (opposite > 0)
            for a, b in zip(first[touching], opposite[touching], strict=True):
                ra, rb = root(int(a)), root(int(b))
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([root(label) for label in range(n + 1)])
    distinct, merged = np.unique(roots, return_inverse=True)  # root 0 (background) stays 0
    return merged.reshape(-1)[labels].astype(np.int32), len(distinct) - 1


def vessel_profiles(lumen: np.ndarray, periodic: bool) -> int:
    """Number of distinct vessel profiles of the boolean ``lumen`` map
    (:func:`label_vessel_profiles`)."""
    return label_vessel_profiles(lumen, periodic)[1]


def microvessel_density_per_mm2(
    crossing: np.ndarray, grown_voxels: int, voxel_um: float, periodic: bool
) -> float:
    """Vessel profiles per mm² of section (the whole section's area, bone included, as in a
    stained section's field count): the profiles of the boolean map ``crossing`` of vessels
    that cross the section, plus half a profile per voxel of vessel grown in the plane
    (``grown_voxels``; see the module docstring)."""
    area_mm2 = crossing.size * (voxel_um * 1e-3) ** 2
    return (vessel_profiles(crossing, periodic) + 0.5 * grown_voxels) / area_mm2


def in_plane_vessel_length_density_mm_per_mm2(
    grown_vessel_voxels: int, voxel_um: float, area_mm2: float
) -> float:
    """Length of vessel grown in the section's plane per mm² of section: sprouts are chains one
    voxel wide (a tip advances one voxel face at a time), so each grown voxel is ``voxel_um`` of
    vessel. The initial network crosses the section and adds no in-plane length."""
    return grown_vessel_voxels * voxel_um * 1e-3 / area_mm2


PO2_BIN_EDGES_MMHG: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0)
"""Edges of the marrow pO2 histogram, mmHg (REFERENCE 1.4: healthy marrow ~10–32 mmHg); the
last bin also takes pO2 at or above its upper edge."""


def po2_histogram(marrow_pO2_mmHg: np.ndarray) -> dict[str, float]:
    """Fraction of marrow voxels in each bin of :data:`PO2_BIN_EDGES_MMHG`, keyed
    ``marrow_pO2_fraction_<lo>_<hi>_mmHg`` (0 everywhere for an empty section)."""
    edges = np.array(PO2_BIN_EDGES_MMHG)
    counts, _ = np.histogram(np.clip(marrow_pO2_mmHg, edges[0], edges[-1]), bins=edges)
    total = max(int(marrow_pO2_mmHg.size), 1)
    return {
        f"marrow_pO2_fraction_{lo:g}_{hi:g}_mmHg": float(count / total)
        for lo, hi, count in zip(edges[:-1], edges[1:], counts, strict=True)
    }
