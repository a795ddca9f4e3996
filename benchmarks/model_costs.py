"""Per-step cost of each process of the full model, shared by the benchmarks.

:func:`scaled_model` builds ``MarrowModel`` from a scenario on an n × n section with the
scenario's cell densities; :func:`process_costs` times every process's ``step(model)`` per step
(after untimed warm-up steps, so numba has compiled and the solvers are warm);
:func:`print_costs` prints the medians and the ratio of each process, and of a named group of
them summed per step, to the transport step measured in the same steps.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from abm.model import MarrowModel
from abm.scenario import load_scenario


def scaled_model(scenario: Path, size: int, extra: Sequence[str] = ()) -> MarrowModel:
    """``scenario`` on a ``size`` × ``size`` section, initial cell counts (and numbers of foci)
    scaled by the area so the densities are the scenario's."""
    base = load_scenario(scenario).scenario
    side_um = size * base.domain.voxel_um
    area_factor = side_um**2 / (base.domain.size_um[0] * base.domain.size_um[1])
    overrides = [f"domain.size_um=[{side_um:g}, {side_um:g}]"]
    for name, spec in base.cells.items():
        if spec.initial_count:
            overrides.append(
                f"cells.{name}.initial_count={round(spec.initial_count * area_factor)}"
            )
        if spec.placement.kind == "foci":
            overrides.append(
                f"cells.{name}.placement.n_foci={round(spec.placement.n_foci * area_factor)}"
            )
    overrides += list(extra)
    print(f"\nFull model: {scenario.name} at {size}² ({', '.join(overrides)})", flush=True)
    start = time.perf_counter()
    model = MarrowModel.from_scenario(scenario, overrides)
    print(f"  built in {time.perf_counter() - start:.1f} s", flush=True)
    return model


def process_costs(
    model: MarrowModel, warmup: int, steps: int,
    extra: dict[str, Callable[[MarrowModel], float]] | None = None,
) -> dict[str, list[float]]:
    """Seconds spent in each process's ``step`` in each of ``steps`` steps after ``warmup``
    untimed ones; ``extra`` timers (name → function returning seconds) run after each step."""
    processes = model.processes()
    print(f"  {warmup} warm-up steps ...", flush=True)
    for _ in range(warmup):
        for process in processes:
            process.step(model)
        model.steps += 1
    samples: dict[str, list[float]] = {p.name: [] for p in processes}
    samples.update({name: [] for name in extra or {}})
    for _ in range(steps):
        for process in processes:
            start = time.perf_counter()
            process.step(model)
            samples[process.name].append(time.perf_counter() - start)
        model.steps += 1
        for name, timer in (extra or {}).items():
            samples[name].append(timer(model))
    return samples


def print_costs(
    samples: dict[str, list[float]], size: int, warmup: int, group: tuple[str, ...],
    group_name: str,
) -> None:
    """Median and mean ms per step of each entry and of ``group`` (summed per step), each as a
    fraction of the transport step."""
    steps = len(samples["transport"])
    medians = {name: statistics.median(v) for name, v in samples.items()}
    transport = medians["transport"]
    print(f"\nPer-step cost at {size}² (median of {steps} steps after {warmup} warm-up)")
    print(f"{'process':34}{'ms/step':>10}{'mean ms':>10}{'/ transport':>13}")
    for name, values in samples.items():
        tag = " *" if name in group else ""
        print(f"{name + tag:34}{medians[name] * 1e3:>10.3f}"
              f"{statistics.fmean(values) * 1e3:>10.3f}{medians[name] / transport:>12.2%}")
    per_step = [sum(samples[name][k] for name in group) for k in range(steps)]
    together = statistics.median(per_step)
    print(f"{group_name + ' (*) together':34}{together * 1e3:>10.3f}"
          f"{statistics.fmean(per_step) * 1e3:>10.3f}{together / transport:>12.2%}")
    print(f"transport / {group_name}: {transport / together:.1f}x")
