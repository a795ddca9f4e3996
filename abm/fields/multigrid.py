"""Multigrid-preconditioned conjugate gradients for one field's implicit step (numba kernels).

Every transport solve in the model is one symmetric positive-definite system on the lattice,

    diag[i,j]·u[i,j] − Σ_faces w_face·u[neighbour] = f[i,j],
    diag = alpha + wall_x + wall_y + Σ_faces w_face,

a cell-centred finite-volume discretization of ``theta·c + Δt·(a·c − ∇·(D∇c)) = theta·c_old +
Δt·b`` (see :mod:`abm.fields.solver`). ``wx[i, j]`` is the weight of the face between voxel
``(i, j)`` and ``(i+1, j)`` (the last column's face wraps to column 0 and is zero unless the x
edges are periodic); ``wy`` likewise along y. ``wall_x`` / ``wall_y`` are fixed-value edge
couplings, already folded into the right-hand side by the caller.

Levels live in flat float64 buffers: level ``l`` has shape ``shape[l]`` and occupies
``[offset[l], offset[l+1])`` in C order (``index = offset + i·ny + j``). A coarse voxel aggregates
``factor[l]`` fine voxels per axis (2, or 1 once an axis is down to 2 voxels; the kernels rely
on factors being 1 or 2); coarse operators are
re-discretized from the fine coefficients (reaction terms summed, face weights summed over the
crossing fine faces and divided by the aggregation factor across the face), residuals are
restricted by summation and corrections prolonged as constants. The coarsest level (≤ 64 voxels)
is solved exactly by a Cholesky factorization. The V-cycle smooths with red–black Gauss–Seidel,
post-smoothing in the exact reverse order of pre-smoothing, so the V-cycle is a symmetric
preconditioner and CG converges for any positive coefficients.

These kernels call each other and therefore live in one module (numba's cache does not follow
edits across modules). Plain-numpy references are in :mod:`abm.fields.reference`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

COARSEST_VOXELS = 64
"""Coarsening stops once a level has at most this many voxels (solved directly)."""


def level_shapes(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shapes, flat offsets and aggregation factors of the multigrid hierarchy of ``shape``.

    Returns ``(shapes int64[L, 2], offsets int64[L + 1], factors int64[L, 2])``; ``factors[l]``
    is the aggregation from level ``l`` to ``l + 1`` (the last row is unused).
    """
    shapes, factors = [tuple(shape)], []
    nx, ny = shape
    while nx * ny > COARSEST_VOXELS and (nx > 2 or ny > 2):
        fx, fy = (2 if nx > 2 else 1), (2 if ny > 2 else 1)
        factors.append((fx, fy))
        nx, ny = -(-nx // fx), -(-ny // fy)
        shapes.append((nx, ny))
    factors.append((1, 1))
    shapes_a = np.array(shapes, dtype=np.int64)
    offsets = np.zeros(len(shapes) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(shapes_a[:, 0] * shapes_a[:, 1])
    return shapes_a, offsets, np.array(factors, dtype=np.int64)


# --------------------------------------------------------------------------- operator


@njit(cache=True)
def face_weights(diffusivity, scale, periodic_x, periodic_y, wx, wy):
    """Fine-level face weights from per-voxel diffusivity, in place (flat ``wx``, ``wy``).

    A face between voxels of diffusivity D1 and D2 gets ``scale`` × the harmonic mean
    2·D1·D2/(D1 + D2) (zero if either is zero): the flux-continuous choice across tissue
    boundaries. ``scale`` is Δt/Δx² for a cell-centred five-point stencil.
    """
    nx, ny = diffusivity.shape
    for i in range(nx):
        ip = i + 1 if i + 1 < nx else 0
        for j in range(ny):
            jp = j + 1 if j + 1 < ny else 0
            d0 = diffusivity[i, j]
            k = i * ny + j
            if ip != 0 or periodic_x:
                d1 = diffusivity[ip, j]
                wx[k] = scale * 2.0 * d0 * d1 / (d0 + d1) if d0 + d1 > 0.0 else 0.0
            else:
                wx[k] = 0.0
            if jp != 0 or periodic_y:
                d1 = diffusivity[i, jp]
                wy[k] = scale * 2.0 * d0 * d1 / (d0 + d1) if d0 + d1 > 0.0 else 0.0
            else:
                wy[k] = 0.0


@njit(cache=True)
def level_diagonal(off, nx, ny, alpha, wall_x, wall_y, wx, wy, diag):
    """``diag = alpha + wall_x + wall_y + Σ face weights`` on one level, in place."""
    for i in range(nx):
        im = i - 1 if i > 0 else nx - 1
        for j in range(ny):
            jm = j - 1 if j > 0 else ny - 1
            k = off + i * ny + j
            diag[k] = (
                alpha[k] + wall_x[k] + wall_y[k]
                + wx[k] + wx[off + im * ny + j] + wy[k] + wy[off + i * ny + jm]
            )


@njit(cache=True)
def coarsen(fine_off, fnx, fny, coarse_off, cnx, cny, fx, fy, alpha, wall_x, wall_y, wx, wy):
    """Re-discretize the coarse level from the fine one (in place in the flat buffers).

    Reaction terms sum over the aggregate; a coarse face weight is the sum of the fine face
    weights crossing it divided by the aggregation factor across the face; fixed-value edge
    couplings likewise (their fine faces lie half a fine voxel from the wall).
    """
    for k in range(coarse_off, coarse_off + cnx * cny):
        alpha[k] = 0.0
        wall_x[k] = 0.0
        wall_y[k] = 0.0
        wx[k] = 0.0
        wy[k] = 0.0
    sx, sy = fx >> 1, fy >> 1  # factors are 1 or 2: index // factor == index >> shift
    for i in range(fnx):
        ci = i >> sx
        last_x = (i & sx == sx) or (i == fnx - 1)  # the aggregate's last fine row
        for j in range(fny):
            cj = j >> sy
            last_y = (j & sy == sy) or (j == fny - 1)
            kf = fine_off + i * fny + j
            kc = coarse_off + ci * cny + cj
            alpha[kc] += alpha[kf]
            wall_x[kc] += wall_x[kf] / fx
            wall_y[kc] += wall_y[kf] / fy
            if last_x:
                wx[kc] += wx[kf] / fx
            if last_y:
                wy[kc] += wy[kf] / fy


@njit(cache=True)
def build_levels(shapes, offsets, factors, alpha, wall_x, wall_y, wx, wy, diag):
    """Every coarse level from level 0 (:func:`coarsen`) and every level's diagonal
    (:func:`level_diagonal`), in place in the flat buffers."""
    for level in range(shapes.shape[0]):
        if level > 0:
            coarsen(
                offsets[level - 1], shapes[level - 1, 0], shapes[level - 1, 1],
                offsets[level], shapes[level, 0], shapes[level, 1],
                factors[level - 1, 0], factors[level - 1, 1], alpha, wall_x, wall_y, wx, wy,
            )
        level_diagonal(
            offsets[level], shapes[level, 0], shapes[level, 1], alpha, wall_x, wall_y, wx, wy,
            diag,
        )


@njit(cache=True, inline="always")
def _a_times_u(d, ax, aw, ay, uc, ue, uw, j, north, south):
    """(A·u) at position ``j`` of a row, given the row slices (see :func:`_stencil`) and the
    positions of its y-neighbours."""
    return (
        d[j] * uc[j] - ax[j] * ue[j] - aw[j] * uw[j] - ay[j] * uc[north] - ay[south] * uc[south]
    )


@njit(cache=True)
def _stencil(off, nx, ny, diag, wx, wy, u, f, out, residual_form):
    """``out = A·u``, or ``out = f − A·u`` when ``residual_form``, on one level.

    Each row works on slices of its own and its two neighbour rows, so the interior loop
    indexes with a non-negative loop counter (numba then drops its negative-index wrap check)
    and LLVM vectorizes it (the loop-invariant ``residual_form`` test is hoisted); the two end
    voxels of a row wrap along y.
    """
    last = ny - 1
    sign = -1.0 if residual_form else 1.0
    for i in range(nx):
        row = off + i * ny
        east = off + (i + 1 if i + 1 < nx else 0) * ny
        west = off + (i - 1 if i > 0 else nx - 1) * ny
        d, ax, aw, ay = diag[row:row + ny], wx[row:row + ny], wx[west:west + ny], wy[row:row + ny]
        uc, ue, uw, o = u[row:row + ny], u[east:east + ny], u[west:west + ny], out[row:row + ny]
        fc = f[row:row + ny]
        o[0] = sign * _a_times_u(d, ax, aw, ay, uc, ue, uw, 0, 1 % ny, last) + (
            fc[0] if residual_form else 0.0
        )
        for j in range(1, last):
            o[j] = sign * _a_times_u(d, ax, aw, ay, uc, ue, uw, j, j + 1, j - 1) + (
                fc[j] if residual_form else 0.0
            )
        if last > 0:
            o[last] = sign * _a_times_u(d, ax, aw, ay, uc, ue, uw, last, 0, last - 1) + (
                fc[last] if residual_form else 0.0
            )


@njit(cache=True)
def apply_operator(off, nx, ny, diag, wx, wy, u, out):
    """``out = A·u`` on one level."""
    _stencil(off, nx, ny, diag, wx, wy, u, u, out, False)


@njit(cache=True)
def residual(off, nx, ny, diag, wx, wy, u, f, r):
    """``r = f − A·u`` on one level."""
    _stencil(off, nx, ny, diag, wx, wy, u, f, r, True)


# --------------------------------------------------------------------------- smoothing


@njit(cache=True, inline="always")
def _relax(d, ax, aw, ay, uc, ue, uw, fc, j, north, south):
    """Gauss–Seidel update of position ``j`` of a row from its neighbours' current values."""
    uc[j] = (
        fc[j] + ax[j] * ue[j] + aw[j] * uw[j] + ay[j] * uc[north] + ay[south] * uc[south]
    ) / d[j]


@njit(cache=True)
def _relax_row(off, nx, ny, i, colour, forward, diag, wx, wy, u, f):
    """Gauss–Seidel update of the voxels of row ``i`` with ``(i + j) % 2 == colour``, in
    increasing ``j`` when ``forward``, else decreasing (row slices as in :func:`apply_operator`).
    """
    row = off + i * ny
    east = off + (i + 1 if i + 1 < nx else 0) * ny
    west = off + (i - 1 if i > 0 else nx - 1) * ny
    d, ax, aw, ay = diag[row:row + ny], wx[row:row + ny], wx[west:west + ny], wy[row:row + ny]
    uc, ue, uw, fc = u[row:row + ny], u[east:east + ny], u[west:west + ny], f[row:row + ny]
    last = ny - 1
    first = (i + colour) % 2  # the first j of this colour
    lo = first if first > 0 else 2  # interior j: lo, lo + 2, ... < last
    n_interior = (last - lo + 1) // 2 if last > lo else 0
    do_first = first == 0
    do_last = last > 0 and (last - first) % 2 == 0
    if forward and do_first:
        _relax(d, ax, aw, ay, uc, ue, uw, fc, 0, 1 % ny, last)
    if not forward and do_last:
        _relax(d, ax, aw, ay, uc, ue, uw, fc, last, 0, last - 1)
    for m in range(n_interior):
        j = lo + 2 * (m if forward else n_interior - 1 - m)
        _relax(d, ax, aw, ay, uc, ue, uw, fc, j, j + 1, j - 1)
    if forward and do_last:
        _relax(d, ax, aw, ay, uc, ue, uw, fc, last, 0, last - 1)
    if not forward and do_first:
        _relax(d, ax, aw, ay, uc, ue, uw, fc, 0, 1 % ny, last)


@njit(cache=True)
def smooth(off, nx, ny, diag, wx, wy, u, f, forward):
    """One red–black Gauss–Seidel sweep (red: ``(i + j)`` even), in place, in a single pass.

    The colours are fused into one walk over the rows — red row i, then black row i − 1, whose
    three neighbouring red rows are then up to date; black row 0 waits for the end because it
    neighbours red row nx − 1 — so each row is loaded from memory once per sweep. For even
    ``nx`` and ``ny`` this is exactly the two-pass red–black sweep. ``forward = False`` performs
    the same voxel updates in exactly the reverse order (the adjoint sweep, for symmetric
    V-cycles).
    """
    if nx == 1:
        for colour in (range(2) if forward else range(1, -1, -1)):
            _relax_row(off, nx, ny, 0, colour, forward, diag, wx, wy, u, f)
        return
    if forward:
        _relax_row(off, nx, ny, 0, 0, True, diag, wx, wy, u, f)
        for i in range(1, nx):
            _relax_row(off, nx, ny, i, 0, True, diag, wx, wy, u, f)
            if i >= 2:
                _relax_row(off, nx, ny, i - 1, 1, True, diag, wx, wy, u, f)
        _relax_row(off, nx, ny, nx - 1, 1, True, diag, wx, wy, u, f)
        _relax_row(off, nx, ny, 0, 1, True, diag, wx, wy, u, f)
    else:
        _relax_row(off, nx, ny, 0, 1, False, diag, wx, wy, u, f)
        _relax_row(off, nx, ny, nx - 1, 1, False, diag, wx, wy, u, f)
        for i in range(nx - 1, 0, -1):
            if i >= 2:
                _relax_row(off, nx, ny, i - 1, 1, False, diag, wx, wy, u, f)
            _relax_row(off, nx, ny, i, 0, False, diag, wx, wy, u, f)
        _relax_row(off, nx, ny, 0, 0, False, diag, wx, wy, u, f)


# --------------------------------------------------------------------------- transfers


@njit(cache=True)
def restrict(fine_off, fnx, fny, coarse_off, cnx, cny, fx, fy, r, f):
    """Coarse right-hand side = sum of the fine residuals of each aggregate."""
    for k in range(coarse_off, coarse_off + cnx * cny):
        f[k] = 0.0
    sx, sy = fx >> 1, fy >> 1  # factors are 1 or 2: index // factor == index >> shift
    for i in range(fnx):
        fine_row, coarse_row = fine_off + i * fny, coarse_off + (i >> sx) * cny
        for j in range(fny):
            f[coarse_row + (j >> sy)] += r[fine_row + j]


@njit(cache=True)
def prolong_add(fine_off, fnx, fny, coarse_off, cnx, cny, fx, fy, u):
    """Add each coarse correction to every fine voxel of its aggregate."""
    sx, sy = fx >> 1, fy >> 1  # as in restrict
    for i in range(fnx):
        fine_row, coarse_row = fine_off + i * fny, coarse_off + (i >> sx) * cny
        for j in range(fny):
            u[fine_row + j] += u[coarse_row + (j >> sy)]


# --------------------------------------------------------------------------- coarsest level


@njit(cache=True)
def coarsest_cholesky(off, nx, ny, diag, wx, wy, chol):
    """Assemble the coarsest level's dense matrix and factor it (lower Cholesky, in place).

    Returns False if the matrix is not positive definite (a singular problem).
    """
    n = nx * ny
    for a in range(n):
        for b in range(n):
            chol[a, b] = 0.0
    for i in range(nx):
        ip = i + 1 if i + 1 < nx else 0
        for j in range(ny):
            jp = j + 1 if j + 1 < ny else 0
            k = i * ny + j
            chol[k, k] += diag[off + k]
            east, north = ip * ny + j, i * ny + jp
            chol[k, east] -= wx[off + k]
            chol[east, k] -= wx[off + k]
            chol[k, north] -= wy[off + k]
            chol[north, k] -= wy[off + k]
    for c in range(n):
        s = chol[c, c]
        for m in range(c):
            s -= chol[c, m] * chol[c, m]
        if s <= 1e-12 * chol[c, c]:  # no pivot left beyond round-off: singular
            return False
        chol[c, c] = np.sqrt(s)
        for a in range(c + 1, n):
            s = chol[a, c]
            for m in range(c):
                s -= chol[a, m] * chol[c, m]
            chol[a, c] = s / chol[c, c]
    return True


@njit(cache=True)
def _cholesky_solve(chol, off, n, f, u):
    for a in range(n):
        s = f[off + a]
        for m in range(a):
            s -= chol[a, m] * u[off + m]
        u[off + a] = s / chol[a, a]
    for a in range(n - 1, -1, -1):
        s = u[off + a]
        for m in range(a + 1, n):
            s -= chol[m, a] * u[off + m]
        u[off + a] = s / chol[a, a]


# --------------------------------------------------------------------------- cycle and CG


@njit(cache=True)
def vcycle(shapes, offsets, factors, diag, wx, wy, chol, u, f, r, sweeps):
    """One V-cycle for ``A·u = f`` on level 0 from ``u = 0`` (the preconditioner ``u = M⁻¹f``).

    ``sweeps`` red–black sweeps before and (reversed) after each coarse correction.
    """
    levels = shapes.shape[0]
    n0 = shapes[0, 0] * shapes[0, 1]
    for k in range(n0):
        u[k] = 0.0
    for level in range(levels - 1):
        off, nx, ny = offsets[level], shapes[level, 0], shapes[level, 1]
        for _ in range(sweeps):
            smooth(off, nx, ny, diag, wx, wy, u, f, True)
        residual(off, nx, ny, diag, wx, wy, u, f, r)
        coff, cnx, cny = offsets[level + 1], shapes[level + 1, 0], shapes[level + 1, 1]
        restrict(off, nx, ny, coff, cnx, cny, factors[level, 0], factors[level, 1], r, f)
        for k in range(coff, coff + cnx * cny):
            u[k] = 0.0
    last = levels - 1
    _cholesky_solve(chol, offsets[last], shapes[last, 0] * shapes[last, 1], f, u)
    for level in range(levels - 2, -1, -1):
        off, nx, ny = offsets[level], shapes[level, 0], shapes[level, 1]
        coff, cnx, cny = offsets[level + 1], shapes[level + 1, 0], shapes[level + 1, 1]
        prolong_add(off, nx, ny, coff, cnx, cny, factors[level, 0], factors[level, 1], u)
        for _ in range(sweeps):
            smooth(off, nx, ny, diag, wx, wy, u, f, False)


@njit(cache=True)
def _dot(a, b, n):
    s = 0.0
    for k in range(n):
        s += a[k] * b[k]
    return s


@njit(cache=True)
def pcg(
    shapes, offsets, factors, diag, wx, wy, chol, x, b, relative_tolerance, max_iterations,
    sweeps, u, f, r, p, ap,
):
    """Solve ``A·x = b`` on level 0 by multigrid-preconditioned CG, warm-started from ``x``.

    Stops when ‖b − A·x‖₂ ≤ ``relative_tolerance``·‖b‖₂ (checked before the first iteration, so a
    warm start that already satisfies it costs one operator application). ``u, f, r`` are the
    hierarchy's flat work buffers; the CG residual lives in level 0 of ``f``, which is the
    V-cycle's right-hand side there and which the V-cycle only reads; ``p, ap`` level-0-sized
    scratch. Returns ``(iterations, relative residual)``.
    """
    nx, ny = shapes[0, 0], shapes[0, 1]
    n = nx * ny
    b_norm = np.sqrt(_dot(b, b, n))
    if b_norm == 0.0:
        for k in range(n):
            x[k] = 0.0
        return 0, 0.0
    res = f[:n]
    residual(0, nx, ny, diag, wx, wy, x, b, res)
    r_norm = np.sqrt(_dot(res, res, n))
    if r_norm <= relative_tolerance * b_norm:
        return 0, r_norm / b_norm
    vcycle(shapes, offsets, factors, diag, wx, wy, chol, u, f, r, sweeps)
    for k in range(n):
        p[k] = u[k]
    rz = _dot(res, u, n)
    for it in range(1, max_iterations + 1):
        apply_operator(0, nx, ny, diag, wx, wy, p, ap)
        curvature = _dot(p, ap, n)
        if curvature <= 0.0 or rz <= 0.0:  # exact convergence (or round-off breakdown)
            return it - 1, r_norm / b_norm
        step = rz / curvature
        r_sq = 0.0
        for k in range(n):
            x[k] += step * p[k]
            res[k] -= step * ap[k]
            r_sq += res[k] * res[k]
        r_norm = np.sqrt(r_sq)
        if r_norm <= relative_tolerance * b_norm:
            return it, r_norm / b_norm
        vcycle(shapes, offsets, factors, diag, wx, wy, chol, u, f, r, sweeps)
        rz_new = _dot(res, u, n)
        beta = rz_new / rz
        rz = rz_new
        for k in range(n):
            p[k] = u[k] + beta * p[k]
    return max_iterations, r_norm / b_norm
