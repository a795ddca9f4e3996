"""Benchmark of the bone-cell kernels on a 500² trabecular section, against a plain Mesa-agent
implementation of the same osteoclast rule, measured side by side in one run.

1. **Resorption, numba vs Mesa.** A 500 × 500 lattice of 10 µm voxels with periodic edges holds
   a procedural trabecular network (:func:`abm.bone.trabeculae.trabecular_network`, BV/TV 0.22,
   Tb.Th 150 µm; tissue 1 where mineral ≥ 0.5, else marrow), no osteoid and no lumen.
   ``--osteoclasts`` active osteoclasts (default 2000) sit on distinct free marrow voxels that
   touch bone. One step of the numba side is what :class:`abm.processes.osteoclasts.Resorption`
   does for them: draw ``rng.permutation(n)`` and ``rng.integers(0, 4, n)`` and call
   :func:`abm.cells.kernels.resorb` (the draws are timed; a second row times the kernel alone).
   The Mesa side is a ``mesa.Model`` whose agents are :class:`OsteoclastAgent`
   (``mesa.discrete_space.CellAgent``) on an ``OrthogonalVonNeumannGrid`` (torus, capacity 1);
   each agent's ``step()`` applies the rule of ``kernels.resorb`` to itself, reading and writing
   numpy arrays held by the model (mineral, osteoid, tissue, released TGF-β) and using the Mesa
   grid for occupancy and neighbours; one step is ``model.agents.shuffle_do("step")``. The
   plain-Python reference :func:`abm.cells.reference.resorb` is timed alongside for context.
   Before timing, both sides run from identical states with the same order and directions (the
   Mesa agents driven in the kernel's order) and must give the same mineral, osteoid, released
   TGF-β (to 1e-12) and positions: one step at the model's rate, then 8 steps at 0.25 voxel/step
   with osteoid seams on half the free surface voxels (a fifth of them marked lumen), which makes
   osteoclasts empty voxels, eat osteoid, skip lumen and crawl.
   Timing: every round resets all sides to the same initial state (untimed) and then runs
   ``--steps-per-round`` turns; in each turn every side takes one step in turn (numba, at once a
   second numba step on the same arrays with warm caches, the kernel alone, the reference, Mesa),
   so a slow spell of the shared machine hits them alike. The figures are medians over all timed
   steps. The first numba step of a turn starts with caches cold from the other sides' work, as
   the process does in the model after transport; the repeated one shows the warm-cache cost.
2. **Full model.** ``MarrowModel`` from ``scenarios/healthy.yaml`` on a 5 × 5 mm section
   (``domain.size_um=[5000, 5000]``, i.e. 500²), initial cell counts scaled by the area so the
   densities are those of the scenario's 2 × 2 mm default. After warm-up steps (numba compiled or
   loaded from its cache, solvers warm), each process's ``step(model)`` is timed per step; the
   bone processes (osteoclast_fates, resorption, osteoblast_fates, formation) are compared with
   the transport step. The full-domain pass inside ``formation`` (``kernels.mineralize``:
   mineralization and the tissue map in one pass, via ``FieldStack.mineralize``) is also timed on
   its own, on copies of the layers (not added to the sums).

Numba compile time is never timed (everything is called once first). NUMBA_NUM_THREADS defaults
to 1 (the bone kernels are serial anyway; it also fixes the transport solver's thread count).

Usage: python benchmarks/bone.py [--size 500] [--osteoclasts 2000] [--rounds 40]
       [--steps-per-round 3] [--model-steps 20] [--warmup 3] [--skip-model] [--quick]
(``--quick``: 8 rounds, 4 model steps after 2 warm-up steps.)
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import gc
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalVonNeumannGrid
from model_costs import print_costs, process_costs, scaled_model

from abm.bone.geometry import MINERALIZED_FRACTION
from abm.bone.trabeculae import trabecular_network
from abm.cells import kernels, reference
from abm.cells.table import ACTIVE, CELL_TYPE_CODE
from abm.scenario import load_scenario, units

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "healthy.yaml"

VOXEL_UM = 10.0
BONE_VOLUME_FRACTION = 0.22
TRABECULAR_THICKNESS_UM = 150.0
OSTEOCLAST = CELL_TYPE_CODE["osteoclast"]
MARROW, BONE, LUMEN = 0, kernels.BONE, kernels.LUMEN
OFFSETS = tuple(zip(kernels.DX.tolist(), kernels.DY.tolist(), strict=True))
"""Mesa connection keys of the direction codes 0–3 (+x, −x, +y, −y), as in ``kernels.DX/DY``."""
BONE_PROCESSES = ("osteoclast_fates", "resorption", "osteoblast_fates", "formation")
CHECK_TOLERANCE = 1e-12
STRESS_RESORBED_PER_STEP = 0.25
STRESS_STEPS = 8
STRESS_OSTEOID = 0.3


# --------------------------------------------------------------------------- shared state


@dataclass
class BoneState:
    """Lattice layers and the osteoclasts' cell table (struct of arrays, as the kernels take)."""

    tissue: np.ndarray  # int8[nx, ny]: 0 marrow, 1 bone
    mineral: np.ndarray  # float64[nx, ny]
    osteoid: np.ndarray  # float64[nx, ny]
    released: np.ndarray  # float64[nx, ny], released TGF-β
    occupant: np.ndarray  # int32[nx, ny], slot or -1
    alive: np.ndarray  # bool[n]
    cell_type: np.ndarray  # int8[n]
    stage: np.ndarray  # int8[n]
    x: np.ndarray  # int32[n]
    y: np.ndarray  # int32[n]

    def copy(self) -> BoneState:
        return BoneState(*(getattr(self, f.name).copy() for f in fields(self)))

    def load(self, other: BoneState) -> None:
        """Overwrite every array in place with ``other``'s values."""
        for f in fields(self):
            np.copyto(getattr(self, f.name), getattr(other, f.name))


