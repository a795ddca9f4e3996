"""Multigrid kernels against their numpy references (:mod:`abm.fields.reference`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.fields import multigrid as mg
from abm.fields import reference as ref

shapes = st.tuples(st.integers(2, 23), st.integers(2, 23))


def random_operator(rng, shape):
    """Positive random coefficients as ``[nx, ny]`` arrays: alpha, wall_x, wall_y, wx, wy."""
    return [rng.uniform(0.0, 2.0, shape) for _ in range(5)]


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16), px=st.booleans(), py=st.booleans())
def test_face_weights_match_reference(shape, seed, px, py):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 100, shape) * (rng.random(shape) > 0.2)  # some zero diffusivity
    wx, wy = np.zeros(d.size), np.zeros(d.size)
    mg.face_weights(d, 0.7, px, py, wx, wy)
    want_x, want_y = ref.face_weights(d, 0.7, px, py)
    np.testing.assert_allclose(wx.reshape(shape), want_x, rtol=1e-14)
    np.testing.assert_allclose(wy.reshape(shape), want_y, rtol=1e-14)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_diagonal_operator_and_residual_match_reference(shape, seed):
    rng = np.random.default_rng(seed)
    alpha, wall_x, wall_y, wx, wy = random_operator(rng, shape)
    nx, ny = shape
    diag = np.zeros(nx * ny)
    mg.level_diagonal(0, nx, ny, alpha.ravel(), wall_x.ravel(), wall_y.ravel(),
                      wx.ravel(), wy.ravel(), diag)
    want_diag = ref.diagonal(alpha, wall_x, wall_y, wx, wy)
    np.testing.assert_allclose(diag.reshape(shape), want_diag, rtol=1e-14)
    u, f = rng.normal(size=shape), rng.normal(size=shape)
    out, r = np.zeros(nx * ny), np.zeros(nx * ny)
    mg.apply_operator(0, nx, ny, diag, wx.ravel(), wy.ravel(), u.ravel(), out)
    want = ref.apply_operator(want_diag, wx, wy, u)
    np.testing.assert_allclose(out.reshape(shape), want, rtol=1e-12, atol=1e-12)
    mg.residual(0, nx, ny, diag, wx.ravel(), wy.ravel(), u.ravel(), f.ravel(), r)
    np.testing.assert_allclose(r.reshape(shape), f - want, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(half=st.tuples(st.integers(1, 10), st.integers(1, 10)), seed=st.integers(0, 2**16))
def test_forward_sweep_matches_two_pass_red_black_on_even_lattices(half, seed):
    """For even sizes the fused single-pass sweep equals the classic two-colour sweep."""
    shape = (2 * half[0], 2 * half[1])
    rng = np.random.default_rng(seed)
    alpha, wall_x, wall_y, wx, wy = random_operator(rng, shape)
    diag = ref.diagonal(alpha, wall_x, wall_y, wx, wy)
    u, f = rng.normal(size=shape), rng.normal(size=shape)
    got = u.ravel().copy()
    mg.smooth(0, *shape, diag.ravel(), wx.ravel(), wy.ravel(), got, f.ravel(), True)
    np.testing.assert_allclose(got.reshape(shape), ref.smooth_red_black(diag, wx, wy, u, f),
                               rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_backward_sweep_is_the_adjoint_of_the_forward_sweep(shape, seed):
    """Symmetric smoothing: with S_f, S_b the error propagators of the forward and backward
    sweeps, A·S_f = S_bᵀ·A, which makes the V-cycle a symmetric preconditioner."""
    nx, ny = shape
    rng = np.random.default_rng(seed)
    alpha, wall_x, wall_y, wx, wy = random_operator(rng, shape)
    alpha += 0.1
    diag = ref.diagonal(alpha, wall_x, wall_y, wx, wy).ravel()
    n = nx * ny
    zero = np.zeros(n)

    def propagator(forward):
        columns = []
        for k in range(n):
            e = np.zeros(n)
            e[k] = 1.0
            mg.smooth(0, nx, ny, diag, wx.ravel(), wy.ravel(), e, zero, forward)
            columns.append(e)
        return np.array(columns).T

    a = np.zeros((n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = 1.0
        mg.apply_operator(0, nx, ny, diag, wx.ravel(), wy.ravel(), e, a[:, k])
    np.testing.assert_allclose(a @ propagator(True), propagator(False).T @ a, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16), fx=st.sampled_from([1, 2]),
       fy=st.sampled_from([1, 2]))
def test_transfers_and_coarsening_match_reference(shape, seed, fx, fy):
    rng = np.random.default_rng(seed)
    nx, ny = shape
    cnx, cny = -(-nx // fx), -(-ny // fy)
    n, nc = nx * ny, cnx * cny
    fields = random_operator(rng, shape)
    flat = [np.concatenate([a.ravel(), np.zeros(nc)]) for a in fields]
    mg.coarsen(0, nx, ny, n, cnx, cny, fx, fy, *flat)
    for got, want in zip(flat, ref.coarsen(*fields, (fx, fy)), strict=True):
        np.testing.assert_allclose(got[n:].reshape(cnx, cny), want, rtol=1e-13)
    r = rng.normal(size=shape)
    buffer = np.concatenate([r.ravel(), np.zeros(nc)])
    mg.restrict(0, nx, ny, n, cnx, cny, fx, fy, buffer, buffer)
    np.testing.assert_allclose(buffer[n:].reshape(cnx, cny), ref.restrict(r, (fx, fy)),
                               rtol=1e-12, atol=1e-12)
    coarse = rng.normal(size=(cnx, cny))
    u = np.concatenate([np.zeros(n), coarse.ravel()])
    mg.prolong_add(0, nx, ny, n, cnx, cny, fx, fy, u)
    np.testing.assert_array_equal(u[:n].reshape(shape), ref.prolong(coarse, (fx, fy), shape))


@pytest.mark.parametrize("shape", [(2, 2), (5, 4), (8, 8), (3, 7)])
def test_coarsest_cholesky_matches_numpy(shape):
    rng = np.random.default_rng(3)
    nx, ny = shape
    alpha, wall_x, wall_y, wx, wy = random_operator(rng, shape)
    alpha += 0.5
    diag = ref.diagonal(alpha, wall_x, wall_y, wx, wy).ravel()
    n = nx * ny
    a = np.zeros((n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = 1.0
        mg.apply_operator(0, nx, ny, diag, wx.ravel(), wy.ravel(), e, a[:, k])
    chol = np.zeros((n, n))
    assert mg.coarsest_cholesky(0, nx, ny, diag, wx.ravel(), wy.ravel(), chol)
    np.testing.assert_allclose(np.tril(chol), np.linalg.cholesky(a), rtol=1e-10, atol=1e-12)


def test_coarsest_cholesky_reports_a_singular_matrix():
    """Pure periodic diffusion without any loss has constants in its null space."""
    n = 16
    diag, wx, wy = np.full(n, 4.0), np.ones(n), np.ones(n)
    assert not mg.coarsest_cholesky(0, 4, 4, diag, wx, wy, np.zeros((n, n)))


@pytest.mark.parametrize(
    ("shape", "levels", "coarsest"),
    [
        ((200, 200), 6, (7, 7)), ((1024, 1024), 8, (8, 8)), ((256, 64), 5, (16, 4)),
        ((4096, 4), 8, (32, 2)), ((3, 2), 1, (3, 2)),
    ],
)
def test_level_shapes(shape, levels, coarsest):
    shapes, offsets, factors = mg.level_shapes(shape)
    assert len(shapes) == levels and tuple(shapes[-1]) == coarsest
    assert offsets[-1] == (shapes[:, 0] * shapes[:, 1]).sum()
    assert shapes[-1, 0] * shapes[-1, 1] <= mg.COARSEST_VOXELS or shapes[-1].max() <= 2
