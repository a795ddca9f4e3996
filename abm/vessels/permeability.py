"""VEGF-raised hydraulic conductivity of the vessel wall, face by face (REFERENCE 2.6 rule 2c,
2.8).

A wall face is a side shared by a vessel-lumen voxel and a marrow voxel (the section is one voxel
deep, so a face is voxel_um × voxel_um of wall). Its hydraulic conductivity is
Lp = Lp0 · (1 + (F − 1) · φ), with φ = V / (V + K_V) the VEGFR2 occupancy at the VEGF V of the
marrow voxel (the abluminal side, where VEGF is secreted). :func:`wall_conductivity_fold` is the
numba kernel, :func:`wall_conductivity_fold_reference` its numpy reference.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from abm.fields.stack import MARROW, VESSEL_LUMEN


@njit(cache=True)
def wall_conductivity_fold(tissue, vegf, half_occupancy, max_fold, periodic):
    """``(faces, fold_sum)``: the number of lumen–marrow faces and the sum over them of
    Lp/Lp0 = 1 + (max_fold − 1) · V/(V + half_occupancy), V the marrow voxel's VEGF."""
    nx, ny = tissue.shape
    faces = 0
    fold_sum = 0.0
    for i in range(nx):
        for j in range(ny):
            if tissue[i, j] != VESSEL_LUMEN:
                continue
            for direction in range(4):
                ti = i + (1 if direction == 0 else -1 if direction == 1 else 0)
                tj = j + (1 if direction == 2 else -1 if direction == 3 else 0)
                if periodic:
                    ti = ti % nx
                    tj = tj % ny
                elif ti < 0 or ti >= nx or tj < 0 or tj >= ny:
                    continue
                if tissue[ti, tj] == MARROW:
                    v = vegf[ti, tj]
                    faces += 1
                    fold_sum += 1.0 + (max_fold - 1.0) * v / (v + half_occupancy)
    return faces, fold_sum


def wall_conductivity_fold_reference(tissue, vegf, half_occupancy, max_fold, periodic):
    """:func:`wall_conductivity_fold` with whole-array shifts."""
    lumen = tissue == VESSEL_LUMEN
    fold = 1.0 + (max_fold - 1.0) * vegf / (vegf + half_occupancy)
    faces, fold_sum = 0, 0.0
    for axis in (0, 1):
        for shift in (1, -1):
            if periodic:
                neighbour_marrow = np.roll(tissue, -shift, axis) == MARROW
                neighbour_fold = np.roll(fold, -shift, axis)
            else:
                pad = [(0, 0), (0, 0)]
                pad[axis] = (0, 1) if shift == 1 else (1, 0)
                cut = slice(1, None) if shift == 1 else slice(None, -1)
                index = (cut, slice(None)) if axis == 0 else (slice(None), cut)
                neighbour_marrow = np.pad(tissue[index] == MARROW, pad, constant_values=False)
                neighbour_fold = np.pad(fold[index], pad)
            face = lumen & neighbour_marrow
            faces += int(face.sum())
            fold_sum += float(neighbour_fold[face].sum())
    return faces, fold_sum