@dataclass(frozen=True)
class Rates:
    """Per-step resorption (voxel volumes) and TGF-β released per unit of mineral (pM)."""

    resorbed_per_step: float
    tgfb_per_mineral: float


def scenario_rates() -> Rates:
    """The healthy scenario's rates, converted as :class:`abm.processes.osteoclasts.Resorption`
    does."""
    config = load_scenario(SCENARIO).scenario
    rules, domain = config.bone.osteoclasts, config.domain
    resorbed = (
        units.per_day_to_per_h(rules.resorption_rate_um_per_day) * config.time.step_h
        / domain.voxel_um
    )
    per_amol = units.cell_amount_to_concentration("pM", domain.voxel_volume_um3)
    tgfb = config.bone.matrix_tgfb_amol_per_um3 * domain.voxel_volume_um3 * per_amol
    return Rates(resorbed, tgfb)


def touching_bone(tissue: np.ndarray) -> np.ndarray:
    """Voxels with a bone 4-neighbour (periodic)."""
    bone = tissue == BONE
    touching = np.zeros_like(bone)
    for axis in (0, 1):
        for shift in (1, -1):
            touching |= np.roll(bone, shift, axis=axis)
    return touching


def make_state(size: int, n_osteoclasts: int, rng: np.random.Generator) -> BoneState:
    """Trabecular section with ``n_osteoclasts`` active osteoclasts on free surface voxels."""
    mineral = trabecular_network(
        (size, size), VOXEL_UM, BONE_VOLUME_FRACTION, TRABECULAR_THICKNESS_UM, rng, periodic=True
    )
    tissue = np.where(mineral >= MINERALIZED_FRACTION, BONE, MARROW).astype(np.int8)
    sites = np.flatnonzero((tissue == MARROW) & touching_bone(tissue))
    if len(sites) < n_osteoclasts:
        raise SystemExit(f"only {len(sites)} free bone-surface voxels for {n_osteoclasts} cells")
    x, y = np.unravel_index(rng.choice(sites, n_osteoclasts, replace=False), tissue.shape)
    occupant = np.full(tissue.shape, -1, dtype=np.int32)
    occupant[x, y] = np.arange(n_osteoclasts)
    return BoneState(
        tissue=tissue, mineral=mineral, osteoid=np.zeros_like(mineral),
        released=np.zeros_like(mineral), occupant=occupant,
        alive=np.ones(n_osteoclasts, dtype=np.bool_),
        cell_type=np.full(n_osteoclasts, OSTEOCLAST, dtype=np.int8),
        stage=np.full(n_osteoclasts, ACTIVE, dtype=np.int8),
        x=x.astype(np.int32), y=y.astype(np.int32),
    )


def resorb_with(impl, state: BoneState, order, first, rates: Rates) -> float:
    """``impl.resorb`` (``kernels`` or ``reference``) on ``state`` in place."""
    return impl.resorb(
        order, first, OSTEOCLAST, state.alive, state.cell_type, state.stage, state.x, state.y,
        state.occupant, state.tissue, state.mineral, state.osteoid, state.released,
        rates.resorbed_per_step, rates.tgfb_per_mineral, True,
    )


