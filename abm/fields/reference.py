"""Plain-numpy references of the transport kernels, for tests and benchmarks.

Each function has the semantics of the numba kernel named in its docstring, written the obvious
vectorized way (``np.roll`` stencils, ``np.add.at`` deposition) or, for the whole solve, as an
assembled ``scipy.sparse`` matrix solved directly.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from abm.fields.solver import EdgeConditions


def face_weights(diffusivity, scale, periodic_x, periodic_y):
    """:func:`abm.fields.multigrid.face_weights`: ``(wx, wy)`` as ``[nx, ny]`` arrays."""
    out = []
    for axis, periodic in ((0, periodic_x), (1, periodic_y)):
        d0, d1 = diffusivity, np.roll(diffusivity, -1, axis=axis)
        total = d0 + d1
        w = np.where(total > 0, scale * 2 * d0 * d1 / np.where(total > 0, total, 1), 0.0)
        if not periodic:
            index = [slice(None), slice(None)]
            index[axis] = -1
            w[tuple(index)] = 0.0
        out.append(w)
    return out[0], out[1]


def apply_operator(diag, wx, wy, u):
    """:func:`abm.fields.multigrid.apply_operator` on ``[nx, ny]`` arrays."""
    return (
        diag * u
        - wx * np.roll(u, -1, 0) - np.roll(wx, 1, 0) * np.roll(u, 1, 0)
        - wy * np.roll(u, -1, 1) - np.roll(wy, 1, 1) * np.roll(u, 1, 1)
    )


def diagonal(alpha, wall_x, wall_y, wx, wy):
    """:func:`abm.fields.multigrid.level_diagonal` on ``[nx, ny]`` arrays."""
    return alpha + wall_x + wall_y + wx + np.roll(wx, 1, 0) + wy + np.roll(wy, 1, 1)


def smooth_red_black(diag, wx, wy, u, f):
    """:func:`abm.fields.multigrid.smooth` (forward) for even ``nx`` and ``ny``: each colour is a
    Jacobi update of that colour (its neighbours all have the other colour)."""
    u = u.copy()
    i, j = np.indices(u.shape)
    for colour in (0, 1):
        neighbours = (
            wx * np.roll(u, -1, 0) + np.roll(wx, 1, 0) * np.roll(u, 1, 0)
            + wy * np.roll(u, -1, 1) + np.roll(wy, 1, 1) * np.roll(u, 1, 1)
        )
        mask = (i + j) % 2 == colour
        u[mask] = ((f + neighbours) / diag)[mask]
    return u


def restrict(r, factor):
    """:func:`abm.fields.multigrid.restrict`: sums over ``factor``-sized aggregates."""
    fx, fy = factor
    nx, ny = r.shape
    cnx, cny = -(-nx // fx), -(-ny // fy)
    out = np.zeros((cnx, cny))
    np.add.at(out, (np.arange(nx)[:, None] // fx, np.arange(ny)[None, :] // fy), r)
    return out


def prolong(u_coarse, factor, fine_shape):
    """:func:`abm.fields.multigrid.prolong_add` (the added term): constant over aggregates."""
    fx, fy = factor
    return np.repeat(np.repeat(u_coarse, fx, 0), fy, 1)[: fine_shape[0], : fine_shape[1]]


def assemble(
    diffusivity, loss_per_s, dt_s, voxel_um, edges: EdgeConditions, theta
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The solver's linear system as a sparse matrix.

    Returns ``(A, wall_source, alpha)`` so that one solve is ``A·c = theta·c_old + Δt·b +
    wall_source``, built with explicit loops over faces (independent of the kernels).
    """
    nx, ny = diffusivity.shape
    n = nx * ny
    scale = dt_s / voxel_um**2
    index = np.arange(n).reshape(nx, ny)
    alpha = theta + np.broadcast_to(loss_per_s, (nx, ny)) * dt_s
    rows, cols, vals = [], [], []
    diag = alpha.astype(float).ravel().copy()
    wall_source = np.zeros(n)

    def harmonic(a, b):
        return 2 * a * b / (a + b) if a + b > 0 else 0.0

    for i in range(nx):
        for j in range(ny):
            k = index[i, j]
            for di, dj, periodic in ((1, 0, edges.periodic_x), (0, 1, edges.periodic_y)):
                ti, tj = i + di, j + dj
                if ti >= nx or tj >= ny:
                    if not periodic:
                        continue
                    ti, tj = ti % nx, tj % ny
                w = scale * harmonic(diffusivity[i, j], diffusivity[ti, tj])
                m = index[ti, tj]
                diag[k] += w
                diag[m] += w
                rows += [k, m]
                cols += [m, k]
                vals += [-w, -w]
    for edge, voxels in (
        ("x_min", index[0, :]), ("x_max", index[-1, :]),
        ("y_min", index[:, 0]), ("y_max", index[:, -1]),
    ):
        value = edges.fixed(edge)
        if value is not None:
            coupling = 2 * scale * diffusivity.ravel()[voxels]
            np.add.at(diag, voxels, coupling)
            np.add.at(wall_source, voxels, coupling * value)
    rows += list(range(n))
    cols += list(range(n))
    vals += list(diag)
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    return matrix, wall_source, alpha


def direct_solve(
    concentration, diffusivity, loss_per_s, source_per_s, dt_s, voxel_um, edges, theta
) -> np.ndarray:
    """:meth:`abm.fields.solver.FieldSolver.solve` by ``scipy.sparse.linalg.spsolve``."""
    from scipy.sparse.linalg import spsolve

    matrix, wall_source, _ = assemble(diffusivity, loss_per_s, dt_s, voxel_um, edges, theta)
    rhs = (
        theta * concentration
        + np.broadcast_to(source_per_s, concentration.shape) * dt_s
    ).ravel() + wall_source
    return np.maximum(spsolve(matrix.tocsc(), rhs), 0.0).reshape(concentration.shape)


def coarsen(alpha, wall_x, wall_y, wx, wy, factor):
    """:func:`abm.fields.multigrid.coarsen` on ``[nx, ny]`` arrays: returns the coarse
    ``(alpha, wall_x, wall_y, wx, wy)``."""
    fx, fy = factor
    nx, ny = alpha.shape
    i = np.arange(nx)[:, None] // fx + 0 * np.arange(ny)[None, :]
    j = 0 * np.arange(nx)[:, None] + np.arange(ny)[None, :] // fy
    last_x = ((np.arange(nx) % fx == fx - 1) | (np.arange(nx) == nx - 1))[:, None]
    last_y = ((np.arange(ny) % fy == fy - 1) | (np.arange(ny) == ny - 1))[None, :]
    out = []
    for values in (alpha, wall_x / fx, wall_y / fy, np.where(last_x, wx / fx, 0.0),
                   np.where(last_y, wy / fy, 0.0)):
        coarse = np.zeros((-(-nx // fx), -(-ny // fy)))
        np.add.at(coarse, (i, j), values)
        out.append(coarse)
    return tuple(out)
