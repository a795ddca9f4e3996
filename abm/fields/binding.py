"""Fast OPG–RANKL binding: free RANKL from the total OPG and total RANKL of each voxel.

OPG is a decoy receptor: RANKL bound to it cannot reach RANK on osteoclast precursors. Binding
(k_on ≈ 1e-2 /(pM·d), k_off ≈ 10 /d, REFERENCE §1.2 Lemaire 2004) equilibrates within hours, so
each voxel is taken at equilibrium, L·O/C = K_d, with the totals L_T = L + C and O_T = O + C.
The complex is the smaller root of C² − (L_T + O_T + K_d)·C + L_T·O_T = 0, computed in the
cancellation-free form C = 2·L_T·O_T / (S + √(S² − 4·L_T·O_T)), S = L_T + O_T + K_d.
The plain-numpy reference is :func:`free_rankl_reference`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def free_rankl(opg_total_pM, rankl_total_pM, kd_pM, out):
    """Free RANKL (pM) per voxel into ``out`` (same shape as the inputs)."""
    nx, ny = out.shape
    for i in range(nx):
        for j in range(ny):
            lt = rankl_total_pM[i, j]
            ot = opg_total_pM[i, j]
            s = lt + ot + kd_pM
            disc = max(s * s - 4.0 * lt * ot, 0.0)
            denominator = s + np.sqrt(disc)
            bound = 2.0 * lt * ot / denominator if denominator > 0.0 else 0.0
            out[i, j] = max(lt - bound, 0.0)


def free_rankl_reference(opg_total_pM, rankl_total_pM, kd_pM):
    """:func:`free_rankl` from the textbook root (S − √(S² − 4·L_T·O_T))/2."""
    s = rankl_total_pM + opg_total_pM + kd_pM
    bound = (s - np.sqrt(s * s - 4 * rankl_total_pM * opg_total_pM)) / 2
    return rankl_total_pM - bound