def numba_step(state: BoneState, rng: np.random.Generator, rates: Rates) -> float:
    """One resorption step as the model's process does it (draws included)."""
    n = state.x.shape[0]
    return resorb_with(kernels, state, rng.permutation(n), rng.integers(0, 4, size=n), rates)


# --------------------------------------------------------------------------- plain Mesa


class OsteoclastAgent(CellAgent):
    """An active osteoclast applying the rule of :func:`abm.cells.kernels.resorb` to itself."""

    def __init__(self, model: MesaBoneModel, cell, slot: int):
        super().__init__(model)
        self.cell = cell
        self.slot = slot

    def step(self) -> None:
        """Act with a random first direction."""
        self.act(self.random.randrange(4))

    def act(self, first: int) -> float:
        """Resorb the first neighbour (directions ``first, +1, +2, +3``) that holds matrix, is
        not lumen and has no agent; else crawl to the first free neighbour touching bone, else
        to the first free one. Returns the matrix removed."""
        model = self.model
        mineral, osteoid, tissue = model.mineral, model.osteoid, model.tissue
        links = self.cell.connections
        for j in range(4):
            target = links[OFFSETS[(first + j) % 4]]
            xy = target.coordinate
            if target.is_empty and tissue[xy] != LUMEN and mineral[xy] + osteoid[xy] > 0.0:
                rate = model.resorbed_per_step
                from_mineral = min(rate, mineral[xy])
                mineral[xy] -= from_mineral
                from_osteoid = min(rate - from_mineral, osteoid[xy])
                osteoid[xy] -= from_osteoid
                model.released[xy] += from_mineral * model.tgfb_per_mineral
                return from_mineral + from_osteoid
        fallback = None
        for j in range(4):
            target = links[OFFSETS[(first + j) % 4]]
            if not (target.is_empty and tissue[target.coordinate] == MARROW):
                continue
            if any(tissue[c.coordinate] == BONE for c in target.connections.values()):
                self.cell = target
                return 0.0
            if fallback is None:
                fallback = target
        if fallback is not None:
            self.cell = fallback
        return 0.0


class MesaBoneModel(mesa.Model):
    """The osteoclasts of a :class:`BoneState` as Mesa agents on a von Neumann torus grid."""

    def __init__(self, state: BoneState, rates: Rates, seed: int):
        super().__init__(rng=seed)
        self.grid = OrthogonalVonNeumannGrid(
            state.tissue.shape, torus=True, capacity=1, random=self.random
        )
        self.tissue = state.tissue.copy()
        self.mineral = state.mineral.copy()
        self.osteoid = state.osteoid.copy()
        self.released = state.released.copy()
        self.resorbed_per_step = rates.resorbed_per_step
        self.tgfb_per_mineral = rates.tgfb_per_mineral
        self.by_slot = [
            OsteoclastAgent(self, self.grid[(int(x), int(y))], s)
            for s, (x, y) in enumerate(zip(state.x, state.y, strict=True))
        ]

    def step(self) -> None:
        self.agents.shuffle_do("step")

    def load(self, state: BoneState, rates: Rates) -> None:
        """Put arrays and agents back to ``state`` (same number of cells)."""
        for name in ("tissue", "mineral", "osteoid", "released"):
            np.copyto(getattr(self, name), getattr(state, name))
        self.resorbed_per_step = rates.resorbed_per_step
        self.tgfb_per_mineral = rates.tgfb_per_mineral
        for agent in self.by_slot:
            agent.cell = None
        for agent, x, y in zip(self.by_slot, state.x, state.y, strict=True):
            agent.cell = self.grid[(int(x), int(y))]

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        xy = np.array([agent.cell.coordinate for agent in self.by_slot])
        return xy[:, 0], xy[:, 1]


# --------------------------------------------------------------------------- equivalence


