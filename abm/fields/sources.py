"""Per-voxel source and loss terms of the field equations, computed from the cell table.

Every living cell adds its type's rates to the voxel it occupies, scaled by its HIF-1α activity
where the type has a hypoxic gain, in one pass over the table (:func:`deposit_cell_rates`); the
transport process converts per-cell amounts to
concentrations with the voxel volume (:func:`abm.scenario.units.cell_amount_to_concentration`).
The plain-numpy reference is :func:`deposit_cell_rates_reference`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def deposit_cell_rates(
    alive, cell_type, stage, x, y, n_slots, rates, hif, hif_gain, secretion_fold, out
):
    """Add ``rates[type, stage, k] × (1 + hif_gain[type, k] × hif[cell])`` to ``out[k, x, y]``
    for every living cell, in place; term 0 (secretion) is also × ``secretion_fold[cell]``.

    ``rates``: ``float64[n_types, n_stages, n_terms]`` (a cell's rates depend on its type and
    lineage stage); ``hif``: the cells' HIF-1α activity (0–1; read only where a gain is
    non-zero, so it may be empty when all gains are 0); ``hif_gain``:
    ``float64[n_types, n_terms]``; ``secretion_fold``: the cells' fold change of secretion from
    their response rules (:mod:`abm.processes.responses`; empty: 1); ``out``:
    ``float64[n_terms, nx, ny]``.
    """
    n_terms = rates.shape[2]
    folded = secretion_fold.shape[0] > 0
    for s in range(n_slots):
        if alive[s]:
            t = cell_type[s]
            g = stage[s]
            for k in range(n_terms):
                rate = rates[t, g, k]
                if hif_gain[t, k] != 0.0:
                    rate *= 1.0 + hif_gain[t, k] * hif[s]
                if k == 0 and folded:
                    rate *= secretion_fold[s]
                out[k, x[s], y[s]] += rate


def deposit_cell_rates_reference(
    alive, cell_type, stage, x, y, n_slots, rates, hif, hif_gain, secretion_fold, out
):
    """:func:`deposit_cell_rates` with ``np.add.at``."""
    living = np.flatnonzero(alive[:n_slots])
    types = cell_type[living]
    for k in range(rates.shape[2]):
        gain = hif_gain[types, k]
        factor = np.ones(len(living))
        modulated = gain != 0.0
        factor[modulated] += gain[modulated] * hif[living[modulated]]
        if k == 0 and len(secretion_fold):
            factor *= secretion_fold[living]
        np.add.at(out[k], (x[living], y[living]), rates[types, stage[living], k] * factor)


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
