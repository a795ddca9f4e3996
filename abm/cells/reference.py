"""Plain-Python references of the kernels in :mod:`abm.cells.kernels` (same arguments, same
semantics, no numba). Tests run both on identical inputs and require identical results."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from abm.cells.kernels import BONE, DX, DY, FULL_TOLERANCE, LUMEN, MARROW
from abm.cells.table import ACTIVE, LINING, PRECURSOR


def neighbour(x, y, direction, nx, ny, periodic):
    """Reference of :func:`abm.cells.kernels.neighbour`."""
    tx, ty = int(x) + int(DX[direction]), int(y) + int(DY[direction])
    if periodic:
        return tx % nx, ty % ny
    if not (0 <= tx < nx and 0 <= ty < ny):
        return -1, -1
    return tx, ty


def is_free(tx, ty, occupant, tissue):
    """Reference of :func:`abm.cells.kernels.is_free`."""
    return tx >= 0 and occupant[tx, ty] < 0 and tissue[tx, ty] == 0


def fold_of(fold, s):
    """Reference of :func:`abm.cells.kernels.fold_of`."""
    return fold[s] if len(fold) else 1.0


def kill_cells(u, probability, in_field, alive, cell_type, stage, x, y, occupant, n_slots):
    """Reference of :func:`abm.cells.kernels.kill_cells`, vectorized over cells."""
    s = np.arange(n_slots)
    dies = alive[s] & in_field[x[s], y[s]] & (u[s] < probability[cell_type[s], stage[s]])
    alive[s[dies]] = False
    occupant[x[s[dies]], y[s[dies]]] = -1
    return int(np.count_nonzero(dies))


def behaviour_folds(
    alive, cell_type, x, y, n_slots, signals, rule_type, rule_signal, rule_behaviour,
    rule_half_max, rule_hill, rule_gain, folds,
):
    """Reference of :func:`abm.cells.kernels.behaviour_folds`, vectorized over cells."""
    folds[:, :n_slots] = 1.0
    living = np.flatnonzero(alive[:n_slots])
    for r in range(len(rule_type)):
        cells = living[cell_type[living] == rule_type[r]]
        c = signals[rule_signal[r], x[cells], y[cells]]
        ratio = (np.maximum(c, 0.0) / rule_half_max[r]) ** rule_hill[r]
        folds[rule_behaviour[r], cells] *= 1.0 + rule_gain[r] * ratio / (1.0 + ratio)


def divide_and_die(
    order, u_death, u_divide, first_direction, death_per_step, division_per_step, death_fold,
    division_fold, alive, cell_type, x, y, age_h, cell_id, mother, occupant, tissue,
    periodic, n_slots,
):
    """Reference of :func:`abm.cells.kernels.divide_and_die`."""
    nx, ny = occupant.shape
    for s in order:
        if not alive[s]:
            continue
        t = cell_type[s]
        if u_death[s] < probability(death_per_step[t] * fold_of(death_fold, s), 1.0):
            alive[s] = False
            occupant[x[s], y[s]] = -1
            continue
        if u_divide[s] >= probability(division_per_step[t] * fold_of(division_fold, s), 1.0):
            continue
        for j in range(4):
            tx, ty = neighbour(x[s], y[s], (first_direction[s] + j) % 4, nx, ny, periodic)
            if is_free(tx, ty, occupant, tissue):
                d = n_slots
                n_slots += 1
                alive[d], cell_type[d], x[d], y[d] = True, t, tx, ty
                age_h[d], cell_id[d], mother[d] = 0.0, -1, s
                occupant[tx, ty] = d
                age_h[s] = 0.0
                break
    return n_slots


def random_walk(
    order, u_hop, direction, hop_probability, alive, cell_type, x, y, occupant, tissue,
    periodic,
):
    """Reference of :func:`abm.cells.kernels.random_walk`."""
    nx, ny = occupant.shape
    moved = 0
    for s in order:
        if not alive[s] or u_hop[s] >= hop_probability[cell_type[s]]:
            continue
        tx, ty = neighbour(x[s], y[s], direction[s], nx, ny, periodic)
        if is_free(tx, ty, occupant, tissue):
            occupant[x[s], y[s]] = -1
            occupant[tx, ty] = s
            x[s], y[s] = tx, ty
            moved += 1
    return moved


# --------------------------------------------------------------------------- bone cell lineages


def touches_bone(x, y, tissue, periodic):
    """Reference of :func:`abm.cells.kernels.touches_bone`."""
    nx, ny = tissue.shape
    return any(
        tx >= 0 and tissue[tx, ty] == BONE
        for tx, ty in (neighbour(x, y, d, nx, ny, periodic) for d in range(4))
    )


def occupancy(concentration, half_saturation, hill):
    """Reference of :func:`abm.cells.kernels.occupancy`."""
    if concentration <= 0.0:
        return 0.0
    return 1.0 / (1.0 + (half_saturation / concentration) ** hill)


def relax_hif(alive, x, y, n_slots, oxygen_mmHg, half_maximal_mmHg, hill, retained, hif):
    """Reference of :func:`abm.cells.kernels.relax_hif` (vectorized)."""
    living = np.flatnonzero(alive[:n_slots])
    target = 1.0 / (1.0 + (oxygen_mmHg[x[living], y[living]] / half_maximal_mmHg) ** hill)
    hif[living] = target + (hif[living] - target) * retained


def wall_conductivity_fold(tissue, vegf, half_occupancy, max_fold, periodic):
    """Reference of :func:`abm.cells.kernels.wall_conductivity_fold`."""
    nx, ny = tissue.shape
    faces, fold_sum = 0, 0.0
    for i, j in zip(*np.nonzero(tissue == LUMEN), strict=True):
        for direction in range(4):
            ti, tj = neighbour(i, j, direction, nx, ny, periodic)
            if ti >= 0 and tissue[ti, tj] == MARROW:
                faces += 1
                fold_sum += 1.0 + (max_fold - 1.0) * occupancy(vegf[ti, tj], half_occupancy, 1.0)
    return faces, fold_sum


def probability(rate_per_h, step_h):
    """Per-step probability of an event of rate ``rate_per_h``."""
    return -math.expm1(-rate_per_h * step_h)


def lifespan_death_probability(age_h, step_h, clock_rate_per_h, clock_stages):
    """Reference of :func:`abm.cells.kernels.lifespan_death_probability`."""

    def survival_series(t):
        z = clock_rate_per_h * t
        return math.fsum(z**i / math.factorial(i) for i in range(clock_stages))

    survival_ratio = survival_series(age_h + step_h) / survival_series(age_h)
    return max(0.0, 1.0 - math.exp(-clock_rate_per_h * step_h) * survival_ratio)


def osteoclast_fates(
    u, osteoclast, alive, cell_type, stage, stage_h, x, y, occupant, tissue, rankl_free, tgfb,
    precursor_death_per_h, max_activation_per_h, rank_half_saturation, rank_hill,
    clock_rate_per_h, clock_stages, tgfb_apoptosis_per_h, tgfb_half_saturation, step_h,
    periodic, n_slots,
):
    """Reference of :func:`abm.cells.kernels.osteoclast_fates`."""
    activated = died = 0
    for s in np.flatnonzero(alive[:n_slots] & (cell_type[:n_slots] == osteoclast)):
        here = x[s], y[s]
        if stage[s] == PRECURSOR:
            p_death = probability(precursor_death_per_h, step_h)
            theta = occupancy(rankl_free[here], rank_half_saturation, rank_hill)
            p_activate = (1.0 - p_death) * probability(max_activation_per_h * theta, step_h)
            dies = u[s] < p_death
            if not dies and touches_bone(*here, tissue, periodic) and u[s] - p_death < p_activate:
                stage[s], stage_h[s] = ACTIVE, 0.0
                activated += 1
        else:
            p_clock = lifespan_death_probability(stage_h[s], step_h, clock_rate_per_h, clock_stages)
            p_tgfb = probability(
                tgfb_apoptosis_per_h * occupancy(tgfb[here], tgfb_half_saturation, 1.0), step_h
            )
            dies = u[s] < 1.0 - (1.0 - p_clock) * (1.0 - p_tgfb)
        if dies:
            alive[s] = False
            occupant[here] = -1
            died += 1
    return activated, died


def _first(x, y, first, occupant, predicate, periodic):
    """The first neighbour (directions ``first, +1, +2, +3``) satisfying ``predicate``."""
    nx, ny = occupant.shape
    for j in range(4):
        tx, ty = neighbour(x, y, (first + j) % 4, nx, ny, periodic)
        if tx >= 0 and predicate(tx, ty):
            return tx, ty
    return None


def _move(s, target, x, y, occupant):
    occupant[x[s], y[s]] = -1
    occupant[target] = s
    x[s], y[s] = target


def resorb(
    order, first_direction, osteoclast, alive, cell_type, stage, x, y, occupant, tissue,
    mineral, osteoid, released_tgfb, resorbed_per_step, tgfb_per_mineral, periodic,
):
    """Reference of :func:`abm.cells.kernels.resorb`."""
    total = 0.0
    for s in order:
        if not (alive[s] and cell_type[s] == osteoclast and stage[s] == ACTIVE):
            continue
        target = _first(
            x[s], y[s], first_direction[s], occupant,
            lambda i, j: occupant[i, j] < 0 and tissue[i, j] != LUMEN
            and mineral[i, j] + osteoid[i, j] > 0.0,
            periodic,
        )
        if target is not None:
            from_mineral = min(resorbed_per_step, mineral[target])
            mineral[target] -= from_mineral
            from_osteoid = min(resorbed_per_step - from_mineral, osteoid[target])
            osteoid[target] -= from_osteoid
            released_tgfb[target] += from_mineral * tgfb_per_mineral
            total += from_mineral + from_osteoid
            continue

        def free(i, j):
            return is_free(i, j, occupant, tissue)

        target = _first(
            x[s], y[s], first_direction[s], occupant,
            lambda i, j: free(i, j) and touches_bone(i, j, tissue, periodic), periodic,
        ) or _first(x[s], y[s], first_direction[s], occupant, free, periodic)
        if target is not None:
            _move(s, target, x, y, occupant)
    return total


def osteoblast_fates(
    order, u_fate, u_activate, first_direction, stromal, osteoblast, alive, cell_type, stage,
    stage_h, x, y, age_h, cell_id, mother, occupant, tissue, tgfb, vegf, osteogenic,
    max_commitment_per_h, commitment_fold, tgfb_commitment_half_saturation, precursor_death_per_h,
    activation_per_h, tgfb_activation_half_saturation, vegf_gain, vegf_half_saturation,
    osteogenic_gain, osteogenic_half_saturation, active_period_h, apoptosis_fold, active_phase_h,
    lining_fraction, step_h, periodic, n_slots,
):
    """Reference of :func:`abm.cells.kernels.osteoblast_fates`."""
    activated = 0
    for s in order:
        if not alive[s]:
            continue
        here = x[s], y[s]
        if cell_type[s] == stromal:
            rate = max_commitment_per_h * fold_of(commitment_fold, s) * occupancy(
                tgfb[here], tgfb_commitment_half_saturation, 1.0
            )
            target = _first(
                *here, first_direction[s], occupant,
                lambda i, j: is_free(i, j, occupant, tissue), periodic,
            )
            if u_fate[s] < probability(rate, step_h) and target is not None:
                d = n_slots
                n_slots += 1
                alive[d], cell_type[d], stage[d], stage_h[d] = True, osteoblast, PRECURSOR, 0.0
                x[d], y[d] = target
                age_h[d], cell_id[d], mother[d] = 0.0, -1, s
                occupant[target] = d
        elif cell_type[s] == osteoblast and stage[s] == PRECURSOR:
            if u_fate[s] < probability(precursor_death_per_h, step_h):
                alive[s] = False
                occupant[here] = -1
            elif touches_bone(*here, tissue, periodic):
                rate = (
                    activation_per_h
                    * tgfb_activation_half_saturation
                    / (tgfb_activation_half_saturation + tgfb[here])
                    * (1.0 + vegf_gain * occupancy(vegf[here], vegf_half_saturation, 1.0))
                    * (
                        1.0 + osteogenic_gain
                        * occupancy(osteogenic[here], osteogenic_half_saturation, 1.0)
                    )
                )
                if u_activate[s] < probability(rate, step_h):
                    stage[s], stage_h[s] = ACTIVE, 0.0
                    active_phase_h[s] = step_h * fold_of(apoptosis_fold, s)
                    activated += 1
        elif cell_type[s] == osteoblast and stage[s] == ACTIVE:
            if active_phase_h[s] < active_period_h:
                active_phase_h[s] += step_h * fold_of(apoptosis_fold, s)
                continue
            if u_fate[s] < lining_fraction:
                stage[s], stage_h[s] = LINING, 0.0
            else:
                alive[s] = False
                occupant[here] = -1
    return n_slots, activated


def form_bone(
    order, u_move, u_direction, first_direction, osteoblast, alive, cell_type, stage, x, y,
    occupant, tissue, mineral, osteoid, tgfb, apposition_per_step, burial_probability,
    hop_probability, chemotaxis, tgfb_half_saturation, periodic,
):
    """Reference of :func:`abm.cells.kernels.form_bone`."""
    nx, ny = occupant.shape
    formed, buried = 0.0, 0
    for s in order:
        if not (alive[s] and cell_type[s] == osteoblast):
            continue
        here = x[s], y[s]
        if stage[s] == ACTIVE:
            matrix = mineral[here] + osteoid[here]
            if matrix <= 0.0 and not touches_bone(*here, tissue, periodic):
                continue
            laid = min(apposition_per_step, max(0.0, 1.0 - matrix))
            osteoid[here] += laid
            formed += laid
            if matrix + laid < 1.0 - FULL_TOLERANCE:
                continue
            walled_in = _first(*here, 0, occupant, lambda i, j: tissue[i, j] == MARROW,
                               periodic) is None
            just_filled = matrix < 1.0 - FULL_TOLERANCE
            if walled_in or (just_filled and u_move[s] < burial_probability):
                alive[s] = False
                occupant[here] = -1
                buried += 1
                continue
            target = _first(*here, first_direction[s], occupant,
                            lambda i, j: is_free(i, j, occupant, tissue), periodic)
            if target is not None:
                _move(s, target, x, y, occupant)
        elif stage[s] == PRECURSOR and u_move[s] < hop_probability:
            if touches_bone(*here, tissue, periodic):
                continue
            targets = [neighbour(*here, d, nx, ny, periodic) for d in range(4)]
            weights = np.array([
                math.exp(chemotaxis * (
                    0.0 if t[0] < 0 else occupancy(tgfb[t], tgfb_half_saturation, 1.0)
                ))
                for t in targets
            ])
            bounds = np.cumsum(weights)
            direction = min(int(np.searchsorted(bounds, u_direction[s] * bounds[-1], "right")), 3)
            if is_free(*targets[direction], occupant, tissue):
                _move(s, targets[direction], x, y, occupant)
    return formed, buried


def classify_tissue(mineral, osteoid, vessel_lumen, tissue, mineralized_fraction, lumen_fraction):
    """Reference of :func:`abm.cells.kernels.classify_tissue`."""
    classified = np.where(mineral + osteoid >= mineralized_fraction, BONE, 0)
    classified[vessel_lumen >= lumen_fraction] = LUMEN
    changed = not np.array_equal(classified, tissue)
    tissue[...] = classified
    return changed


def mineralize(
    mineral, osteoid, vessel_lumen, tissue, fraction_per_step, mineralized_fraction,
    lumen_fraction,
):
    """Reference of :func:`abm.cells.kernels.mineralize`."""
    converted = osteoid * fraction_per_step
    osteoid -= converted
    mineral += converted
    return classify_tissue(
        mineral, osteoid, vessel_lumen, tissue, mineralized_fraction, lumen_fraction
    )


# --------------------------------------------------------------------------- endothelium


def vegf_gradient(vegf, x, y, periodic):
    """Reference of :func:`abm.cells.kernels.vegf_gradient`."""
    nx, ny = vegf.shape
    gradient = []
    for axis in (0, 1):
        plus = neighbour(x, y, 2 * axis, nx, ny, periodic)
        minus = neighbour(x, y, 2 * axis + 1, nx, ny, periodic)
        span = (plus[0] >= 0) + (minus[0] >= 0)
        plus = plus if plus[0] >= 0 else (x, y)
        minus = minus if minus[0] >= 0 else (x, y)
        gradient.append((vegf[plus] - vegf[minus]) / span if span else 0.0)
    return tuple(gradient)


def _tip_nearby(x, y, spacing_voxels, occupant, tip, periodic):
    nx, ny = occupant.shape
    reach = int(spacing_voxels)
    for di in range(-reach, reach + 1):
        for dj in range(-reach, reach + 1):
            if di * di + dj * dj > spacing_voxels**2:
                continue
            i, j = x + di, y + dj
            if periodic:
                i, j = i % nx, j % ny
            elif not (0 <= i < nx and 0 <= j < ny):
                continue
            if occupant[i, j] >= 0 and tip[occupant[i, j]]:
                return True
    return False


def _add_endothelial_cell(d, endothelial, tx, ty, s, alive, cell_type, x, y, age_h, cell_id,
                          mother, occupant, sprout, parent_sprout, inlet, tip, is_tip):
    alive[d], cell_type[d], x[d], y[d] = True, endothelial, tx, ty
    age_h[d], cell_id[d], mother[d] = 0.0, -1, s
    occupant[tx, ty] = d
    parent_sprout[d], inlet[d], tip[d] = parent_sprout[s], inlet[s], is_tip
    sprout[d] = sprout[s]


def open_to_sprout(tx, ty, occupant, tissue, avoid_bone_surface, periodic):
    """Reference of :func:`abm.cells.kernels.open_to_sprout`."""
    return is_free(tx, ty, occupant, tissue) and not (
        avoid_bone_surface and touches_bone(tx, ty, tissue, periodic)
    )


def select_tips(
    order, u, endothelial, alive, cell_type, x, y, age_h, cell_id, mother, sprout,
    parent_sprout, inlet, tip, occupant, tissue, vegf, signalling, vegf_threshold,
    gradient_threshold_per_voxel, selection_probability, spacing_voxels, next_sprout,
    avoid_bone_surface, periodic, n_slots,
):
    """Reference of :func:`abm.cells.kernels.select_tips`."""
    nx, ny = occupant.shape
    for s in order:
        if not alive[s] or cell_type[s] != endothelial or tip[s] or u[s] >= selection_probability:
            continue
        if tissue[x[s], y[s]] != LUMEN or signalling * vegf[x[s], y[s]] < vegf_threshold:
            continue
        if signalling * math.hypot(*vegf_gradient(vegf, x[s], y[s], periodic)) < (
            gradient_threshold_per_voxel
        ):
            continue
        free = [
            (vegf[t], -d, t)
            for d in range(4)
            if open_to_sprout(*(t := neighbour(x[s], y[s], d, nx, ny, periodic)), occupant,
                              tissue, avoid_bone_surface, periodic)
        ]
        if not free or _tip_nearby(x[s], y[s], spacing_voxels, occupant, tip, periodic):
            continue
        (tx, ty) = max(free)[2]
        _add_endothelial_cell(n_slots, endothelial, tx, ty, s, alive, cell_type, x, y, age_h,
                              cell_id, mother, occupant, sprout, parent_sprout, inlet, tip, True)
        parent_sprout[n_slots], sprout[n_slots] = sprout[s], next_sprout
        n_slots += 1
        next_sprout += 1
    return n_slots, next_sprout


def _foreign_endothelium(s, o, sprout, parent_sprout, inlet):
    if sprout[o] == sprout[s]:
        return False
    return inlet[o] != inlet[s] if sprout[o] < 0 else sprout[o] != parent_sprout[s]


def move_tips(
    order, u, endothelial, alive, cell_type, x, y, age_h, cell_id, mother, sprout,
    parent_sprout, inlet, tip, occupant, tissue, vegf, signalling, hop_per_direction,
    chemotaxis_per_h, chemotaxis_saturation, max_gradient_per_voxel, step_h,
    avoid_bone_surface, periodic, n_slots,
):
    """Reference of :func:`abm.cells.kernels.move_tips`."""
    nx, ny = occupant.shape
    moved = fused = 0
    for s in order:
        if not alive[s] or cell_type[s] != endothelial or not tip[s]:
            continue
        gradient = signalling * np.array(vegf_gradient(vegf, x[s], y[s], periodic))
        magnitude = float(np.hypot(*gradient))
        if magnitude > max_gradient_per_voxel:
            gradient *= max_gradient_per_voxel / magnitude
        chi = chemotaxis_per_h / (1.0 + signalling * vegf[x[s], y[s]] / chemotaxis_saturation)
        drift = 0.5 * step_h * chi * np.repeat(gradient, 2) * np.array([1.0, -1.0, 1.0, -1.0])
        p = np.maximum(0.0, hop_per_direction + drift)
        p /= max(1.0, p.sum())
        direction = int(np.searchsorted(np.cumsum(p), u[s], side="right"))
        if direction < 4:
            here = (x[s], y[s])
            target = neighbour(x[s], y[s], direction, nx, ny, periodic)
            if open_to_sprout(*target, occupant, tissue, avoid_bone_surface, periodic):
                occupant[here], occupant[target] = -1, s
                x[s], y[s] = target
                _add_endothelial_cell(n_slots, endothelial, *here, s, alive, cell_type, x, y,
                                      age_h, cell_id, mother, occupant, sprout, parent_sprout,
                                      inlet, tip, False)
                n_slots += 1
                moved += 1
        for d in range(4):
            tx, ty = neighbour(x[s], y[s], d, nx, ny, periodic)
            o = occupant[tx, ty] if tx >= 0 else -1
            if o >= 0 and cell_type[o] == endothelial and _foreign_endothelium(
                s, o, sprout, parent_sprout, inlet
            ):
                tip[s] = False
                fused += 1
                break
    return n_slots, moved, fused


def perfused_sprout_cells(
    endothelial, alive, cell_type, x, y, sprout, inlet, occupant, periodic, n_slots, perfused,
):
    """Reference of :func:`abm.cells.kernels.perfused_sprout_cells`: whole-graph leaf removal
    until none is left, then connected groups by depth-first search."""
    nx, ny = occupant.shape

    def endothelial_neighbours(s):
        for d in range(4):
            tx, ty = neighbour(x[s], y[s], d, nx, ny, periodic)
            o = occupant[tx, ty] if tx >= 0 else -1
            if o >= 0 and cell_type[o] == endothelial:
                yield o

    grown = {
        s for s in range(n_slots)
        if alive[s] and cell_type[s] == endothelial and sprout[s] >= 0
    }
    while True:
        leaves = {
            s for s in grown
            if len({o for o in endothelial_neighbours(s) if o in grown})
            + len({inlet[o] for o in endothelial_neighbours(s) if sprout[o] < 0}) <= 1
        }
        if not leaves:
            break
        grown -= leaves
    perfused[:n_slots] = False
    unvisited = set(grown)
    while unvisited:
        group, stack, inlets = set(), [unvisited.pop()], set()
        while stack:
            s = stack.pop()
            group.add(s)
            for o in endothelial_neighbours(s):
                if sprout[o] < 0:
                    inlets.add(int(inlet[o]))
                elif o in unvisited:
                    unvisited.remove(o)
                    stack.append(o)
        if len(inlets) >= 2:
            perfused[list(group)] = True
    return int(perfused[:n_slots].sum())


def type_h_release(
    endothelial, alive, cell_type, x, y, tissue, vegf, signalling, reach_voxels,
    release_per_cell, vegf_gain, vegfr2_half_occupancy, periodic, n_slots, released,
):
    """Reference of :func:`abm.cells.kernels.type_h_release` (bone within reach by a distance
    map)."""
    bone = tissue == BONE
    nx, ny = tissue.shape
    if not bone.any():
        distance = np.full(bone.shape, np.inf)
    elif periodic:  # distances across the edges: tile the lattice 3 × 3 and take the centre
        distance = ndimage.distance_transform_edt(~np.tile(bone, (3, 3)))[nx:2 * nx, ny:2 * ny]
    else:
        distance = ndimage.distance_transform_edt(~bone)
    count = 0
    for s in range(n_slots):
        if alive[s] and cell_type[s] == endothelial and tissue[x[s], y[s]] == LUMEN:
            if distance[x[s], y[s]] <= reach_voxels:
                phi = occupancy(signalling * vegf[x[s], y[s]], vegfr2_half_occupancy, 1.0)
                released[x[s], y[s]] += release_per_cell * (1.0 + vegf_gain * phi)
                count += 1
    return count
