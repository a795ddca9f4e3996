"""Per-voxel source and loss terms of the field equations, computed from the cell table.

Every living cell adds its type's rates to the voxel it occupies, in one pass over the table
(:func:`deposit_cell_rates`); the transport process converts per-cell amounts to
concentrations with the voxel volume (:func:`abm.scenario.units.cell_amount_to_concentration`).
The plain-numpy reference is :func:`deposit_cell_rates_reference`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def deposit_cell_rates(alive, cell_type, stage, x, y, n_slots, rates, out):
    """Add ``rates[type, stage, k]`` to ``out[k, x, y]`` for every living cell, in place.

    ``rates``: ``float64[n_types, n_stages, n_terms]`` (a cell's rates depend on its type and
    lineage stage); ``out``: ``float64[n_terms, nx, ny]``.
    """
    n_terms = rates.shape[2]
    for s in range(n_slots):
        if alive[s]:
            t = cell_type[s]
            g = stage[s]
            for k in range(n_terms):
                out[k, x[s], y[s]] += rates[t, g, k]


def deposit_cell_rates_reference(alive, cell_type, stage, x, y, n_slots, rates, out):
    """:func:`deposit_cell_rates` with ``np.add.at``."""
    living = np.flatnonzero(alive[:n_slots])
    for k in range(rates.shape[2]):
        np.add.at(
            out[k], (x[living], y[living]), rates[cell_type[living], stage[living], k]
        )


def linearized_consumption(
    max_rate: np.ndarray, half_saturation: float, concentration: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Newton linearization of Michaelis–Menten consumption m·c/(c + K) around ``concentration``.

    Returns ``(loss, sink)`` such that m·c/(c + K) ≈ loss·c + sink near the expansion point:
    loss = m·K/(c₀ + K)² (1/s) and sink = m·c₀²/(c₀ + K)² (unit/s). With K = 0 the consumption
    is zero-order: loss = 0 and sink = m.
    """
    if half_saturation == 0.0:
        return np.zeros_like(max_rate), max_rate.copy()
    denominator = (concentration + half_saturation) ** 2
    return (
        max_rate * half_saturation / denominator,
        max_rate * concentration**2 / denominator,
    )
