"""The linear solve behind every field update: one species' implicit step on the lattice.

A species obeys, per voxel (concentration c in the species' unit, time in seconds, x in µm),

    ∂c/∂t = ∇·(D(x)∇c) − a(x)·c + b(x),

with D the per-voxel diffusivity (µm²/s, tissue multipliers applied), a ≥ 0 every first-order
loss (decay, cell uptake, exchange with blood, linearized consumption; 1/s) and b the sources
(secretion, supply from blood; unit/s). :meth:`FieldSolver.solve` advances c over Δt by
backward Euler (``theta = 1``),

    c + Δt·(a·c − ∇_h·(D∇_h c)) = c_old + Δt·b,

or, with ``theta = 0``, returns the quasi-steady field (a·c − ∇_h·(D∇_h c) = b) that a fast
species reaches within the step. The five-point cell-centred stencil uses harmonic-mean face
diffusivities; edges are periodic, no-flux, or held at a fixed value half a voxel outside the
edge voxel. The system is an M-matrix: for b ≥ 0 the exact solution is non-negative, and the
iterative one is clipped at zero (it can only undershoot by the solver tolerance); values below
:data:`NEGLIGIBLE` are flushed to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.fields import multigrid as mg

EDGES: tuple[str, ...] = ("x_min", "x_max", "y_min", "y_max")
"""Lattice edges, in the order of :class:`EdgeConditions`."""


NEGLIGIBLE = 1e-200
"""Concentrations below this (in any unit) are set to zero after a solve: far below anything
measurable, and it keeps fields that decay without a source out of the subnormal range, where
floating-point arithmetic is very slow."""


class SingularProblemError(ValueError):
    """A quasi-steady solve with no loss anywhere: the steady state is undetermined."""


@dataclass(frozen=True)
class EdgeConditions:
    """Boundary condition of each lattice edge: ``"periodic"``, ``"no_flux"`` or a fixed value.

    A fixed value is given as a float (in the species' unit). Periodic edges come in pairs.
    """

    x_min: str | float = "periodic"
    x_max: str | float = "periodic"
    y_min: str | float = "periodic"
    y_max: str | float = "periodic"

    def __post_init__(self):
        for axis in "xy":
            low, high = getattr(self, f"{axis}_min"), getattr(self, f"{axis}_max")
            if (low == "periodic") != (high == "periodic"):
                raise ValueError(f"{axis}_min and {axis}_max must both be periodic or neither")
        for edge in EDGES:
            value = getattr(self, edge)
            if isinstance(value, str) and value not in ("periodic", "no_flux"):
                raise ValueError(f"{edge}: unknown boundary {value!r}")

    @property
    def periodic_x(self) -> bool:
        return self.x_min == "periodic"

    @property
    def periodic_y(self) -> bool:
        return self.y_min == "periodic"

    def fixed(self, edge: str) -> float | None:
        """The fixed value of an edge, or None for periodic / no-flux edges."""
        value = getattr(self, edge)
        return None if isinstance(value, str) else float(value)


@dataclass
class SolveReport:
    """How one solve went: CG iterations and the final relative residual ‖b − A·x‖/‖b‖."""

    iterations: int
    relative_residual: float


class SolverWorkspace:
    """Scratch arrays of a solve on one lattice shape (flat float64): the multigrid work buffers
    ``u, f, r`` over every level and the level-0 ``rhs, p, ap``. Nothing in them outlives a
    solve, so every species on a lattice can share one (the species are solved one after
    another; not from several threads at once)."""

    def __init__(self, shape: tuple[int, int]):
        self.shape = (int(shape[0]), int(shape[1]))
        total = int(mg.level_shapes(self.shape)[1][-1])
        n = self.shape[0] * self.shape[1]
        self.u, self.f, self.r = (np.zeros(total) for _ in range(3))
        self.rhs, self.p, self.ap = (np.zeros(n) for _ in range(3))


class FieldSolver:
    """Multigrid-preconditioned CG solver for one species on one lattice, reused every step.

    Args:
        shape: lattice shape ``(nx, ny)``.
        voxel_um: voxel edge length, µm.
        dt_s: the implicit step Δt, seconds (also the scale of quasi-steady systems).
        edges: boundary conditions.
        relative_tolerance: stop when ‖residual‖₂ ≤ this × q × ‖right-hand side‖₂, with q = 1
            for a quasi-steady solve and q = κ/(1 + κ) for a backward-Euler step, κ = Δt × the
            mean loss rate (see :meth:`stopping_tolerance`).
        max_iterations: CG iteration cap (a report with more is a failure to converge).
        sweeps: red–black smoothing sweeps before and after each coarse correction.
        workspace: scratch arrays to share with other solvers of the same shape (default: its
            own).
    """

    def __init__(
        self,
        shape: tuple[int, int],
        voxel_um: float,
        dt_s: float,
        edges: EdgeConditions = EdgeConditions(),
        relative_tolerance: float = 1e-8,
        max_iterations: int = 200,
        sweeps: int = 1,
        workspace: SolverWorkspace | None = None,
    ):
        self.shape = (int(shape[0]), int(shape[1]))
        self.voxel_um = float(voxel_um)
        self.dt_s = float(dt_s)
        self.edges = edges
        self.relative_tolerance = float(relative_tolerance)
        self.max_iterations = int(max_iterations)
        self.sweeps = int(sweeps)
        self.shapes, self.offsets, self.factors = mg.level_shapes(self.shape)
        if workspace is None:
            workspace = SolverWorkspace(self.shape)
        elif workspace.shape != self.shape:
            raise ValueError(f"workspace of shape {workspace.shape}, lattice {self.shape}")
        self.workspace = workspace
        total = int(self.offsets[-1])
        n = self.shape[0] * self.shape[1]
        # The operator of every level; level 0 of the face weights and edge couplings is
        # written by set_diffusivity, the coarse levels by _prepare_levels.
        self._alpha, self._wall_x, self._wall_y = (np.zeros(total) for _ in range(3))
        self._wx, self._wy, self._diag = (np.zeros(total) for _ in range(3))
        self._fine_wx, self._fine_wy = self._wx[:n], self._wy[:n]
        self._fine_wall_x, self._fine_wall_y = self._wall_x[:n], self._wall_y[:n]
        self._wall_source = np.zeros(n)
        coarsest = self.shapes[-1, 0] * self.shapes[-1, 1]
        self._chol = np.zeros((coarsest, coarsest))
        self._has_diffusivity = False
        self._levels_stale = True
        self._built_alpha = np.zeros(0)
        self._isolated: np.ndarray | None = None
        self.last = SolveReport(0, 0.0)

    @property
    def face_scale(self) -> float:
        """Δt/Δx² (s/µm²): multiplies a face diffusivity into a stencil weight."""
        return self.dt_s / self.voxel_um**2

    def set_diffusivity(self, diffusivity_um2_per_s: np.ndarray) -> None:
        """Per-voxel diffusion coefficient (µm²/s, ≥ 0); recomputed only when tissue changes."""
        d = np.ascontiguousarray(diffusivity_um2_per_s, dtype=np.float64)
        if d.shape != self.shape or not np.all(np.isfinite(d)) or d.min() < 0.0:
            raise ValueError("diffusivity must be finite, non-negative and of the lattice shape")
        scale = self.face_scale
        mg.face_weights(
            d, scale, self.edges.periodic_x, self.edges.periodic_y, self._fine_wx, self._fine_wy
        )
        wall_x = self._fine_wall_x.reshape(self.shape)
        wall_y = self._fine_wall_y.reshape(self.shape)
        source = self._wall_source.reshape(self.shape)
        wall_x[...] = wall_y[...] = source[...] = 0.0
        for edge, wall, index in (
            ("x_min", wall_x, np.s_[0, :]),
            ("x_max", wall_x, np.s_[-1, :]),
            ("y_min", wall_y, np.s_[:, 0]),
            ("y_max", wall_y, np.s_[:, -1]),
        ):
            value = self.edges.fixed(edge)
            if value is not None:
                coupling = 2.0 * scale * d[index]  # the wall lies half a voxel away
                wall[index] += coupling
                source[index] += coupling * value
        self._has_diffusivity = True
        self._levels_stale = True

    def solve(
        self,
        concentration: np.ndarray,
        loss_per_s: np.ndarray | float,
        source_per_s: np.ndarray | float,
        theta: float,
        old: np.ndarray | None = None,
    ) -> SolveReport:
        """Advance ``concentration`` (float64[nx, ny], updated in place) by one solve.

        Args:
            concentration: the warm start on entry (and c_old unless ``old`` is given), the
                solution on return.
            loss_per_s: first-order loss rate a (1/s, ≥ 0), per voxel or uniform.
            source_per_s: source b (unit/s), per voxel or uniform.
            theta: 1 for a backward-Euler step of Δt, 0 for the quasi-steady state.
            old: c_old of the backward-Euler step when it differs from the warm start (inside
                a Newton iteration).

        Raises:
            SingularProblemError: quasi-steady with no loss and no fixed edge anywhere.
            RuntimeError: CG did not reach the tolerance within ``max_iterations``.
        """
        if not self._has_diffusivity:
            raise RuntimeError("set_diffusivity() must be called before solve()")
        if concentration.shape != self.shape or concentration.dtype != np.float64:
            raise ValueError("concentration must be a float64 array of the lattice shape")
        n = self.shape[0] * self.shape[1]
        c = concentration.reshape(n)  # a view: the solve writes into the caller's buffer
        alpha = self._alpha[:n]
        alpha[...] = theta
        alpha += np.ravel(np.broadcast_to(loss_per_s, self.shape)) * self.dt_s
        work = self.workspace
        rhs = work.rhs
        rhs[...] = np.ravel(np.broadcast_to(source_per_s, self.shape)) * self.dt_s
        rhs += theta * (c if old is None else np.ravel(old))
        rhs += self._wall_source
        if not alpha.any() and not self._fine_wall_x.any() and not self._fine_wall_y.any():
            raise SingularProblemError(
                "the steady state is undetermined: no decay, uptake, consumption, vessel "
                "exchange or fixed-value edge anywhere"
            )
        if not rhs.any() and alpha.min() > 0.0:  # no voxel isolated: the solution is zero
            c[...] = 0.0
            self.last = SolveReport(0, 0.0)
            return self.last
        if self._levels_stale or not np.array_equal(alpha, self._built_alpha):
            self._prepare_levels()
        if self._isolated is not None:  # no coupling and no loss: the value cannot change
            rhs[self._isolated] = c[self._isolated]
        # Scale by a power of two (exact) so that fields decaying towards zero (1e-160 after
        # weeks of decay without a source) cannot underflow the CG inner products.
        peak = max(float(np.abs(rhs).max()), float(np.abs(c).max()))
        exponent = int(np.frexp(peak)[1])
        np.ldexp(rhs, -exponent, out=rhs)
        np.ldexp(c, -exponent, out=c)
        tolerance = self.stopping_tolerance(theta, float(alpha.mean()))
        iterations, relative = mg.pcg(
            self.shapes, self.offsets, self.factors, self._diag, self._wx, self._wy, self._chol,
            c, rhs, tolerance, self.max_iterations, self.sweeps,
            work.u, work.f, work.r, work.p, work.ap,
        )
        np.ldexp(c, exponent, out=c)
        c[c < NEGLIGIBLE] = 0.0  # negatives (solver undershoot) and sub-physical values
        self.last = SolveReport(int(iterations), float(relative))
        if not relative <= tolerance:  # also catches NaN
            raise RuntimeError(
                f"transport solve did not converge: relative residual {relative:.3g} after "
                f"{iterations} iterations (tolerance {tolerance:g})"
            )
        return self.last

    def stopping_tolerance(self, theta: float, mean_alpha: float) -> float:
        """The bound on ‖residual‖₂/‖right-hand side‖₂ at which CG stops.

        A quasi-steady solve (``theta = 0``) stops at ``relative_tolerance``. A backward-Euler
        step's right-hand side holds c_old, so a residual relative to it measures the field, not
        its change; a field that approaches its steady state by less than that per step would
        be accepted unchanged, and stall short of it by ``relative_tolerance``/κ (κ = Δt × the
        loss rate). The step therefore stops at ``relative_tolerance`` × κ/(1 + κ), κ = Δt ×
        the mean loss rate (``mean_alpha`` − θ, the mean of the system's reaction term minus
        θ): the stalled field's error relative to the steady state then stays near
        ``relative_tolerance``. Without loss (κ = 0, no steady state) it is
        ``relative_tolerance``.
        """
        kappa = mean_alpha - theta
        if theta == 0.0 or kappa <= 0.0:
            return self.relative_tolerance
        return self.relative_tolerance * kappa / (theta + kappa)

    def _prepare_levels(self) -> None:
        """Coarse operators and the coarsest factorization for the current fine coefficients.
        :meth:`solve` skips this while the reaction term and the diffusivity are unchanged
        (a linear species' operator is the same every step)."""
        n = self.shape[0] * self.shape[1]
        alpha = self._alpha[:n]
        self._built_alpha = alpha.copy()
        self._build_levels()
        isolated = self._diag[:n] == 0.0
        self._isolated = isolated if isolated.any() else None
        if self._isolated is not None:
            alpha[isolated] = 1.0
            self._build_levels()
        if not mg.coarsest_cholesky(
            self.offsets[-2], self.shapes[-1, 0], self.shapes[-1, 1],
            self._diag, self._wx, self._wy, self._chol,
        ):
            raise SingularProblemError("the coarsest multigrid level is not positive definite")
        self._levels_stale = False

    def _build_levels(self) -> None:
        mg.build_levels(
            self.shapes, self.offsets, self.factors, self._alpha, self._wall_x, self._wall_y,
            self._wx, self._wy, self._diag,
        )
