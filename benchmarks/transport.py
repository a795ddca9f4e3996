"""Benchmark of the transport solver on a VEGF-like field, at several lattice sizes.

For each size n (an n × n lattice of 10 µm voxels, periodic edges, D = 42.4 µm²/s with a band of
bone where D is ×0.01, decay 2.55e-4 /s, Δt = 3600 s, ~300 secreting voxels per 256² of marrow)
it measures, in one run so that the ratios are comparable on a shared machine:

1. the bandwidth of ``np.copyto`` on an n² float64 array (16 bytes moved per element);
2. the sweep kernels ``apply_operator``, ``residual`` and ``smooth`` of
   :mod:`abm.fields.multigrid`: time per sweep, voxel updates/s, effective bandwidth and its
   ratio to the copy bandwidth;
3. quasi-steady (theta = 0) multigrid-preconditioned CG solves of :class:`FieldSolver` from a
   cold start (zeros) and from a warm start (the previous step's solution, after 1% of the
   secreting voxels moved: what the model does each step);
4. the same linear system solved by ``scipy.sparse.linalg.spsolve`` (matrix from
   :func:`abm.fields.reference.assemble`, only the solve timed; skipped at 1024² unless
   ``--with-direct-1024``), the speed-up of the multigrid solves over it and the largest
   difference between the solutions;
5. the cost per voxel of each of these across sizes (linearity).

Times are medians of ``time.perf_counter`` intervals over repeated rounds, after numba has
compiled; within a round the copy and the kernels (and the cold and warm solves) take turns, so a
slow spell of the shared machine hits them alike.

Usage: python benchmarks/transport.py [--sizes 256 512 1024] [--quick] [--with-direct-1024]
(``--quick``: fewer repeats, and only 256² unless ``--sizes`` is given.)
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import spsolve

from abm.fields import multigrid as mg
from abm.fields import reference
from abm.fields.solver import EdgeConditions, FieldSolver

VOXEL_UM = 10.0
DIFFUSIVITY_UM2_PER_S = 42.4
BONE_DIFFUSIVITY_FACTOR = 0.01
DECAY_PER_S = 2.55e-4
DT_S = 3600.0
SECRETION_PER_S = 1.0
"""Source of one secreting voxel (the field's unit per second; the problem is linear)."""
SOURCES_PER_256_SQUARED = 300
RELOCATED_FRACTION = 0.01
TOLERANCE = 1e-8
EDGES = EdgeConditions()
BYTES_PER_VOXEL = {"np.copyto": 16, "apply_operator": 40, "residual": 48, "smooth": 48}
"""Bytes each sweep moves per voxel: the copy reads and writes one float64; apply reads diag,
wx, wy, u and writes out; residual and smooth also read f."""
DIRECT_BUDGET_S = 20.0
"""Stop repeating the direct solve once this much time has been spent on it."""
SAMPLE_S = 0.01
"""Minimum duration of one timed sample of a sweep kernel (short sweeps are looped)."""


@dataclass
class Problem:
    """One lattice size's test problem: diffusivity, and secreting voxels before/after a step."""

    n: int
    diffusivity: np.ndarray
    sources_before: np.ndarray
    sources_after: np.ndarray


@dataclass
class Solve:
    """One solve method's outcome: median time, CG iterations (None if direct), the solution."""

    seconds: float
    iterations: int | None
    relative_residual: float
    solution: np.ndarray


def make_problem(n: int, rng: np.random.Generator) -> Problem:
    """The VEGF-like problem on an n × n lattice.

    A band of bone (the middle eighth of the columns) has its diffusivity scaled by
    :data:`BONE_DIFFUSIVITY_FACTOR`; secreting voxels are drawn among the marrow voxels, and
    :data:`RELOCATED_FRACTION` of them (at least one) then move to other marrow voxels.
    """
    diffusivity = np.full((n, n), DIFFUSIVITY_UM2_PER_S)
    bone = slice(n // 2 - n // 16, n // 2 + n // 16)
    diffusivity[:, bone] *= BONE_DIFFUSIVITY_FACTOR
    marrow = np.flatnonzero(diffusivity.ravel() == DIFFUSIVITY_UM2_PER_S)
    count = max(1, round(SOURCES_PER_256_SQUARED * n * n / 256**2))
    before = rng.choice(marrow, count, replace=False)
    free = np.setdiff1d(marrow, before)
    moved = max(1, round(RELOCATED_FRACTION * count))
    after = before.copy()
    after[rng.choice(count, moved, replace=False)] = rng.choice(free, moved, replace=False)
    return Problem(n, diffusivity, before, after)


def source_field(n: int, voxels: np.ndarray) -> np.ndarray:
    """Per-voxel source (unit/s): :data:`SECRETION_PER_S` at the given flat voxel indices."""
    source = np.zeros(n * n)
    source[voxels] = SECRETION_PER_S
    return source.reshape(n, n)


def interleaved_medians(
    runs: dict[str, Callable[[], object]],
    rounds: int,
    setup: Callable[[str], object] | None = None,
    budget_s: float = float("inf"),
) -> dict[str, float]:
    """Median seconds of each ``runs[name]()``, timed in rounds that call every run once in turn.

    Interleaving makes a slow spell of a shared machine hit every run alike, so the ratios
    between them stay meaningful. ``setup(name)`` runs untimed before each call. Stops early,
    after at least one round, once ``budget_s`` seconds have been spent in the timed calls.
    """
    samples: dict[str, list[float]] = {name: [] for name in runs}
    spent = 0.0
    for _ in range(rounds):
        for name, run in runs.items():
            if setup is not None:
                setup(name)
            start = time.perf_counter()
            run()
            elapsed = time.perf_counter() - start
            samples[name].append(elapsed)
            spent += elapsed
        if spent >= budget_s:
            break
    return {name: statistics.median(times) for name, times in samples.items()}


def time_sweeps(problem: Problem, rounds: int) -> dict[str, float]:
    """Seconds per sweep of ``np.copyto`` (n² float64) and of the fine-level ``apply_operator``,
    ``residual`` and ``smooth``.

    The operator is the quasi-steady one of the problem (face weights and diagonal built by the
    multigrid kernels); ``u`` and ``f`` are random. Each timed sample loops a sweep for at least
    :data:`SAMPLE_S`.
    """
    n = problem.n
    size = n * n
    wx, wy, diag = np.zeros(size), np.zeros(size), np.zeros(size)
    mg.face_weights(problem.diffusivity, DT_S / VOXEL_UM**2, True, True, wx, wy)
    alpha = np.full(size, DECAY_PER_S * DT_S)
    no_wall = np.zeros(size)
    mg.level_diagonal(0, n, n, alpha, no_wall, no_wall, wx, wy, diag)
    rng = np.random.default_rng(2)
    u, f, out = rng.random(size), rng.random(size), np.empty(size)
    sweeps = {
        "np.copyto": lambda: np.copyto(out, f),
        "apply_operator": lambda: mg.apply_operator(0, n, n, diag, wx, wy, u, out),
        "residual": lambda: mg.residual(0, n, n, diag, wx, wy, u, f, out),
        "smooth": lambda: mg.smooth(0, n, n, diag, wx, wy, u, f, True),
    }
    loops = {}
    for name, sweep in sweeps.items():
        start = time.perf_counter()
        sweep()
        loops[name] = max(1, int(SAMPLE_S / max(time.perf_counter() - start, 1e-9)))

    def batch(name: str) -> Callable[[], None]:
        def run() -> None:
            for _ in range(loops[name]):
                sweeps[name]()

        return run

    medians = interleaved_medians({name: batch(name) for name in sweeps}, rounds)
    return {name: seconds / loops[name] for name, seconds in medians.items()}


def time_multigrid(problem: Problem, rounds: int) -> tuple[Solve, Solve]:
    """Cold- and warm-started quasi-steady solves of the after-step system by MG-PCG.

    The warm start is the solution of the before-step system, as in the model's next step.
    """
    n = problem.n
    solver = FieldSolver(
        (n, n), VOXEL_UM, DT_S, EDGES, relative_tolerance=TOLERANCE, max_iterations=200
    )
    solver.set_diffusivity(problem.diffusivity)
    previous = np.zeros((n, n))
    solver.solve(previous, DECAY_PER_S, source_field(n, problem.sources_before), 0.0)
    after = source_field(n, problem.sources_after)
    starts = {"cold": np.zeros((n, n)), "warm": previous}
    fields = {name: np.empty((n, n)) for name in starts}
    reports = {}

    def solve(name: str) -> Callable[[], None]:
        def run() -> None:
            reports[name] = solver.solve(fields[name], DECAY_PER_S, after, 0.0)

        return run

    medians = interleaved_medians(
        {name: solve(name) for name in starts},
        rounds,
        setup=lambda name: np.copyto(fields[name], starts[name]),
    )
    cold, warm = (
        Solve(medians[name], reports[name].iterations, reports[name].relative_residual,
              fields[name])
        for name in ("cold", "warm")
    )
    return cold, warm


def time_direct(problem: Problem, rounds: int) -> Solve:
    """The after-step quasi-steady system solved by ``spsolve`` (assembly not timed), repeated
    at most ``rounds`` times and no more once :data:`DIRECT_BUDGET_S` is spent."""
    n = problem.n
    matrix, wall_source, _ = reference.assemble(
        problem.diffusivity, DECAY_PER_S, DT_S, VOXEL_UM, EDGES, 0.0
    )
    matrix = matrix.tocsc()
    rhs = source_field(n, problem.sources_after).ravel() * DT_S + wall_source
    solution = np.empty(n * n)
    seconds = interleaved_medians(
        {"spsolve": lambda: np.copyto(solution, spsolve(matrix, rhs))},
        rounds,
        budget_s=DIRECT_BUDGET_S,
    )["spsolve"]
    residual = np.linalg.norm(rhs - matrix @ solution) / np.linalg.norm(rhs)
    return Solve(seconds, None, float(residual), solution.reshape(n, n))


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel timed, on a small problem."""
    problem = make_problem(32, np.random.default_rng(0))
    time_sweeps(problem, 1)
    time_multigrid(problem, 1)


def print_bandwidth_table(rows: list[tuple[int, str, float, int]]) -> None:
    """Rows ``(n, name, seconds per sweep, bytes per voxel)``, each size's copy row first."""
    print("\nSweep kernels vs memory copy (one fine-level sweep or n² copy; median)")
    print(
        f"{'n':>5}  {'kernel':16}{'B/voxel':>8}{'ms/sweep':>10}{'Mvoxel/s':>10}{'GB/s':>8}"
        f"{'% of copy':>11}"
    )
    copy_bandwidth = 0.0
    for n, name, seconds, nbytes in rows:
        bandwidth = nbytes * n * n / seconds
        if name == "np.copyto":
            copy_bandwidth = bandwidth
        print(
            f"{n:>5}  {name:16}{nbytes:>8}{seconds * 1e3:>10.3f}{n * n / seconds / 1e6:>10.0f}"
            f"{bandwidth / 1e9:>8.2f}{100 * bandwidth / copy_bandwidth:>10.0f}%"
        )


def print_solve_table(rows: list[tuple[int, str, Solve | None, Solve | None]]) -> None:
    """Rows ``(n, method, solve or None if skipped, direct solve or None)``: speed-up and
    difference vs direct."""
    print(f"\nQuasi-steady solve of one field (theta = 0, tolerance {TOLERANCE:g}; median)")
    print(
        f"{'n':>5}  {'method':15}{'iters':>6}{'rel. resid.':>12}{'ms':>10}{'solves/s':>10}"
        f"{'vs direct':>11}{'max |Δ|/max':>13}"
    )
    for n, method, solve, direct in rows:
        if solve is None:
            print(f"{n:>5}  {method:15}  skipped (run with --with-direct-1024)")
            continue
        line = (
            f"{n:>5}  {method:15}{'-' if solve.iterations is None else solve.iterations:>6}"
            f"{solve.relative_residual:>12.1e}"
            f"{solve.seconds * 1e3:>10.1f}{1 / solve.seconds:>10.3g}"
        )
        if direct is not None and solve is not direct:
            difference = np.abs(solve.solution - direct.solution).max()
            line += (
                f"{direct.seconds / solve.seconds:>10.0f}x"
                f"{difference / np.abs(direct.solution).max():>13.1e}"
            )
        print(line)


def print_linearity_table(per_voxel: dict[str, dict[int, float]], sizes: list[int]) -> None:
    """Nanoseconds per voxel of each measurement at each size, and the largest/smallest ratio."""
    print("\nCost per voxel (ns per voxel = time / n²)")
    print(f"{'quantity':18}" + "".join(f"{f'{n}²':>10}" for n in sizes) + f"{'max/min':>10}")
    for name, by_size in per_voxel.items():
        cells = "".join(
            f"{by_size[n] * 1e9:>10.3f}" if n in by_size else f"{'-':>10}" for n in sizes
        )
        values = list(by_size.values())
        print(f"{name:18}{cells}{max(values) / min(values):>10.2f}")


def main() -> None:
    """Run every measurement at each requested size and print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", help="lattice sizes n (n × n voxels)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats; 256² by default")
    parser.add_argument(
        "--with-direct-1024", action="store_true", help="also run spsolve at n ≥ 1024 (slow)"
    )
    args = parser.parse_args()
    sizes = args.sizes or ([256] if args.quick else [256, 512, 1024])
    rounds = 3 if args.quick else 7
    print(f"NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}; compiling kernels ...")
    warm_up()
    kernel_rows: list[tuple[int, str, float, int]] = []
    solve_rows: list[tuple[int, str, Solve | None, Solve | None]] = []
    per_voxel: dict[str, dict[int, float]] = {}
    for n in sizes:
        print(f"  {n}² ...", flush=True)
        problem = make_problem(n, np.random.default_rng(n))
        measured = time_sweeps(problem, 3 * rounds)
        for name, seconds in measured.items():
            kernel_rows.append((n, name, seconds, BYTES_PER_VOXEL[name]))
        cold, warm = time_multigrid(problem, rounds)
        direct = None
        if n < 1024 or args.with_direct_1024:
            direct = time_direct(problem, 1 if args.quick else 3)
        for method, solve in (("MG-PCG cold", cold), ("MG-PCG warm", warm), ("spsolve", direct)):
            solve_rows.append((n, method, solve, direct))
            if solve is not None:
                measured[method] = solve.seconds
        for name, seconds in measured.items():
            per_voxel.setdefault(name, {})[n] = seconds / (n * n)
    print_bandwidth_table(kernel_rows)
    print_solve_table(solve_rows)
    print_linearity_table(per_voxel, sizes)


if __name__ == "__main__":
    main()
