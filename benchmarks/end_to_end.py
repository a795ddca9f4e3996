"""End-to-end benchmark of the whole model: the POEMS scenario at several lattice sizes for a fixed
simulated span, with its observers writing a run directory, each size in a fresh process.

For each size (n × n voxels of 10 µm, cell counts and foci scaled by area, so densities are the
scenario's; :func:`model_costs.scaled_model`) it prints:

- simulated days per wall second, and wall ms per step split by phase (transport, sensing,
  decisions, actions, bookkeeping, observers) and by process (:func:`process_costs`), mean over
  the timed steps after untimed warm-up steps;
- the observers' cost amortized over the scenario's intervals: a time-series row every
  ``record_interval_h``, a snapshot every ``snapshot_interval_h`` and a checkpoint every
  ``checkpoint_interval_h``, each timed once after the timed steps (a short span sees few of
  them);
- model construction time, peak resident memory of the process (``ru_maxrss``), living agents;
- log-log slopes of the per-step cost against voxels (whole step and transport) and against
  agents (whole step and the cell processes, i.e. everything but transport and observers): 1.0
  is linear scaling;
- the projected wall time of one simulated year at that size.

Then, at the smallest size, the same run with ``NUMBA_NUM_THREADS=1`` and ``=2`` (the 2-thread
speed-up, and whether the final state, every field and cell column, is byte-identical), and the
start-up time of a process that imports ``abm``, builds the default POEMS model (200², 2 mm) and
runs one step: once with an empty numba cache (``NUMBA_CACHE_DIR`` in a temporary directory:
everything compiles) and once more with that cache filled (the "second run starts in < 5 s"
budget).

Absolute times drift on a shared machine; ratios measured in one run are what to compare.

Usage:
    python benchmarks/end_to_end.py [--sizes 200 500 1000] [--days 1] [--warmup-steps 6]
        [--quick] [--skip-threads] [--skip-startup]

``--quick``: sizes 200 and 500, 6 h after 3 warm-up steps. Each size runs in a child process
with ``NUMBA_NUM_THREADS=1`` unless ``--threads`` says otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
POEMS = REPO / "scenarios" / "poems.yaml"
CELL_PHASES = ("sensing", "decisions", "actions", "bookkeeping")
"""Phases whose cost is counted as the cell processes (scaling against agents)."""


# --------------------------------------------------------------------------- child process


def _digest(model) -> str:
    """SHA-256 of every field layer and every cell-table column of the model's state."""
    arrays, _ = model.state()
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(key.encode())
        h.update(np.ascontiguousarray(arrays[key]).tobytes())
    return h.hexdigest()


def measure(size: int, days: float, warmup: int) -> dict:
    """Run POEMS at ``size``² for ``days`` after ``warmup`` untimed steps, observers attached;
    the numbers the parent prints (seconds, bytes)."""
    from model_costs import process_costs, scaled_model

    from abm.io.rundir import RunDirectory
    from abm.observers.snapshots import snapshot_layers
    from abm.runner import _attach_observers  # the observers exactly as `abm run` attaches them

    start = time.perf_counter()
    model = scaled_model(POEMS, size)
    build_s = time.perf_counter() - start
    steps = round(days * 24 / model.step_h)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = RunDirectory.create(Path(tmp) / "run")
        store = run_dir.create_snapshots(model.config.domain.shape, snapshot_layers(model))
        observers = _attach_observers(model, run_dir, store)
        samples = process_costs(model, warmup, steps)
        writes = {}
        for name, write, every in (
            ("time-series row", observers.recorder.record, observers.recorder.every_steps),
            ("snapshot", observers.snapshots.write, observers.snapshots.every_steps),
            ("checkpoint", observers.checkpointer.save, observers.checkpointer.every_steps),
        ):
            t0 = time.perf_counter()
            write(model)
            writes[name] = (time.perf_counter() - t0, every)
    return {
        "size": size,
        "voxels": size * size,
        "agents": len(model.agents),
        "step_h": model.step_h,
        "steps": steps,
        "warmup": warmup,
        "build_s": build_s,
        "schedule": model.schedule_summary(),
        "per_step_s": {name: statistics.fmean(v) for name, v in samples.items()},
        "writes": writes,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "digest": _digest(model),
    }


def startup() -> None:
    """Import abm, build the default POEMS model and run one step (timed by the parent)."""
    from abm.model import MarrowModel

    MarrowModel.from_scenario(POEMS).step()


# --------------------------------------------------------------------------- parent


