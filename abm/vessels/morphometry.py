"""Vessel readouts a pathologist would take from a section: vessel profiles and microvessel
density (MVD).

MVD counts distinct vessel cross-sections per mm² of section, as CD34-stained marrow sections
are counted (REFERENCE 1.6: median 48 /mm² in newly diagnosed myeloma). A profile is one
8-connected component of lumen voxels; on a periodic section, components that touch across an
edge are one vessel.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def vessel_profiles(lumen: np.ndarray, periodic: bool) -> int:
    """Number of distinct vessel profiles (8-connected components of the boolean ``lumen``
    map), merging components that touch across the edges when ``periodic``."""
    labels, n = ndimage.label(lumen, structure=EIGHT_CONNECTED)
    if not periodic or n == 0:
        return int(n)
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
    return len({root(label) for label in range(1, n + 1)})


def microvessel_density_per_mm2(lumen: np.ndarray, voxel_um: float, periodic: bool) -> float:
    """Vessel profiles per mm² of section (the whole section's area, bone included, as in a
    stained section's field count)."""
    area_mm2 = lumen.size * (voxel_um * 1e-3) ** 2
    return vessel_profiles(lumen, periodic) / area_mm2
