"""Lattice kernels for cell turnover (division, death), random-walk migration, HIF-1α sensing,
vessel-wall conductivity, the bone-cell lineages (osteoclast activation and resorption,
osteoblast commitment, activation, formation, osteoid mineralization), the tissue map's
classification, and the endothelium (tip selection, the tip walk, sprout perfusion, type-H
release).

Stochastic kernels walk the cells serially in a random order drawn from ``model.rng`` by the
caller, so a run is identical for any thread count. They live in one module because they share
the neighbour helper (numba's on-disk cache does not notice edits to another module's kernel).
Each kernel has a plain Python reference in :mod:`abm.cells.reference` with the same semantics;
tests compare them.

Neighbourhood: the 4 von Neumann neighbours, direction codes 0 = +x, 1 = −x, 2 = +y, 3 = −y.
A voxel is free when no cell occupies it and it is marrow (tissue code 0 in the tissue map,
:attr:`abm.fields.stack.FieldStack.tissue`; not mineralized bone or vessel lumen).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import literal_unroll, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from abm.cells.table import ACTIVE, LINING, PRECURSOR

MARROW, BONE, LUMEN = 0, 1, 2
"""Tissue codes of marrow, mineralized bone and vessel lumen (:mod:`abm.fields.stack`)."""

FULL_TOLERANCE = 1e-9
"""A voxel whose matrix fraction is within this of 1 is full."""

DX = np.array([1, -1, 0, 0], dtype=np.int64)
DY = np.array([0, 0, 1, -1], dtype=np.int64)

PREFETCH_AHEAD = 8
"""How many acting cells ahead :func:`resorb` asks the CPU to fetch the lattice lines a cell
reads (a cell's loads wait on the data-dependent branches of the cells before it, so without
this their cache misses are served mostly one after another)."""


@njit(cache=True)
def _wrap(i, n):
    """``i % n`` for ``-n <= i < 2n`` (one step across a periodic edge), without a division."""
    if i < 0:
        return i + n
    if i >= n:
        return i - n
    return i


@njit(cache=True)
def neighbour(x, y, direction, nx, ny, periodic):
    """Voxel next to ``(x, y)`` (a voxel of the lattice) in ``direction``; ``(-1, -1)`` when it
    is outside a closed edge."""
    tx = x + DX[direction]
    ty = y + DY[direction]
    if periodic:
        return _wrap(tx, nx), _wrap(ty, ny)
    if tx < 0 or tx >= nx or ty < 0 or ty >= ny:
        return -1, -1
    return tx, ty


@intrinsic
def _prefetch(typingctx, array, i, j):
    """Ask the CPU to fetch the cache line of ``array[i, j]`` (``llvm.prefetch``: read, keep in
    all cache levels). A hint only: it changes no value and never faults."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        index = [
            context.cast(builder, value, kind, types.intp)
            for value, kind in zip(args[1:], signature.args[1:], strict=True)
        ]
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, data, index, wraparound=False
        )
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
            "llvm.prefetch.p0",
        )
        builder.call(hint, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return types.void(array, i, j), codegen


@njit(cache=True)
def is_free(tx, ty, occupant, tissue):
    """Whether voxel ``(tx, ty)`` (``tx = -1``: outside a closed edge) is marrow with no cell."""
    return tx >= 0 and occupant[tx, ty] < 0 and tissue[tx, ty] == 0


@njit(cache=True)
def _append_daughter(
    d, daughter_type, tx, ty, s, alive, cell_type, x, y, age_h, cell_id, mother, occupant
):
    """Write a newborn cell of ``daughter_type`` at row ``d`` and voxel ``(tx, ty)``, born of
    slot ``s`` (age 0, no agent yet)."""
    alive[d] = True
    cell_type[d] = daughter_type
    x[d] = tx
    y[d] = ty
    age_h[d] = 0.0
    cell_id[d] = -1
    mother[d] = s
    occupant[tx, ty] = d


@njit(cache=True)
def divide_and_die(
    order, u_death, u_divide, first_direction, death_per_step, division_per_step, death_fold,
    division_fold, alive, cell_type, x, y, age_h, cell_id, mother, occupant, tissue,
    periodic, n_slots,
):
    """One step of cell turnover, in place. Returns the new ``n_slots``.

    For each slot ``s`` in ``order`` (living cells only; daughters born this step do not act):
    die with probability 1 − exp(−``death_per_step[type]`` × ``death_fold[s]``); otherwise
    divide with probability 1 − exp(−``division_per_step[type]`` × ``division_fold[s]``)
    (rates × step; an empty fold array means fold 1) into the first free neighbour, trying
    directions
    ``first_direction[s], +1, +2, +3 (mod 4)`` — no free neighbour, no division (contact
    inhibition). A daughter is appended at slot ``n_slots`` with its mother's type, age 0,
    ``cell_id = -1`` and ``mother[daughter] = s``; the mother's age is reset to 0.
    The arrays must have room for one daughter per living cell.
    """
    nx, ny = occupant.shape
    for k in range(order.shape[0]):
        s = order[k]
        if not alive[s]:
            continue
        t = cell_type[s]
        if u_death[s] < _probability(death_per_step[t] * fold_of(death_fold, s), 1.0):
            alive[s] = False
            occupant[x[s], y[s]] = -1
            continue
        if u_divide[s] >= _probability(division_per_step[t] * fold_of(division_fold, s), 1.0):
            continue
        for j in range(4):
            tx, ty = neighbour(x[s], y[s], (first_direction[s] + j) % 4, nx, ny, periodic)
            if is_free(tx, ty, occupant, tissue):
                _append_daughter(
                    n_slots, t, tx, ty, s, alive, cell_type, x, y, age_h, cell_id, mother,
                    occupant,
                )
                n_slots += 1
                age_h[s] = 0.0
                break
    return n_slots


@njit(cache=True)
def kill_cells(u, probability, in_field, alive, cell_type, stage, x, y, occupant, n_slots):
    """Kill each living cell whose voxel is in ``in_field`` when ``u[s]`` <
    ``probability[type, stage]`` (a treatment: cytotoxic drug or radiation), in place; returns
    the number killed."""
    killed = 0
    for s in range(n_slots):
        if alive[s] and in_field[x[s], y[s]] and u[s] < probability[cell_type[s], stage[s]]:
            alive[s] = False
            occupant[x[s], y[s]] = -1
            killed += 1
    return killed


@njit(cache=True)
def fold_of(fold, s):
    """Cell ``s``'s fold change of a behaviour from its response rules (1 when ``fold`` is
    empty: no rule changes the behaviour)."""
    return fold[s] if fold.shape[0] > 0 else 1.0


@njit(cache=True)
def random_walk(
    order, u_hop, direction, hop_probability, alive, cell_type, x, y, occupant, tissue,
    periodic,
):
    """One step of lattice random walk, in place. Returns the number of cells that moved.

    Each living cell in ``order`` hops with probability ``hop_probability[type]`` to its
    neighbour in ``direction[s]`` if that voxel is free (exclusion: a blocked hop is lost).
    """
    nx, ny = occupant.shape
    moved = 0
    for k in range(order.shape[0]):
        s = order[k]
        if not alive[s] or u_hop[s] >= hop_probability[cell_type[s]]:
            continue
        tx, ty = neighbour(x[s], y[s], direction[s], nx, ny, periodic)
        if is_free(tx, ty, occupant, tissue):
            occupant[x[s], y[s]] = -1
            occupant[tx, ty] = s
            x[s] = tx
            y[s] = ty
            moved += 1
    return moved


# --------------------------------------------------------------------------- bone cell lineages
#
# Stage codes are those of abm.cells.table (PRECURSOR, ACTIVE, LINING); BONE and LUMEN are the
# tissue codes of abm.fields.stack (mineralized bone, vessel lumen). Event probabilities over a
# step are p = 1 − exp(−rate·Δt) with rates per hour.


@njit(cache=True)
def touches_bone(x, y, tissue, periodic):
    """Whether a 4-neighbour of ``(x, y)`` is mineralized bone."""
    nx, ny = tissue.shape
    for direction in range(4):
        tx, ty = neighbour(x, y, direction, nx, ny, periodic)
        if tx >= 0 and tissue[tx, ty] == BONE:
            return True
    return False


@njit(cache=True)
def occupancy(concentration, half_saturation, hill):
    """Receptor occupancy c^n/(c^n + K^n) (dimensionless, 0–1)."""
    if concentration <= 0.0:
        return 0.0
    ratio = (concentration / half_saturation) ** hill
    return ratio / (1.0 + ratio)


@njit(cache=True)
def behaviour_folds(
    alive, cell_type, x, y, n_slots, signals, rule_type, rule_signal, rule_behaviour,
    rule_half_max, rule_hill, rule_gain, folds,
):
    """Fold change of each ruled behaviour of every cell from the signals in its voxel, in place.

    ``folds[b, s]`` ← Π (1 + ``rule_gain[r]`` · occupancy(c, ``rule_half_max[r]``,
    ``rule_hill[r]``)) over the rules r with ``rule_type[r]`` = the cell's type and
    ``rule_behaviour[r]`` = b, where c = ``signals[rule_signal[r], x, y]`` (1 without such a
    rule, and for dead slots). ``signals``: ``float64[n_signals, nx, ny]``; ``folds``:
    ``float64[n_behaviours, ≥ n_slots]``.
    """
    n_behaviours = folds.shape[0]
    for s in range(n_slots):
        for b in range(n_behaviours):
            folds[b, s] = 1.0
        if not alive[s]:
            continue
        t = cell_type[s]
        for r in range(rule_type.shape[0]):
            if rule_type[r] == t:
                c = signals[rule_signal[r], x[s], y[s]]
                folds[rule_behaviour[r], s] *= 1.0 + rule_gain[r] * occupancy(
                    c, rule_half_max[r], rule_hill[r]
                )


@njit(cache=True)
def relax_hif(alive, x, y, n_slots, oxygen_mmHg, half_maximal_mmHg, hill, retained, hif):
    """Move every living cell's HIF-1α activity (0–1) towards h = 1 − occupancy(pO2, P50, n) =
    1 / (1 + (pO2/P50)^n) of the pO2 in its voxel, in place: hif ← h + (hif − h)·``retained``,
    the exact step of dh/dt = (h − hif)/τ at constant pO2 (``retained`` = e^(−Δt/τ))."""
    for s in range(n_slots):
        if alive[s]:
            target = 1.0 - occupancy(oxygen_mmHg[x[s], y[s]], half_maximal_mmHg, hill)
            hif[s] = target + (hif[s] - target) * retained


@njit(cache=True)
def wall_conductivity_fold(tissue, vegf, half_occupancy, max_fold, periodic):
    """``(faces, fold_sum)``: the number of vessel-wall faces (sides shared by a lumen voxel and a
    marrow voxel) and the sum over them of the wall's hydraulic conductivity relative to its
    baseline, Lp/Lp0 = 1 + (max_fold − 1) · occupancy(V, half_occupancy, 1), V the VEGF of the
    face's marrow voxel (VEGFR2 occupancy on the abluminal side)."""
    nx, ny = tissue.shape
    faces = 0
    fold_sum = 0.0
    for i in range(nx):
        for j in range(ny):
            if tissue[i, j] != LUMEN:
                continue
            for direction in range(4):
                ti, tj = neighbour(i, j, direction, nx, ny, periodic)
                if ti >= 0 and tissue[ti, tj] == MARROW:
                    faces += 1
                    vegfr2 = occupancy(vegf[ti, tj], half_occupancy, 1.0)
                    fold_sum += 1.0 + (max_fold - 1.0) * vegfr2
    return faces, fold_sum


@njit(cache=True)
def _probability(rate_per_h, step_h):
    return -np.expm1(-rate_per_h * step_h)


@njit(cache=True)
def lifespan_death_probability(age_h, step_h, clock_rate_per_h, clock_stages):
    """Probability that a cell of age ``age_h`` in its stage dies within the next ``step_h``
    under an apoptosis clock of ``clock_stages`` (k) exponential stages of rate
    ``clock_rate_per_h`` (λ): the lifespan is Erlang(k, λ), mean k/λ, coefficient of variation
    1/√k. Exact over the step: 1 − S(t + Δt)/S(t), S(t) = e^(−λt)·Σ_{i<k} (λt)^i/i! (clipped at
    0 against rounding when the probability is below ~1e-16).
    """
    now = clock_rate_per_h * age_h
    later = clock_rate_per_h * (age_h + step_h)
    term_now = 1.0
    term_later = 1.0
    sum_now = 1.0
    sum_later = 1.0
    for i in range(1, clock_stages):
        term_now *= now / i
        term_later *= later / i
        sum_now += term_now
        sum_later += term_later
    return max(0.0, 1.0 - np.exp(-clock_rate_per_h * step_h) * sum_later / sum_now)


@njit(cache=True)
def osteoclast_fates(
    u, osteoclast, alive, cell_type, stage, stage_h, x, y, occupant, tissue, rankl_free, tgfb,
    precursor_death_per_h, max_activation_per_h, rank_half_saturation, rank_hill,
    clock_rate_per_h, clock_stages, tgfb_apoptosis_per_h, tgfb_half_saturation, step_h,
    periodic, n_slots,
):
    """Osteoclast decisions, in place. Returns ``(n_activated, n_died)``.

    A precursor dies with ``precursor_death_per_h``, else, touching bone, activates (fuses) with
    rate k_act·θ_RANK(free RANKL at its voxel) (``stage_h`` restarts). An active osteoclast dies
    by its apoptosis clock (:func:`lifespan_death_probability` at age ``stage_h``) or by the
    TGF-β-induced rate k_T·π(TGF-β), whichever comes first. ``u[s]`` is the slot's one uniform
    draw, partitioned between the competing events.
    """
    activated = 0
    died = 0
    p_death = _probability(precursor_death_per_h, step_h)
    for s in range(n_slots):
        if not alive[s] or cell_type[s] != osteoclast:
            continue
        if stage[s] == PRECURSOR:
            if u[s] >= p_death:
                if touches_bone(x[s], y[s], tissue, periodic):
                    rate = max_activation_per_h * occupancy(
                        rankl_free[x[s], y[s]], rank_half_saturation, rank_hill
                    )
                    if u[s] - p_death < (1.0 - p_death) * _probability(rate, step_h):
                        stage[s] = ACTIVE
                        stage_h[s] = 0.0
                        activated += 1
                continue
        else:
            survive_clock = 1.0 - lifespan_death_probability(
                stage_h[s], step_h, clock_rate_per_h, clock_stages
            )
            rate = tgfb_apoptosis_per_h * occupancy(tgfb[x[s], y[s]], tgfb_half_saturation, 1.0)
            if u[s] >= 1.0 - survive_clock * (1.0 - _probability(rate, step_h)):
                continue
        alive[s] = False
        occupant[x[s], y[s]] = -1
        died += 1
    return activated, died


@njit(cache=True)
def resorb(
    order, first_direction, osteoclast, alive, cell_type, stage, x, y, occupant, tissue,
    mineral, osteoid, released_tgfb, resorbed_per_step, tgfb_per_mineral, periodic,
):
    """Active osteoclasts resorb or crawl, in place. Returns the matrix resorbed (voxels).

    Each active osteoclast in ``order`` takes the first neighbour, trying directions
    ``first_direction[s], +1, +2, +3 (mod 4)``, that holds matrix, is not lumen and has no cell,
    and removes up to ``resorbed_per_step`` of it (mineral first, then osteoid), releasing
    ``tgfb_per_mineral`` × the mineral removed into ``released_tgfb`` at that voxel. With no such
    neighbour it crawls to the first free neighbour that touches bone, else to the first free one.

    The osteoclasts that act are picked out of ``order`` first (nothing in the step changes who
    acts); while one acts, the lattice lines of the one :data:`PREFETCH_AHEAD` places later are
    prefetched (:func:`_prefetch_around`).
    """
    nx, ny = occupant.shape
    acting = np.empty(order.shape[0], dtype=np.int64)
    n_acting = 0
    for k in range(order.shape[0]):
        s = order[k]
        if alive[s] and cell_type[s] == osteoclast and stage[s] == ACTIVE:
            acting[n_acting] = s
            n_acting += 1
    total = 0.0
    for k in range(n_acting):
        if k + PREFETCH_AHEAD < n_acting:
            _prefetch_around(acting[k + PREFETCH_AHEAD], x, y, (occupant, tissue, mineral, osteoid))
        s = acting[k]
        target_x = -1
        target_y = -1
        for j in range(4):
            tx, ty = neighbour(x[s], y[s], (first_direction[s] + j) % 4, nx, ny, periodic)
            if (
                tx >= 0 and occupant[tx, ty] < 0 and tissue[tx, ty] != LUMEN
                and mineral[tx, ty] + osteoid[tx, ty] > 0.0
            ):
                target_x = tx
                target_y = ty
                break
        if target_x >= 0:
            from_mineral = min(resorbed_per_step, mineral[target_x, target_y])
            mineral[target_x, target_y] -= from_mineral
            from_osteoid = min(resorbed_per_step - from_mineral, osteoid[target_x, target_y])
            osteoid[target_x, target_y] -= from_osteoid
            released_tgfb[target_x, target_y] += from_mineral * tgfb_per_mineral
            total += from_mineral + from_osteoid
            continue
        _crawl(s, first_direction[s], x, y, occupant, tissue, periodic)
    return total


@njit(cache=True)
def _prefetch_around(s, x, y, lattices):
    """Prefetch the lines of cell ``s``'s voxel and its 4 neighbours in each of ``lattices``
    (rows x − 1, x, x + 1 at column y; across the edges as if periodic, harmless when closed)."""
    nx = lattices[0].shape[0]
    here_x = np.int64(x[s])
    here_y = y[s]
    for row in (_wrap(here_x - 1, nx), here_x, _wrap(here_x + 1, nx)):
        for lattice in literal_unroll(lattices):
            _prefetch(lattice, row, here_y)


@njit(cache=True)
def _crawl(s, first, x, y, occupant, tissue, periodic):
    """Move cell ``s`` to its first free neighbour touching bone, else its first free one."""
    nx, ny = occupant.shape
    fallback_x = -1
    fallback_y = -1
    for j in range(4):
        tx, ty = neighbour(x[s], y[s], (first + j) % 4, nx, ny, periodic)
        if not is_free(tx, ty, occupant, tissue):
            continue
        if touches_bone(tx, ty, tissue, periodic):
            fallback_x = tx
            fallback_y = ty
            break
        if fallback_x < 0:
            fallback_x = tx
            fallback_y = ty
    if fallback_x >= 0:
        occupant[x[s], y[s]] = -1
        occupant[fallback_x, fallback_y] = s
        x[s] = fallback_x
        y[s] = fallback_y


@njit(cache=True)
def osteoblast_fates(
    order, u_fate, u_activate, first_direction, stromal, osteoblast, alive, cell_type, stage,
    stage_h, x, y, age_h, cell_id, mother, occupant, tissue, tgfb, vegf, osteogenic,
    max_commitment_per_h, commitment_fold, tgfb_commitment_half_saturation, precursor_death_per_h,
    activation_per_h, tgfb_activation_half_saturation, vegf_gain, vegf_half_saturation,
    osteogenic_gain, osteogenic_half_saturation, active_period_h, apoptosis_fold, active_phase_h,
    lining_fraction, step_h, periodic, n_slots,
):
    """Osteoblast-lineage decisions, in place. Returns ``(new n_slots, precursors activated)``.

    For each slot in ``order`` (cells born this step do not act):

    - a stromal cell commits an osteoblast precursor with rate k_c·π(TGF-β), × its
      ``commitment_fold`` from response rules (empty: 1) (asymmetric
      division: the daughter goes to the first free neighbour from ``first_direction[s]``,
      ``mother[daughter] = s``; no free neighbour, no commitment);
    - a precursor dies with ``precursor_death_per_h``; otherwise, touching bone, it activates
      with rate k_a·K/(K + TGF-β)·(1 + g_V·φ_VEGF)·(1 + g_S·φ_S);
    - an active osteoblast's apoptosis programme ``active_phase_h`` advances by Δt × its
      ``apoptosis_fold`` from response rules (empty: 1) each step, from its activation step on;
      once it has reached ``active_period_h`` the cell becomes a lining cell with probability
      ``lining_fraction``, else dies (at fold 1: ``stage_h`` ≥ ``active_period_h``).
    """
    nx, ny = occupant.shape
    activated = 0
    for k in range(order.shape[0]):
        s = order[k]
        if not alive[s]:
            continue
        here_x = x[s]
        here_y = y[s]
        if cell_type[s] == stromal:
            rate = max_commitment_per_h * fold_of(commitment_fold, s) * occupancy(
                tgfb[here_x, here_y], tgfb_commitment_half_saturation, 1.0
            )
            if u_fate[s] >= _probability(rate, step_h):
                continue
            for j in range(4):
                tx, ty = neighbour(here_x, here_y, (first_direction[s] + j) % 4, nx, ny, periodic)
                if is_free(tx, ty, occupant, tissue):
                    _append_daughter(
                        n_slots, osteoblast, tx, ty, s, alive, cell_type, x, y, age_h, cell_id,
                        mother, occupant,
                    )
                    stage[n_slots] = PRECURSOR
                    stage_h[n_slots] = 0.0
                    n_slots += 1
                    break
        elif cell_type[s] == osteoblast:
            if stage[s] == PRECURSOR:
                if u_fate[s] < _probability(precursor_death_per_h, step_h):
                    alive[s] = False
                    occupant[here_x, here_y] = -1
                    continue
                if not touches_bone(here_x, here_y, tissue, periodic):
                    continue
                rate = (
                    activation_per_h
                    * (1.0 - occupancy(tgfb[here_x, here_y], tgfb_activation_half_saturation, 1.0))
                    * (1.0 + vegf_gain * occupancy(vegf[here_x, here_y], vegf_half_saturation, 1.0))
                    * (
                        1.0 + osteogenic_gain
                        * occupancy(osteogenic[here_x, here_y], osteogenic_half_saturation, 1.0)
                    )
                )
                if u_activate[s] < _probability(rate, step_h):
                    stage[s] = ACTIVE
                    stage_h[s] = 0.0
                    active_phase_h[s] = step_h * fold_of(apoptosis_fold, s)
                    activated += 1
            elif stage[s] == ACTIVE:
                if active_phase_h[s] < active_period_h:
                    active_phase_h[s] += step_h * fold_of(apoptosis_fold, s)
                    continue
                if u_fate[s] < lining_fraction:
                    stage[s] = LINING
                    stage_h[s] = 0.0
                else:
                    alive[s] = False
                    occupant[here_x, here_y] = -1
    return n_slots, activated


@njit(cache=True)
def form_bone(
    order, u_move, u_direction, first_direction, osteoblast, alive, cell_type, stage, x, y,
    occupant, tissue, mineral, osteoid, tgfb, apposition_per_step, burial_probability,
    hop_probability, chemotaxis, tgfb_half_saturation, periodic,
):
    """Osteoblast-lineage actions, in place. Returns ``(osteoid laid (voxels), n_buried)``.

    For each osteoblast in ``order``:

    - active, with matrix in its voxel or bone next to it: lays ``apposition_per_step`` of
      osteoid into its own voxel (up to a full voxel). On the step its voxel fills it is buried
      there as an osteocyte (leaves the table) with probability ``burial_probability``; it is
      also buried once no neighbour is marrow (walled in by bone or lumen). Otherwise it steps
      back to the first free neighbour from ``first_direction[s]``, or, while cells hold every
      marrow neighbour, waits in its filled voxel (lattice crowding does not make osteocytes);
    - a precursor not touching bone hops with probability ``hop_probability`` to the neighbour
      chosen with weights exp(chemotaxis·π(TGF-β there)) (a blocked hop is lost).
    """
    nx, ny = occupant.shape
    formed = 0.0
    buried = 0
    weights = np.empty(4)
    for k in range(order.shape[0]):
        s = order[k]
        if not alive[s] or cell_type[s] != osteoblast:
            continue
        here_x = x[s]
        here_y = y[s]
        if stage[s] == ACTIVE:
            matrix = mineral[here_x, here_y] + osteoid[here_x, here_y]
            if matrix <= 0.0 and not touches_bone(here_x, here_y, tissue, periodic):
                continue
            laid = min(apposition_per_step, max(0.0, 1.0 - matrix))
            osteoid[here_x, here_y] += laid
            formed += laid
            if matrix + laid < 1.0 - FULL_TOLERANCE:
                continue
            walled_in = True
            target_x = -1
            target_y = -1
            for j in range(4):
                tx, ty = neighbour(here_x, here_y, (first_direction[s] + j) % 4, nx, ny, periodic)
                if tx >= 0 and tissue[tx, ty] == MARROW:
                    walled_in = False
                    if occupant[tx, ty] < 0:
                        target_x = tx
                        target_y = ty
                        break
            just_filled = matrix < 1.0 - FULL_TOLERANCE
            if walled_in or (just_filled and u_move[s] < burial_probability):
                alive[s] = False
                occupant[here_x, here_y] = -1
                buried += 1
            elif target_x >= 0:
                occupant[here_x, here_y] = -1
                occupant[target_x, target_y] = s
                x[s] = target_x
                y[s] = target_y
        elif stage[s] == PRECURSOR and u_move[s] < hop_probability:
            if touches_bone(here_x, here_y, tissue, periodic):
                continue
            total = 0.0
            for direction in range(4):
                tx, ty = neighbour(here_x, here_y, direction, nx, ny, periodic)
                signal = 0.0 if tx < 0 else occupancy(tgfb[tx, ty], tgfb_half_saturation, 1.0)
                weights[direction] = np.exp(chemotaxis * signal)
                total += weights[direction]
            pick = u_direction[s] * total
            direction = 0
            while direction < 3 and pick >= weights[direction]:
                pick -= weights[direction]
                direction += 1
            tx, ty = neighbour(here_x, here_y, direction, nx, ny, periodic)
            if is_free(tx, ty, occupant, tissue):
                occupant[here_x, here_y] = -1
                occupant[tx, ty] = s
                x[s] = tx
                y[s] = ty
    return formed, buried


@njit(cache=True)
def _classify(i, j, mineral, osteoid, vessel_lumen, tissue, mineralized_fraction, lumen_fraction):
    """Set ``tissue[i, j]`` from the voxel's layers: :data:`LUMEN` where the vessel-lumen
    fraction is ≥ ``lumen_fraction``, else :data:`BONE` where mineral + osteoid is
    ≥ ``mineralized_fraction``, else marrow (0). Returns whether the code changed."""
    code = 0
    if vessel_lumen[i, j] >= lumen_fraction:
        code = LUMEN
    elif mineral[i, j] + osteoid[i, j] >= mineralized_fraction:
        code = BONE
    if tissue[i, j] == code:
        return False
    tissue[i, j] = code
    return True


@njit(cache=True)
def classify_tissue(mineral, osteoid, vessel_lumen, tissue, mineralized_fraction, lumen_fraction):
    """Reclassify every voxel of the tissue map in place (:func:`_classify`; fractions are
    dimensionless, 0–1). Returns whether any voxel changed."""
    nx, ny = tissue.shape
    changed = False
    for i in range(nx):
        for j in range(ny):
            changed |= _classify(
                i, j, mineral, osteoid, vessel_lumen, tissue, mineralized_fraction, lumen_fraction
            )
    return changed


@njit(cache=True)
def mineralize(
    mineral, osteoid, vessel_lumen, tissue, fraction_per_step, mineralized_fraction,
    lumen_fraction,
):
    """Move ``fraction_per_step`` of every voxel's osteoid into its mineral, in place, and
    reclassify the voxel in the tissue map as :func:`classify_tissue` does, in one pass over the
    lattice. Returns whether any voxel of the tissue map changed."""
    nx, ny = osteoid.shape
    changed = False
    for i in range(nx):
        for j in range(ny):
            if osteoid[i, j] > 0.0:
                converted = osteoid[i, j] * fraction_per_step
                osteoid[i, j] -= converted
                mineral[i, j] += converted
            changed |= _classify(
                i, j, mineral, osteoid, vessel_lumen, tissue, mineralized_fraction, lumen_fraction
            )
    return changed


# --------------------------------------------------------------------------- endothelium
#
# Endothelial cells (ECs) carry the columns ``sprout`` (id of the sprout a grown cell belongs
# to; −1 for the initial network), ``parent_sprout`` (the sprout its sprout budded from; −1 for
# a bud of the initial network), ``inlet`` (the initial vessel profile its lineage started from,
# ≥ 1) and ``tip``. Perfused endothelium sits in vessel-lumen voxels; blind sprouts sit in
# marrow voxels. VEGF is sensed × ``signalling`` (the VEGFR2 signalling fraction).


@njit(cache=True)
def _neighbour_slot(x, y, direction, occupant, periodic):
    """Slot of the cell next to ``(x, y)`` in ``direction``; −1 when that voxel is empty or
    outside a closed edge."""
    nx, ny = occupant.shape
    tx, ty = neighbour(x, y, direction, nx, ny, periodic)
    return occupant[tx, ty] if tx >= 0 else -1


@njit(cache=True)
def _offset_voxel(x, y, di, dj, nx, ny, periodic):
    """Voxel ``(x + di, y + dj)`` (wrapped when ``periodic``); ``(-1, -1)`` outside a closed
    edge."""
    i = x + di
    j = y + dj
    if periodic:
        return i % nx, j % ny
    if i < 0 or i >= nx or j < 0 or j >= ny:
        return -1, -1
    return i, j


@njit(cache=True)
def _central_difference(field, x, y, axis, periodic):
    """(c(+1) − c(−1))/2 along ``axis`` (0: x, 1: y) at voxel ``(x, y)``, concentration per
    voxel; one-sided at a closed edge."""
    nx, ny = field.shape
    plus_x, plus_y = neighbour(x, y, 2 * axis, nx, ny, periodic)
    minus_x, minus_y = neighbour(x, y, 2 * axis + 1, nx, ny, periodic)
    span = 2.0
    if plus_x < 0:
        plus_x, plus_y, span = x, y, 1.0
    if minus_x < 0:
        minus_x, minus_y, span = x, y, span - 1.0
    if span == 0.0:
        return 0.0
    return (field[plus_x, plus_y] - field[minus_x, minus_y]) / span


@njit(cache=True)
def vegf_gradient(vegf, x, y, periodic):
    """``(gx, gy)``: central-difference gradient of ``vegf`` at voxel ``(x, y)``, concentration
    per voxel (one-sided at a closed edge)."""
    return (
        _central_difference(vegf, x, y, 0, periodic), _central_difference(vegf, x, y, 1, periodic)
    )


@njit(cache=True)
def _tip_nearby(x, y, reach, reach_sq, occupant, tip, periodic):
    """Whether a tip cell lies within ``reach`` voxels (Euclidean, ``reach_sq`` = reach²) of
    ``(x, y)``."""
    nx, ny = occupant.shape
    for di in range(-reach, reach + 1):
        for dj in range(-reach, reach + 1):
            if di * di + dj * dj > reach_sq:
                continue
            i, j = _offset_voxel(x, y, di, dj, nx, ny, periodic)
            if i >= 0 and occupant[i, j] >= 0 and tip[occupant[i, j]]:
                return True
    return False


@njit(cache=True)
def open_to_sprout(tx, ty, occupant, tissue, avoid_bone_surface, periodic):
    """Whether a sprout can grow into voxel ``(tx, ty)``: free marrow (:func:`is_free`) and,
    with ``avoid_bone_surface``, not touching mineralized bone (:func:`touches_bone`: the bone
    surface is covered by lining cells and the remodelling canopy, and capillaries run outside
    it)."""
    if not is_free(tx, ty, occupant, tissue):
        return False
    return not (avoid_bone_surface and touches_bone(tx, ty, tissue, periodic))


@njit(cache=True)
def select_tips(
    order, u, endothelial, alive, cell_type, x, y, age_h, cell_id, mother, sprout,
    parent_sprout, inlet, tip, occupant, tissue, vegf, signalling, vegf_threshold,
    gradient_threshold_per_voxel, selection_probability, spacing_voxels, next_sprout,
    avoid_bone_surface, periodic, n_slots,
):
    """Tip selection, in place. Returns ``(new n_slots, next sprout id)``.

    Each EC in ``order`` that is perfused (in a lumen voxel), not a tip, senses VEGF (×
    ``signalling``) at or above ``vegf_threshold`` and a gradient magnitude at or above
    ``gradient_threshold_per_voxel``, has a neighbour open to a sprout (:func:`open_to_sprout`
    with ``avoid_bone_surface``) and no tip within ``spacing_voxels``, buds a tip with
    probability ``selection_probability`` (``u[s]``): a new EC in its open neighbour of
    highest VEGF (first in direction order on ties), a tip of the new sprout ``next_sprout``
    with ``parent_sprout`` = the budding cell's sprout and its ``inlet``. Tips made earlier in
    the order inhibit later ones. Arrays need room for one daughter per EC.
    """
    nx, ny = occupant.shape
    reach = int(spacing_voxels)
    reach_sq = spacing_voxels * spacing_voxels
    for k in range(order.shape[0]):
        s = order[k]
        if not alive[s] or cell_type[s] != endothelial or tip[s] or u[s] >= selection_probability:
            continue
        here_x = x[s]
        here_y = y[s]
        if tissue[here_x, here_y] != LUMEN:
            continue
        if signalling * vegf[here_x, here_y] < vegf_threshold:
            continue
        gx, gy = vegf_gradient(vegf, here_x, here_y, periodic)
        if signalling * np.sqrt(gx * gx + gy * gy) < gradient_threshold_per_voxel:
            continue
        best_x = -1
        best_y = -1
        best = -1.0
        for direction in range(4):
            tx, ty = neighbour(here_x, here_y, direction, nx, ny, periodic)
            if open_to_sprout(tx, ty, occupant, tissue, avoid_bone_surface, periodic) and (
                vegf[tx, ty] > best
            ):
                best = vegf[tx, ty]
                best_x = tx
                best_y = ty
        if best_x < 0 or _tip_nearby(here_x, here_y, reach, reach_sq, occupant, tip, periodic):
            continue
        _append_daughter(
            n_slots, endothelial, best_x, best_y, s, alive, cell_type, x, y, age_h, cell_id,
            mother, occupant,
        )
        sprout[n_slots] = next_sprout
        parent_sprout[n_slots] = sprout[s]
        inlet[n_slots] = inlet[s]
        tip[n_slots] = True
        n_slots += 1
        next_sprout += 1
    return n_slots, next_sprout


@njit(cache=True)
def _foreign_endothelium(s, o, sprout, parent_sprout, inlet):
    """Whether EC ``o`` belongs to another vessel than tip ``s``'s own sprout and the vessel
    it budded from (its parent sprout, or its initial inlet profile)."""
    if sprout[o] == sprout[s]:
        return False
    if sprout[o] < 0:
        return inlet[o] != inlet[s]
    return sprout[o] != parent_sprout[s]


@njit(cache=True)
def move_tips(
    order, u, endothelial, alive, cell_type, x, y, age_h, cell_id, mother, sprout,
    parent_sprout, inlet, tip, occupant, tissue, vegf, signalling, hop_per_direction,
    chemotaxis_per_h, chemotaxis_saturation, max_gradient_per_voxel, step_h,
    avoid_bone_surface, periodic, n_slots,
):
    """One step of the Anderson–Chaplain tip walk, in place. Returns ``(new n_slots, tips that
    moved, anastomoses)``.

    Each tip in ``order`` moves along ±axis with probability P = p_D ± Δt·χ(V)·g/2 (A&C 1998's
    P1–P4 in voxel units: drift velocity χ(V)·∇V): p_D = ``hop_per_direction``, g the
    central-difference gradient (per voxel) of the sensed VEGF V (× ``signalling``; the
    gradient's magnitude capped at ``max_gradient_per_voxel``), and
    χ(V) = ``chemotaxis_per_h``/(1 + V/``chemotaxis_saturation``) in voxel²/h per
    concentration. ``u[s]`` picks the direction. Negative probabilities are 0; when they sum
    above 1 they are scaled to 1; the rest is the probability of staying. A move into a voxel
    not open to a sprout (:func:`open_to_sprout` with ``avoid_bone_surface``) is lost. The
    voxel a tip leaves gets a stalk cell of its sprout (the path of a tip is its sprout). A tip
    with a 4-neighbour of foreign endothelium (:func:`_foreign_endothelium`) anastomoses: it
    stops being a tip.
    """
    nx, ny = occupant.shape
    moved = 0
    fused = 0
    p = np.zeros(4)
    for k in range(order.shape[0]):
        s = order[k]
        if not alive[s] or cell_type[s] != endothelial or not tip[s]:
            continue
        here_x = x[s]
        here_y = y[s]
        sensed = signalling * vegf[here_x, here_y]
        gx, gy = vegf_gradient(vegf, here_x, here_y, periodic)
        gx *= signalling
        gy *= signalling
        magnitude = np.sqrt(gx * gx + gy * gy)
        if magnitude > max_gradient_per_voxel:
            gx *= max_gradient_per_voxel / magnitude
            gy *= max_gradient_per_voxel / magnitude
        drift = 0.5 * step_h * chemotaxis_per_h / (1.0 + sensed / chemotaxis_saturation)
        p[0] = max(0.0, hop_per_direction + drift * gx)
        p[1] = max(0.0, hop_per_direction - drift * gx)
        p[2] = max(0.0, hop_per_direction + drift * gy)
        p[3] = max(0.0, hop_per_direction - drift * gy)
        total = p[0] + p[1] + p[2] + p[3]
        scale = 1.0 / total if total > 1.0 else 1.0
        cumulative = 0.0
        for direction in range(4):
            cumulative += p[direction] * scale
            if u[s] < cumulative:
                tx, ty = neighbour(here_x, here_y, direction, nx, ny, periodic)
                if open_to_sprout(tx, ty, occupant, tissue, avoid_bone_surface, periodic):
                    occupant[here_x, here_y] = -1
                    x[s] = tx
                    y[s] = ty
                    occupant[tx, ty] = s
                    _append_daughter(
                        n_slots, endothelial, here_x, here_y, s, alive, cell_type, x, y, age_h,
                        cell_id, mother, occupant,
                    )
                    sprout[n_slots] = sprout[s]
                    parent_sprout[n_slots] = parent_sprout[s]
                    inlet[n_slots] = inlet[s]
                    tip[n_slots] = False
                    n_slots += 1
                    moved += 1
                break
        for direction in range(4):
            o = _neighbour_slot(x[s], y[s], direction, occupant, periodic)
            if o >= 0 and cell_type[o] == endothelial and _foreign_endothelium(
                s, o, sprout, parent_sprout, inlet
            ):
                tip[s] = False
                fused += 1
                break
    return n_slots, moved, fused


@njit(cache=True)
def perfused_sprout_cells(
    endothelial, alive, cell_type, x, y, sprout, inlet, occupant, periodic, n_slots, perfused,
):
    """Mark grown ECs that carry flow: ``perfused[s]`` for every slot (False for others).
    Returns the number marked.

    Flow needs a path between two different vessels of the initial network. On the graph of
    grown ECs (4-neighbours), where each initial vessel profile (``inlet`` label) is one node,
    dead ends are pruned repeatedly (a cell with at most one distinct neighbour: another grown
    cell or an initial profile); a remaining connected group of grown cells is perfused when the
    initial profiles it touches carry two or more labels.
    """
    degree = np.zeros(n_slots, dtype=np.int64)
    pruned = np.zeros(n_slots, dtype=np.bool_)
    queue = np.empty(n_slots, dtype=np.int64)
    labels = np.empty(4, dtype=np.int64)
    head = 0
    tail = 0
    for s in range(n_slots):
        perfused[s] = False
        if not alive[s] or cell_type[s] != endothelial or sprout[s] < 0:
            pruned[s] = True
            continue
        n_labels = 0
        for direction in range(4):
            o = _neighbour_slot(x[s], y[s], direction, occupant, periodic)
            if o < 0 or cell_type[o] != endothelial:
                continue
            if sprout[o] >= 0:
                degree[s] += 1
            else:
                seen = False
                for m in range(n_labels):
                    seen = seen or labels[m] == inlet[o]
                if not seen:
                    labels[n_labels] = inlet[o]
                    n_labels += 1
        degree[s] += n_labels
        if degree[s] <= 1:
            queue[tail] = s
            tail += 1
            pruned[s] = True
    while head < tail:
        s = queue[head]
        head += 1
        for direction in range(4):
            o = _neighbour_slot(x[s], y[s], direction, occupant, periodic)
            if o < 0 or pruned[o]:
                continue
            degree[o] -= 1
            if degree[o] <= 1:
                pruned[o] = True
                queue[tail] = o
                tail += 1
    visited = pruned.copy()
    marked = 0
    for start in range(n_slots):
        if visited[start]:
            continue
        visited[start] = True
        head = 0
        tail = 1
        queue[0] = start
        first_inlet = -1
        two_inlets = False
        while head < tail:
            s = queue[head]
            head += 1
            for direction in range(4):
                o = _neighbour_slot(x[s], y[s], direction, occupant, periodic)
                if o < 0 or cell_type[o] != endothelial:
                    continue
                if sprout[o] < 0:
                    if first_inlet < 0:
                        first_inlet = inlet[o]
                    elif inlet[o] != first_inlet:
                        two_inlets = True
                elif not visited[o]:
                    visited[o] = True
                    queue[tail] = o
                    tail += 1
        if two_inlets:
            for m in range(tail):
                perfused[queue[m]] = True
            marked += tail
    return marked


@njit(cache=True)
def type_h_release(
    endothelial, alive, cell_type, x, y, tissue, vegf, signalling, reach_voxels,
    release_per_cell, vegf_gain, vegfr2_half_occupancy, periodic, n_slots, released,
):
    """Add the osteogenic signal released over one step by type-H-like endothelium to
    ``released`` (concentration per voxel), in place. Returns the number of type-H cells.

    A perfused EC (lumen voxel) with mineralized bone within ``reach_voxels`` (Euclidean, voxel
    centres) releases ``release_per_cell`` × (1 + g·φ), φ = VEGFR2 occupancy of the sensed VEGF
    in its voxel.
    """
    nx, ny = tissue.shape
    reach = int(reach_voxels)
    reach_sq = reach_voxels * reach_voxels
    count = 0
    for s in range(n_slots):
        if not alive[s] or cell_type[s] != endothelial or tissue[x[s], y[s]] != LUMEN:
            continue
        near_bone = False
        for di in range(-reach, reach + 1):
            for dj in range(-reach, reach + 1):
                if near_bone or di * di + dj * dj > reach_sq:
                    continue
                i, j = _offset_voxel(x[s], y[s], di, dj, nx, ny, periodic)
                near_bone = i >= 0 and tissue[i, j] == BONE
        if near_bone:
            phi = occupancy(signalling * vegf[x[s], y[s]], vegfr2_half_occupancy, 1.0)
            released[x[s], y[s]] += release_per_cell * (1.0 + vegf_gain * phi)
            count += 1
    return count