def _child(args: list[str], env: dict[str, str]) -> tuple[dict | None, float]:
    """Run this script with ``args`` in a fresh interpreter; its JSON result and wall seconds."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, *args], env={**os.environ, **env}, check=True,
        stdout=subprocess.PIPE, text=True,
    ).stdout
    wall = time.perf_counter() - t0
    last = out.strip().splitlines()[-1] if out.strip() else ""
    return (json.loads(last) if last.startswith("{") else None), wall


def _run_size(size: int, days: float, warmup: int, threads: int) -> dict:
    print(f"\n{size}² ({threads} numba thread{'s' * (threads > 1)}) ...", flush=True)
    result, _ = _child(
        ["--child", str(size), "--days", str(days), "--warmup-steps", str(warmup)],
        {"NUMBA_NUM_THREADS": str(threads)},
    )
    assert result is not None
    return result


def _phase_costs(result: dict) -> dict[str, float]:
    per = result["per_step_s"]
    costs = {phase: sum(per[p] for p in names) for phase, names in result["schedule"].items()}
    costs["observers"] = sum(t / every for t, every in result["writes"].values())
    return costs


def _step_s(result: dict) -> float:
    return sum(_phase_costs(result).values())


def _slope(x: list[float], y: list[float]) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0]) if len(x) > 1 else float("nan")


def report(results: list[dict]) -> None:
    """Print the per-size tables and the scaling exponents."""
    for r in results:
        phases, per = _phase_costs(r), r["per_step_s"]
        step = sum(phases.values())
        days_per_s = r["step_h"] / 24 / step
        print(f"\n== POEMS at {r['size']}² ({r['voxels']:,} voxels, {r['agents']:,} agents):"
              f" {r['steps']} timed steps after {r['warmup']} warm-up ==")
        print(f"  built in {r['build_s']:.1f} s; peak RSS {r['peak_rss_bytes'] / 2**30:.2f} GiB")
        print(f"  {step * 1e3:.1f} ms/step -> {days_per_s:.3f} simulated days per wall second;"
              f" one simulated year {365 / days_per_s / 60:.1f} min")
        print(f"  {'phase / process':44}{'ms/step':>10}{'share':>8}")
        for phase, names in r["schedule"].items():
            print(f"  {phase:44}{phases[phase] * 1e3:>10.3f}{phases[phase] / step:>8.1%}")
            if phase == "observers":  # amortized writes instead of the few timed steps' luck
                for name, (seconds, every) in r["writes"].items():
                    label = f"{name} ({seconds * 1e3:.0f} ms every {every} steps)"
                    print(f"    {label:42}{seconds / every * 1e3:>10.3f}"
                          f"{seconds / every / step:>8.1%}")
                continue
            for name in names:
                print(f"    {name:42}{per[name] * 1e3:>10.3f}{per[name] / step:>8.1%}")
    if len(results) > 1:
        voxels = [r["voxels"] for r in results]
        agents = [r["agents"] for r in results]
        step = [_step_s(r) for r in results]
        transport = [_phase_costs(r)["transport"] for r in results]
        cells = [sum(_phase_costs(r)[p] for p in CELL_PHASES) for r in results]
        print("\nScaling (log-log slope of ms/step; 1.0 = linear):")
        for label, x, y in (
            ("whole step vs voxels", voxels, step),
            ("transport vs voxels", voxels, transport),
            ("whole step vs agents", agents, step),
            ("cell processes (sensing..bookkeeping) vs agents", agents, cells),
        ):
            print(f"  {label:48}{_slope(x, y):6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--days", type=float, default=None, help="timed simulated span")
    parser.add_argument("--warmup-steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-threads", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--startup-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    days = args.days if args.days is not None else (0.25 if args.quick else 1.0)
    warmup = args.warmup_steps if args.warmup_steps is not None else (3 if args.quick else 6)
    if args.startup_child:
        startup()
        return
    if args.child is not None:
        print(json.dumps(measure(args.child, days, warmup)))
        return
    sizes = args.sizes or ([200, 500] if args.quick else [200, 500, 1000])
    results = [_run_size(size, days, warmup, args.threads) for size in sizes]
    report(results)
    if not args.skip_threads:
        one, two = (_run_size(sizes[0], days, warmup, t) for t in (1, 2))
        same = one["digest"] == two["digest"]
        print(f"\nThreads at {sizes[0]}²: 1 thread {_step_s(one) * 1e3:.1f} ms/step, 2 threads"
              f" {_step_s(two) * 1e3:.1f} ms/step: speed-up {_step_s(one) / _step_s(two):.2f}x;"
              f" final state {'identical' if same else 'DIFFERENT'}")
    if not args.skip_startup:
        with tempfile.TemporaryDirectory() as cache:
            env = {"NUMBA_CACHE_DIR": cache, "NUMBA_NUM_THREADS": "1"}
            cold = _child(["--startup-child"], env)[1]
            warm = _child(["--startup-child"], env)[1]
        print(f"\nStart-up (import, build POEMS 200², one step): empty numba cache {cold:.1f} s,"
              f" second run {warm:.1f} s")


if __name__ == "__main__":
    main()
