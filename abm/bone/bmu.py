"""Remodelling cycles (basic multicellular units) seen at fixed sites of the section.

Nothing in the model schedules a remodelling unit: osteoclasts activate where free RANKL is
high, osteoblast precursors follow the TGF-β that resorption releases and activate once it has
gone. This module makes the result visible the way histomorphometry does, site by site:

* :func:`active_cells_per_site` counts the *active* osteoclasts and osteoblasts in square
  blocks of ``block_voxels`` × ``block_voxels`` voxels (a site); sampled once per simulated day
  it gives each site's osteoclast and osteoblast time series;
* :func:`remodelling_cycles` finds in those series every complete cycle: a resorption episode
  (active osteoclasts present) followed by a formation episode (active osteoblasts present)
  that starts after the resorption began and before the next resorption episode at that site.

Episodes are runs of samples with at least one active cell, with gaps of up to ``gap_d`` days
bridged (one osteoclast dying and the next arriving a day later is one episode). Only cycles
whose resorption starts after the first sample and whose formation ends before the last are
reported, so every duration is fully observed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.cells.table import ACTIVE, CELL_TYPE_CODE, CellTable

OSTEOCLAST = CELL_TYPE_CODE["osteoclast"]
OSTEOBLAST = CELL_TYPE_CODE["osteoblast"]


@dataclass(frozen=True)
class RemodellingCycle:
    """One resorption → formation cycle at a site; times in days from the first sample.

    Attributes:
        site: flat index of the block (row-major over the block grid).
        resorption_start_d: first sample with an active osteoclast.
        resorption_d: duration of the resorption episode.
        reversal_d: from the end of resorption to the first active osteoblast (negative when
            formation begins while osteoclasts are still active at the site).
        formation_d: duration of the formation episode.
    """

    site: int
    resorption_start_d: float
    resorption_d: float
    reversal_d: float
    formation_d: float


def active_cells_per_site(cells: CellTable, block_voxels: int) -> np.ndarray:
    """Active osteoclasts (row 0) and active osteoblasts (row 1) per site, ``int64[2, sites]``.

    Sites are ``block_voxels`` × ``block_voxels`` blocks numbered row-major; a lattice edge that
    is not a multiple of the block size gives a smaller last block.
    """
    if block_voxels < 1:
        raise ValueError(f"block_voxels must be at least 1, got {block_voxels}")
    nx, ny = cells.occupant.shape
    blocks_y = -(-ny // block_voxels)
    n_sites = -(-nx // block_voxels) * blocks_y
    active = cells["alive"] & (cells["stage"] == ACTIVE)
    counts = np.zeros((2, n_sites), dtype=np.int64)
    for row, code in enumerate((OSTEOCLAST, OSTEOBLAST)):
        chosen = active & (cells["cell_type"] == code)
        site = (cells["x"][chosen] // block_voxels) * blocks_y + cells["y"][chosen] // block_voxels
        counts[row] = np.bincount(site, minlength=n_sites)
    return counts


def episodes(present: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Runs of ``True`` in a 1-D boolean series as ``(first, last + 1)`` sample indices, with
    gaps of at most ``max_gap`` ``False`` samples inside a run bridged."""
    where = np.flatnonzero(present)
    if where.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(where) > max_gap + 1)
    starts = np.concatenate(([where[0]], where[breaks + 1]))
    stops = np.concatenate((where[breaks], [where[-1]])) + 1
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def remodelling_cycles(
    osteoclasts: np.ndarray, osteoblasts: np.ndarray, sample_d: float = 1.0, gap_d: float = 5.0
) -> list[RemodellingCycle]:
    """Complete resorption → formation cycles in per-site series ``[samples, sites]``.

    Args:
        osteoclasts, osteoblasts: active cells per site at each sample (e.g. stacked rows of
            :func:`active_cells_per_site`).
        sample_d: days between samples.
        gap_d: longest run of empty samples, in days, bridged inside an episode.
    """
    if osteoclasts.shape != osteoblasts.shape or osteoclasts.ndim != 2:
        raise ValueError("osteoclasts and osteoblasts must be [samples, sites] of equal shape")
    n_samples = osteoclasts.shape[0]
    max_gap = int(gap_d / sample_d)
    cycles = []
    for site in range(osteoclasts.shape[1]):
        resorption = episodes(osteoclasts[:, site] > 0, max_gap)
        formation = episodes(osteoblasts[:, site] > 0, max_gap)
        for i, (r_start, r_stop) in enumerate(resorption):
            next_resorption = resorption[i + 1][0] if i + 1 < len(resorption) else n_samples
            following = [f for f in formation if r_start <= f[0] < next_resorption]
            if r_start == 0 or not following or following[0][1] >= n_samples:
                continue
            f_start, f_stop = following[0]
            cycles.append(RemodellingCycle(
                site=site,
                resorption_start_d=r_start * sample_d,
                resorption_d=(r_stop - r_start) * sample_d,
                reversal_d=(f_start - r_stop) * sample_d,
                formation_d=(f_stop - f_start) * sample_d,
            ))
    return cycles
