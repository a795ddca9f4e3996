"""OPG–RANKL equilibrium: kernel against reference, and the equilibrium it must satisfy."""

from __future__ import annotations

import numpy as np
import pytest

from abm.fields.binding import free_rankl, free_rankl_reference


def test_free_rankl_matches_reference_and_mass_action():
    rng = np.random.default_rng(7)
    opg = 10 ** rng.uniform(-2, 5, (40, 30))
    rankl = 10 ** rng.uniform(-2, 3, (40, 30))
    kd = 1000.0
    out = np.zeros_like(opg)
    free_rankl(opg, rankl, kd, out)
    np.testing.assert_allclose(out, free_rankl_reference(opg, rankl, kd), rtol=1e-6)
    bound = rankl - out
    free_opg = opg - bound
    np.testing.assert_allclose(out * free_opg, kd * bound, rtol=1e-8)  # L·O = Kd·C
    assert np.all((out >= 0) & (out <= rankl))


def test_pivonka_steady_state_free_rankl():
    """Total RANKL 10.67 pM with OPG 1.84e4 pM and Kd = 1000 pM leaves ~0.55 pM free
    (REFERENCE §1.2 Pivonka steady state; base.yaml's initial RANKL)."""
    out = np.zeros((1, 1))
    free_rankl(np.full((1, 1), 18400.0), np.full((1, 1), 10.67), 1000.0, out)
    assert out[0, 0] == pytest.approx(0.55, rel=0.01)


def test_no_opg_leaves_all_rankl_free():
    out = np.zeros((1, 2))
    free_rankl(np.zeros((1, 2)), np.array([[0.0, 3.0]]), 1000.0, out)
    np.testing.assert_array_equal(out, [[0.0, 3.0]])
