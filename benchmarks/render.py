"""Rendering speed of movie frames on a 500 × 500 lattice (5 mm at 10 µm voxels).

Usage: ``python benchmarks/render.py [--n 500] [--frames 20] [--runs 1]``

Writes a synthetic run directory (bone bands, vessel cross-sections, ~25 % of the marrow
voxels holding cells, a VEGF field) with ``--frames`` snapshots into a temporary directory and
reports, each as frames per second (medians of the per-frame times after a warm-up frame):

* ``compose``: the tissue-view RGB image of one snapshot per run (numpy only);
* ``render``: compose + drawing the whole 1920 × 1080 movie frame with matplotlib (tissue
  view(s), legend, colour bar, time-series strip with its cursor) and reading its pixels;
* ``movie``: the whole ``write_movie`` call to an MP4 (reading snapshots, rendering, H.264
  encoding), frames / wall time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from abm.io.rundir import RunDirectory
from analysis import tissue
from analysis.animate import MovieFigure, MovieSpec, check_inputs, write_movie
from analysis.metrics import CELL_TYPE_CODE, NO_CELL
from analysis.runs import Run

LAYERS = ["bone", "vessels", "cells", "vegf"]


def synthetic_snapshot(n: int, k: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Snapshot ``k`` of an ``n × n`` synthetic section."""
    x, y = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    mineral = ((np.sin(x / 23.0) + np.cos(y / 31.0)) > 1.1).astype(np.float64)
    lumen = (((x % 25) - 12) ** 2 + ((y % 25) - 12) ** 2 <= 2).astype(np.float64)
    cells = np.full((n, n), NO_CELL, dtype=np.int8)
    marrow = (mineral == 0) & (lumen == 0)
    occupied = marrow & (rng.random((n, n)) < 0.25)
    cells[occupied] = rng.integers(0, 4, size=int(occupied.sum()))
    cells[lumen > 0] = CELL_TYPE_CODE["endothelial_cell"]
    vegf = 100.0 * (1 + k) * np.exp(-((x - n / 2) ** 2 + (y - n / 2) ** 2) / (n / 4) ** 2)
    return {"vegf": vegf, "bone_mineral": mineral, "osteoid": np.zeros((n, n)),
            "vessel_lumen": lumen, "cell_type_map": cells}


def write_run(path: Path, n: int, n_frames: int) -> Path:
    """A run directory with ``n_frames`` daily snapshots of :func:`synthetic_snapshot`."""
    rng = np.random.default_rng(0)
    run = RunDirectory.create(path)
    run.write_manifest({"format_version": 1, "status": "completed", "seed": 0, "step_h": 1.0,
                        "voxel_um": 10.0, "scenario": {"fields": {"vegf": {"unit": "pg/mL"}}}})
    days = np.arange(n_frames, dtype=np.float64)
    run.write_timeseries({"time_d": days, "serum_vegf_pg_per_mL": 100 + 50 * days,
                          "bone_volume_fraction": np.full(n_frames, 0.2)})
    first = synthetic_snapshot(n, 0, rng)
    store = run.create_snapshots((n, n), {name: a.dtype for name, a in first.items()})
    for k in range(n_frames):
        store.append(24 * k, synthetic_snapshot(n, k, rng))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="lattice edge, voxels")
    parser.add_argument("--frames", type=int, default=20, help="snapshots per run")
    parser.add_argument("--runs", type=int, default=1, help="runs side by side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = [write_run(Path(tmp) / f"run{i}", args.n, args.frames) for i in range(args.runs)]
        runs = [Run.open(p) for p in paths]
        show, heat_field, series = check_inputs(runs, LAYERS, None)
        heat = tissue.HeatScale(heat_field, 0.0, 100.0 * args.frames)
        names = ["bone_mineral", "osteoid", "vessel_lumen", "cell_type_map", heat_field]
        snapshots = [[run.layers(names, k) for run in runs] for k in range(args.frames)]
        compose_s, render_s = [], []
        figure = MovieFigure(runs, MovieSpec(show, heat_field, series), heat)
        for k, layers in enumerate(snapshots):
            t0 = time.perf_counter()
            for one in layers:
                tissue.compose(one, show, heat)
            t1 = time.perf_counter()
            figure.render(layers, 24.0 * k)
            t2 = time.perf_counter()
            if k:  # the first frame warms caches
                compose_s.append(t1 - t0)
                render_s.append(t2 - t1)
        t0 = time.perf_counter()
        write_movie(paths, Path(tmp) / "bench.mp4", LAYERS, progress="off")
        movie_s = time.perf_counter() - t0
    print(f"lattice {args.n}x{args.n}, {args.runs} run(s) side by side, 1920x1080 frames")
    print(f"compose  {1 / statistics.median(compose_s):8.1f} frames/s")
    print(f"render   {1 / statistics.median(render_s):8.1f} frames/s")
    print(f"movie    {args.frames / movie_s:8.1f} frames/s  (MP4, {args.frames} frames, "
          f"{movie_s:.1f} s)")


if __name__ == "__main__":
    main()
