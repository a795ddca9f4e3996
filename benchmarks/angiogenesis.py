"""Benchmark of the vessel processes (HIF-1α sensing, type-H release, tip selection and sprout
regression, the tip walk and perfusion) against the transport solve, measured side by side in
the same steps of one run.

``MarrowModel`` from ``scenarios/myeloma.yaml`` (its clone holds marrow VEGF at ~5 ng/mL, so
sprouting is active everywhere) on an n × n section of 10 µm voxels (default 500², i.e.
5 × 5 mm), initial cell counts scaled by the area. The first ``--grow-days`` days run untimed
so that tips and grown vessels exist; then each process's ``step(model)`` is timed per step
(:mod:`model_costs`). The vessel processes (*) are summed per step and compared with the
transport step (all eight species). The kernels alone are also timed on the model's arrays
(not added to the sums): ``relax_hif`` over the cell table, ``move_tips`` on copies of the
table, and ``perfused_sprout_cells``.

Numba compile time is never timed. NUMBA_NUM_THREADS defaults to 1.

Usage: python benchmarks/angiogenesis.py [--size 500] [--grow-days 2] [--steps 20] [--quick]
(``--quick``: 200², 1 day of growth, 5 steps.)
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import time
from pathlib import Path

import numpy as np
from model_costs import print_costs, process_costs, scaled_model

from abm.cells import kernels
from abm.observers.timeseries import readouts
from abm.processes.angiogenesis import ENDOTHELIAL, INLET, PARENT_SPROUT, SPROUT, TIP
from abm.processes.hypoxia import HIF_COLUMN

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "myeloma.yaml"
VESSEL_PROCESSES = ("hif_sensing", "type_h_signalling", "endothelial_fates", "sprout_growth")


def kernel_timers(model) -> dict:
    """Timers of the HIF, tip-walk and perfusion kernels alone on the model's current arrays
    (copies where the kernel writes)."""
    table, fields = model.cells, model.fields
    hif_rules = model.config.hypoxia
    walk = next(p for p in model.processes() if p.name == "sprout_growth")

    def relax_hif(model) -> float:
        hif = table[HIF_COLUMN].copy()
        start = time.perf_counter()
        kernels.relax_hif(
            table["alive"], table["x"], table["y"], table.n_slots, fields["oxygen"],
            hif_rules.hif_half_maximal_pO2_mmHg, hif_rules.hif_hill_coefficient, 0.8, hif,
        )
        return time.perf_counter() - start

    def move_tips(model) -> float:
        n = table.n_slots
        tips = np.flatnonzero(table["alive"] & table[TIP])
        columns = {name: table.full(name).copy() for name in (
            "alive", "cell_type", "x", "y", "age_h", "cell_id", SPROUT, PARENT_SPROUT, INLET, TIP
        )}
        need = n + len(tips)
        columns = {k: np.resize(v, max(need, len(v))) for k, v in columns.items()}
        occupant = table.occupant.copy()
        mother = np.full(len(columns["alive"]), -1, dtype=np.int64)
        order, u = np.random.default_rng(0).permutation(tips), np.random.default_rng(1).random(n)
        start = time.perf_counter()
        kernels.move_tips(
            order, u, ENDOTHELIAL, columns["alive"], columns["cell_type"], columns["x"],
            columns["y"], columns["age_h"], columns["cell_id"], mother, columns[SPROUT],
            columns[PARENT_SPROUT], columns[INLET], columns[TIP], occupant, fields.tissue,
            fields["vegf"], walk.signalling, walk.hop_per_direction, walk.chemotaxis_per_h,
            walk.chemotaxis_saturation, walk.max_gradient_per_voxel, model.step_h,
            walk.avoid_bone_surface, walk.periodic, n,
        )
        return time.perf_counter() - start

    def perfusion(model) -> float:
        out = np.zeros(table.n_slots, dtype=bool)
        start = time.perf_counter()
        kernels.perfused_sprout_cells(
            ENDOTHELIAL, table["alive"], table["cell_type"], table["x"], table["y"],
            table[SPROUT], table[INLET], table.occupant, walk.periodic, table.n_slots, out,
        )
        return time.perf_counter() - start

    return {
        "  kernel: relax_hif": relax_hif,
        "  kernel: move_tips": move_tips,
        "  kernel: perfused_sprout_cells": perfusion,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, help="lattice side n (default 500, --quick 200)")
    parser.add_argument("--grow-days", type=float, help="untimed days first (2, --quick 1)")
    parser.add_argument("--steps", type=int, help="timed steps (20, --quick 5)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    size = args.size or (200 if args.quick else 500)
    grow_days = args.grow_days if args.grow_days is not None else (1 if args.quick else 2)
    steps = args.steps or (5 if args.quick else 20)
    print(f"NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}")
    model = scaled_model(SCENARIO, size)
    warmup = round(grow_days * 24 / model.step_h)
    samples = process_costs(model, warmup, steps, kernel_timers(model))
    row = readouts(model)
    print(f"  after the run: {row['n_endothelial_cell']} endothelial cells"
          f" ({row['n_grown_endothelial_cells']} grown, {row['n_endothelial_tips']} tips),"
          f" {model.cells.n_slots} slots, perfused fraction {row['perfused_vessel_fraction']:.2f}")
    print_costs(samples, size, warmup, VESSEL_PROCESSES, "vessel processes")


if __name__ == "__main__":
    main()