def verify(state: BoneState, mesa_model: MesaBoneModel, rates: Rates, seed: int) -> None:
    """Same order and directions on both sides: identical layers and positions, or exit."""
    rng = np.random.default_rng(seed)
    stressed = state.copy()
    seams = np.flatnonzero(
        (state.tissue == MARROW) & (state.occupant < 0) & touching_bone(state.tissue)
    )
    seams = rng.choice(seams, len(seams) // 2, replace=False)
    stressed.osteoid.flat[seams] = STRESS_OSTEOID
    stressed.tissue.flat[seams[: len(seams) // 5]] = LUMEN  # matrix there must not be resorbed
    cases = (
        ("1 step at the model's rate", state, rates, 1),
        (
            f"{STRESS_STEPS} steps at {STRESS_RESORBED_PER_STEP} voxel/step, osteoid seams, lumen",
            stressed, replace(rates, resorbed_per_step=STRESS_RESORBED_PER_STEP), STRESS_STEPS,
        ),
    )
    n = state.x.shape[0]
    for label, initial, case_rates, steps in cases:
        numba_side = initial.copy()
        mesa_model.load(initial, case_rates)
        moves = emptied = 0
        for _ in range(steps):
            order, first = rng.permutation(n), rng.integers(0, 4, size=n)
            before = numba_side.x.copy(), numba_side.y.copy()
            total_numba = resorb_with(kernels, numba_side, order, first, case_rates)
            total_mesa = sum(mesa_model.by_slot[s].act(int(first[s])) for s in order)
            moved = (numba_side.x != before[0]) | (numba_side.y != before[1])
            moves += int(np.count_nonzero(moved))
            mx, my = mesa_model.positions()
            worst = max(
                float(np.abs(getattr(numba_side, name) - getattr(mesa_model, name)).max())
                for name in ("mineral", "osteoid", "released")
            )
            if (
                worst > CHECK_TOLERANCE or abs(total_numba - total_mesa) > CHECK_TOLERANCE * n
                or not (np.array_equal(mx, numba_side.x) and np.array_equal(my, numba_side.y))
            ):
                raise SystemExit(f"Mesa and numba disagree ({label}): max |Δ| {worst:.3g}")
        matrix = numba_side.mineral + numba_side.osteoid
        emptied = int(np.count_nonzero((initial.mineral + initial.osteoid > 0) & (matrix <= 0)))
        print(f"  equivalent: {label}: layers identical to {CHECK_TOLERANCE:g}, positions equal "
              f"({moves} crawls, {emptied} voxels emptied)")


# --------------------------------------------------------------------------- timing


def time_resorption(
    state: BoneState, mesa_model: MesaBoneModel, rates: Rates, rounds: int, steps: int,
    seed: int,
) -> dict[str, list[float]]:
    """Seconds per step of each implementation, from reset states, interleaved.

    Each round resets every side to ``state`` (untimed), then runs ``steps`` times: the numba
    step, at once a second numba step on the same arrays (``numba warm``: caches hold what the
    first one touched), the kernel alone (draws made untimed), the plain-Python reference and
    the Mesa step. So the first numba step of each turn, like the kernel alone, starts with
    caches cold from the other implementations' work, as the process does in the model after
    transport and the other processes.
    """
    rng = np.random.default_rng(seed)
    n = state.x.shape[0]
    work = {name: state.copy() for name in ("numba", "kernel", "reference")}
    drawn: dict[str, np.ndarray] = {}

    def draw() -> None:
        drawn["order"], drawn["first"] = rng.permutation(n), rng.integers(0, 4, size=n)

    def numba() -> None:
        numba_step(work["numba"], rng, rates)

    runs: dict[str, tuple[Callable[[], object], Callable[[], object] | None]] = {
        "numba": (numba, None),
        "numba warm": (numba, None),
        "kernel": (
            lambda: resorb_with(kernels, work["kernel"], drawn["order"], drawn["first"], rates),
            draw,
        ),
        "reference": (
            lambda: resorb_with(
                reference, work["reference"], drawn["order"], drawn["first"], rates
            ),
            draw,
        ),
        "mesa": (mesa_model.step, None),
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name in work:
            work[name].load(state)
        mesa_model.load(state, rates)
        for _ in range(steps):
            for name, (run, setup) in runs.items():
                if setup is not None:
                    setup()
                start = time.perf_counter()
                run()
                samples[name].append(time.perf_counter() - start)
    return samples


def print_resorption_table(samples: dict[str, list[float]], n: int) -> None:
    seconds = {name: statistics.median(values) for name, values in samples.items()}
    mesa_s = seconds["mesa"]
    rows = (
        ("numba: draws + kernels.resorb", "numba"),
        ("  same, repeated (warm caches)", "numba warm"),
        ("numba: kernels.resorb alone", "kernel"),
        ("plain Python reference.resorb", "reference"),
        ("Mesa: CellAgent + shuffle_do", "mesa"),
    )
    print(f"\nResorption step on {n} active osteoclasts "
          f"(median of {len(samples['mesa'])} interleaved steps)")
    print(f"{'implementation':32}{'ms/step':>10}{'ns/cell':>10}{'Mesa / this':>13}"
          f"{'quartiles of Mesa/this':>24}")
    for label, name in rows:
        s = seconds[name]
        # spread of the per-step ratio (samples of one turn were taken side by side)
        ratios = [m / t for m, t in zip(samples["mesa"], samples[name], strict=True)]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        print(f"{label:32}{s * 1e3:>10.4f}{s / n * 1e9:>10.0f}{mesa_s / s:>12.0f}x"
              f"{q1:>15.0f}x – {q3:.0f}x")
    ratio = mesa_s / seconds["numba"]
    verdict = "met" if ratio >= 100 else "NOT met"
    print(f"goal: numba step (draws included, cold row) >= 100x faster than Mesa: {ratio:.0f}x, "
          f"{verdict} (warm caches: {mesa_s / seconds['numba warm']:.0f}x)")


# --------------------------------------------------------------------------- full model


def full_model(size: int, warmup: int, steps: int) -> None:
    """Per-step cost of every process of ``MarrowModel`` at ``size``² (healthy densities)."""
    from abm.scenario.schema import BONE_LAYER, OSTEOID_LAYER, VESSEL_LAYER
    from abm.vessels.geometry import LUMEN_FRACTION

    model = scaled_model(SCENARIO, size)
    formation = next(p for p in model.processes() if p.name == "formation")

    def mineralize(model) -> float:
        """Seconds of the full-lattice pass inside formation, on copies of the layers."""
        fields = model.fields
        mineral, osteoid = fields[BONE_LAYER].copy(), fields[OSTEOID_LAYER].copy()
        tissue = fields.tissue.copy()
        start = time.perf_counter()
        kernels.mineralize(
            mineral, osteoid, fields[VESSEL_LAYER], tissue, formation.mineralized_per_step,
            MINERALIZED_FRACTION, LUMEN_FRACTION,
        )
        return time.perf_counter() - start

    samples = process_costs(model, warmup, steps, {"  formation: mineralize": mineralize})
    counts = model.cells.count_by_type()
    stage = model.cells["stage"][model.cells["alive"]]
    types = model.cells["cell_type"][model.cells["alive"]]
    bone_cells = ", ".join(
        f"{name} {counts[code]} ({np.count_nonzero((types == code) & (stage == ACTIVE))} active)"
        for name, code in CELL_TYPE_CODE.items() if name in ("osteoclast", "osteoblast")
    )
    print(f"  after the run: {model.cells.n_slots} slots, {bone_cells}, "
          f"stromal_cell {counts[CELL_TYPE_CODE['stromal_cell']]}")
    print_costs(samples, size, warmup, BONE_PROCESSES, "bone processes")


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=500, help="lattice side n (n × n voxels)")
    parser.add_argument("--osteoclasts", type=int, default=2000, help="active osteoclasts")
    parser.add_argument("--rounds", type=int, help="timing rounds (default 40, --quick 8)")
    parser.add_argument("--steps-per-round", type=int, default=3)
    parser.add_argument("--model-steps", type=int, help="timed model steps (20, --quick 4)")
    parser.add_argument("--warmup", type=int, help="untimed model steps first (3, --quick 2)")
    parser.add_argument("--skip-model", action="store_true", help="skip the full-model table")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and model steps")
    args = parser.parse_args()
    rounds = args.rounds or (8 if args.quick else 40)
    model_steps = args.model_steps or (4 if args.quick else 20)
    warmup = args.warmup if args.warmup is not None else (2 if args.quick else 3)

    print(f"NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}; mesa {mesa.__version__}")
    rng = np.random.default_rng(args.seed)
    rates = scenario_rates()
    start = time.perf_counter()
    state = make_state(args.size, args.osteoclasts, rng)
    surface = np.count_nonzero((state.tissue == MARROW) & touching_bone(state.tissue))
    print(f"{args.size}² section: BV/TV {np.mean(state.tissue == BONE):.3f}, {surface} marrow "
          f"voxels on the bone surface, {args.osteoclasts} osteoclasts; resorbed "
          f"{rates.resorbed_per_step:.5f} voxel/step, TGF-β {rates.tgfb_per_mineral:.4g} pM per "
          f"voxel of mineral ({time.perf_counter() - start:.1f} s)")
    numba_step(state.copy(), np.random.default_rng(0), rates)  # compile / load from cache
    start = time.perf_counter()
    mesa_model = MesaBoneModel(state, rates, args.seed)
    print(f"Mesa grid and agents built in {time.perf_counter() - start:.1f} s")
    verify(state, mesa_model, rates, args.seed + 1)
    samples = time_resorption(
        state, mesa_model, rates, rounds, args.steps_per_round, args.seed + 2
    )
    print_resorption_table(samples, args.osteoclasts)
    del mesa_model
    gc.collect()
    if args.skip_model:
        return
    try:
        full_model(args.size, warmup, model_steps)
    except Exception:  # the model is under active development: report, keep the table above
        print("full model failed:")
        traceback.print_exc()


if __name__ == "__main__":
    main()
