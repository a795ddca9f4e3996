"""Cell rates onto the lattice: kernel against reference; Michaelis–Menten linearization."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.fields.sources import (
    deposit_cell_rates,
    deposit_cell_rates_reference,
    linearized_consumption,
)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(0, 300), folded=st.booleans())
def test_deposit_matches_reference(seed, n, folded):
    rng = np.random.default_rng(seed)
    shape = (12, 9)
    alive = rng.random(n + 5) < 0.8  # rows past n_slots must be ignored
    cell_type = rng.integers(0, 5, n + 5).astype(np.int8)
    x = rng.integers(0, shape[0], n + 5).astype(np.int32)
    y = rng.integers(0, shape[1], n + 5).astype(np.int32)
    stage = rng.integers(0, 3, n + 5).astype(np.int8)
    rates = rng.uniform(0, 1, (5, 3, 3))
    hif = rng.random(n + 5)
    hif_gain = rng.uniform(0, 5, (5, 3)) * (rng.random((5, 3)) < 0.5)  # some types unmodulated
    fold = rng.uniform(0, 4, n + 5) if folded else np.zeros(0)
    got, want = np.zeros((3, *shape)), np.zeros((3, *shape))
    deposit_cell_rates(alive, cell_type, stage, x, y, n, rates, hif, hif_gain, fold, got)
    deposit_cell_rates_reference(alive, cell_type, stage, x, y, n, rates, hif, hif_gain, fold,
                                 want)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_deposit_scales_a_cell_by_one_plus_gain_times_hif_and_its_fold():
    """One cell: secretion × (1 + a_H·HIF) × its secretion fold, the other terms unchanged;
    with all gains 0 the HIF array is never read (it may be empty)."""
    one = np.array([True]), np.array([2], np.int8), np.array([1], np.int8)
    at = np.array([3], np.int32), np.array([4], np.int32)
    rates = np.zeros((5, 3, 3))
    rates[2, 1] = [2.0, 0.5, 7.0]
    hif_gain = np.zeros((5, 3))
    hif_gain[2, 0] = 4.0
    out = np.zeros((3, 6, 6))
    deposit_cell_rates(*one, *at, 1, rates, np.array([0.25]), hif_gain, np.array([3.0]), out)
    assert out[:, 3, 4].tolist() == [2.0 * (1 + 4.0 * 0.25) * 3.0, 0.5, 7.0]
    unmodulated = np.zeros((3, 6, 6))
    deposit_cell_rates(*one, *at, 1, rates, np.zeros(0), np.zeros((5, 3)), np.zeros(0),
                       unmodulated)
    assert unmodulated[:, 3, 4].tolist() == [2.0, 0.5, 7.0]


def test_linearized_consumption_is_exact_at_the_expansion_point_and_tangent():
    m, k = np.array([2.0, 5.0]), 1.5
    c0 = np.array([0.5, 20.0])
    loss, sink = linearized_consumption(m, k, c0)
    np.testing.assert_allclose(loss * c0 + sink, m * c0 / (c0 + k))
    np.testing.assert_allclose(loss, m * k / (c0 + k) ** 2)  # the derivative
    loss0, sink0 = linearized_consumption(m, 0.0, c0)
    assert np.all(loss0 == 0) and np.all(sink0 == m)  # zero-order
