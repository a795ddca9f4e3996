"""Lattice kernels for cell turnover (division, death) and random-walk migration.

Both walk the cells serially in a random order drawn from ``model.rng`` by the caller, so a run is
identical for any thread count. They live in one module because they share the neighbour helper
(numba's on-disk cache does not notice edits to another module's kernel). Each kernel has a plain
Python reference in :mod:`abm.cells.reference` with the same semantics; tests compare them.

Neighbourhood: the 4 von Neumann neighbours, direction codes 0 = +x, 1 = −x, 2 = +y, 3 = −y.
A voxel is free when no cell occupies it and it is marrow (tissue code 0 in the tissue map,
:attr:`abm.fields.stack.FieldStack.tissue`; not mineralized bone or vessel lumen).
"""

from __future__ import annotations

import numpy as np
from numba import njit

DX = np.array([1, -1, 0, 0], dtype=np.int64)
DY = np.array([0, 0, 1, -1], dtype=np.int64)


@njit(cache=True)
def neighbour(x, y, direction, nx, ny, periodic):
    """Voxel next to ``(x, y)`` in ``direction``; ``(-1, -1)`` when it is outside a closed edge."""
    tx = x + DX[direction]
    ty = y + DY[direction]
    if periodic:
        return tx % nx, ty % ny
    if tx < 0 or tx >= nx or ty < 0 or ty >= ny:
        return -1, -1
    return tx, ty


@njit(cache=True)
def _is_free(tx, ty, occupant, tissue):
    return tx >= 0 and occupant[tx, ty] < 0 and tissue[tx, ty] == 0


@njit(cache=True)
def divide_and_die(
    order, u_death, u_divide, first_direction, death_probability, division_probability,
    alive, cell_type, x, y, age_h, cell_id, mother, occupant, tissue,
    periodic, n_slots,
):
    """One step of cell turnover, in place. Returns the new ``n_slots``.

    For each slot ``s`` in ``order`` (living cells only; daughters born this step do not act):
    die with probability ``death_probability[type]``; otherwise divide with probability
    ``division_probability[type]`` into the first free neighbour, trying directions
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
        if u_death[s] < death_probability[t]:
            alive[s] = False
            occupant[x[s], y[s]] = -1
            continue
        if u_divide[s] >= division_probability[t]:
            continue
        for j in range(4):
            tx, ty = neighbour(x[s], y[s], (first_direction[s] + j) % 4, nx, ny, periodic)
            if _is_free(tx, ty, occupant, tissue):
                d = n_slots
                n_slots += 1
                alive[d] = True
                cell_type[d] = t
                x[d] = tx
                y[d] = ty
                age_h[d] = 0.0
                cell_id[d] = -1
                mother[d] = s
                occupant[tx, ty] = d
                age_h[s] = 0.0
                break
    return n_slots


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
        if _is_free(tx, ty, occupant, tissue):
            occupant[x[s], y[s]] = -1
            occupant[tx, ty] = s
            x[s] = tx
            y[s] = ty
            moved += 1
    return moved
