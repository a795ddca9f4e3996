"""The field solver against a direct sparse solve of the same system, and its guarantees."""

from __future__ import annotations

import numpy as np
import pytest

from abm.fields import reference as ref
from abm.fields.solver import EdgeConditions, FieldSolver, SingularProblemError

EDGE_CASES = [
    EdgeConditions(),
    EdgeConditions("no_flux", "no_flux", "no_flux", "no_flux"),
    EdgeConditions(3.0, "no_flux", "periodic", "periodic"),
    EdgeConditions("periodic", "periodic", 0.0, 7.5),
]


@pytest.mark.parametrize("edges", EDGE_CASES)
@pytest.mark.parametrize("shape", [(24, 24), (37, 29), (64, 9)])
@pytest.mark.parametrize("theta", [1.0, 0.0])
def test_solution_matches_direct_solve(edges, shape, theta):
    """Tissue-like coefficient jumps (×0.01 'bone' patches), uptake hot spots, sources."""
    rng = np.random.default_rng(hash((shape, theta)) % 2**32)
    d = np.full(shape, 42.4)
    d[rng.random(shape) < 0.25] *= 0.01
    loss = rng.uniform(0, 1e-4, shape) + (theta == 0.0) * 1e-5
    source = rng.uniform(0, 1, shape) * (rng.random(shape) < 0.1)
    c = rng.uniform(0, 5, shape)
    solver = FieldSolver(shape, 10.0, 3600.0, edges, relative_tolerance=1e-11)
    solver.set_diffusivity(d)
    got = c.copy()
    report = solver.solve(got, loss, source, theta)
    want = ref.direct_solve(c, d, loss, source, 3600.0, 10.0, edges, theta)
    assert report.relative_residual <= 1e-11
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-9 * want.max())


def test_warm_start_at_the_solution_costs_no_iteration():
    solver = FieldSolver((50, 40), 10.0, 3600.0)
    solver.set_diffusivity(np.full((50, 40), 40.0))
    c = np.zeros((50, 40))
    source = np.zeros((50, 40))
    source[10, 10] = 1.0
    assert solver.solve(c, 1e-4, source, 0.0).iterations > 0
    assert solver.solve(c, 1e-4, source, 0.0).iterations == 0


def test_iterations_do_not_grow_with_the_lattice():
    """Multigrid preconditioning: cold-start CG iterations stay nearly flat from 64² to 512²."""
    counts = []
    for n in (64, 128, 256, 512):
        solver = FieldSolver((n, n), 10.0, 3600.0)
        solver.set_diffusivity(np.full((n, n), 42.4))
        source = np.zeros((n, n))
        source[:: n // 8, :: n // 8] = 1.0
        counts.append(solver.solve(np.zeros((n, n)), 2.55e-4, source, 1.0).iterations)
    assert max(counts) <= min(counts) + 3, counts


def test_concentrations_never_go_negative():
    """A zero-order sink larger than the supply: the exact discrete solution dips below zero
    in places; the solver clips to zero."""
    solver = FieldSolver((30, 30), 10.0, 1.0)
    solver.set_diffusivity(np.full((30, 30), 2000.0))
    source = np.full((30, 30), -50.0)
    source[15, 15] = 3e4
    c = np.full((30, 30), 5.0)
    solver.solve(c, 0.1, source, 0.0)
    assert c.min() == 0.0 and c.max() > 0.0


def test_quasi_steady_without_any_loss_is_refused():
    solver = FieldSolver((16, 16), 10.0, 1.0)
    solver.set_diffusivity(np.full((16, 16), 40.0))
    with pytest.raises(SingularProblemError):
        solver.solve(np.ones((16, 16)), 0.0, 1.0, 0.0)


def test_isolated_voxels_keep_their_value():
    """Zero diffusivity and no loss (e.g. oxygen inside bone with multiplier 0): unchanged."""
    d = np.full((20, 20), 2000.0)
    d[5:8, 5:8] = 0.0
    solver = FieldSolver((20, 20), 10.0, 1.0)
    solver.set_diffusivity(d)
    loss = np.where(d > 0, 1.0, 0.0)
    c = np.full((20, 20), 7.0)
    solver.solve(c, loss, 0.0, 0.0)
    assert np.all(c[5:8, 5:8] == 7.0) and c[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_bad_inputs_are_rejected():
    solver = FieldSolver((8, 8), 10.0, 1.0)
    with pytest.raises(RuntimeError, match="set_diffusivity"):
        solver.solve(np.zeros((8, 8)), 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        solver.set_diffusivity(np.full((8, 8), -1.0))
    with pytest.raises(ValueError, match="both be periodic"):
        EdgeConditions("periodic", "no_flux")


def test_fields_decayed_to_tiny_values_do_not_break_the_solve():
    """A species decaying without source for weeks reaches ~1e-160: squares underflow."""
    solver = FieldSolver((32, 32), 10.0, 3600.0)
    solver.set_diffusivity(np.full((32, 32), 40.0))
    rng = np.random.default_rng(1)
    c = rng.uniform(0.5, 1.5, (32, 32)) * 1e-165
    want = ref.direct_solve(c / 1e-165, np.full((32, 32), 40.0), 1e-4, 0.0, 3600.0, 10.0,
                            EdgeConditions(), 1.0) * 1e-165
    solver.solve(c, 1e-4, 0.0, 1.0)
    np.testing.assert_allclose(c, want, rtol=1e-6)


def test_subnormal_fields_are_flushed_not_poisoned():
    """A field decayed into the subnormal range neither overflows the rescaling (NaN) nor
    lingers there: it becomes exactly zero."""
    solver = FieldSolver((16, 16), 10.0, 3600.0)
    solver.set_diffusivity(np.full((16, 16), 40.0))
    c = np.full((16, 16), 1e-320)
    solver.solve(c, 1e-4, 0.0, 1.0)
    assert np.all(c == 0.0)
