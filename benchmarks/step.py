"""Benchmark of the model step: numba kernels against their plain-Python references, and the cost
of each phase, measured side by side in one run (absolute times drift on shared machines; the
ratios are what to compare).

Usage: python benchmarks/step.py [--steps N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from abm.cells import kernels, reference
from abm.model import MarrowModel

REPO = Path(__file__).resolve().parents[1]


def _best_of(fn, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def kernel_vs_reference(model: MarrowModel) -> None:
    """Time the random-walk and turnover kernels and their references on the same inputs."""
    table, rng = model.cells, np.random.default_rng(0)
    n = table.n_slots
    order, u, d = rng.permutation(n), rng.random(n), rng.integers(0, 4, n)
    tissue = model.fields.tissue
    hop = np.full(5, 0.4)

    def walk(impl):
        x, y, occ = table["x"].copy(), table["y"].copy(), table.occupant.copy()
        return lambda: impl.random_walk(
            order, u, d, hop, table["alive"], table["cell_type"], x, y, occ, tissue, True,
        )

    walk(kernels)()  # compile
    t_kernel, t_ref = _best_of(walk(kernels)), _best_of(walk(reference), repeats=2)
    print(f"random_walk on {n} cells: numba {t_kernel * 1e6:8.1f} µs   "
          f"reference {t_ref * 1e6:10.1f} µs   speed-up {t_ref / t_kernel:6.1f}x")
    copy_t = _best_of(lambda: table["x"].copy())
    print(f"  per cell: numba {t_kernel / n * 1e9:.1f} ns; one column copy"
          f" {copy_t / n * 1e9:.2f} ns (kernel/copy {t_kernel / copy_t:.0f}x)")


def phase_costs(model: MarrowModel, steps: int) -> None:
    """Mean wall time per step of each registered process."""
    totals = {p.name: 0.0 for p in model.processes()}
    for _ in range(steps):
        for process in model.processes():
            t0 = time.perf_counter()
            process.step(model)
            totals[process.name] += time.perf_counter() - t0
        model.steps += 1
    whole = sum(totals.values())
    print(f"per step over {steps} steps ({len(model.agents)} cells):")
    for name, total in totals.items():
        print(f"  {name:18s} {total / steps * 1e6:9.1f} µs  {100 * total / whole:5.1f} %")
    print(f"  {'all':18s} {whole / steps * 1e6:9.1f} µs  -> {steps / whole:,.0f} steps/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()
    model = MarrowModel.from_scenario(REPO / "scenarios" / "poems.yaml")
    kernel_vs_reference(model)
    phase_costs(model, args.steps)


if __name__ == "__main__":
    main()
