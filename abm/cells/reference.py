"""Plain-Python references of the kernels in :mod:`abm.cells.kernels` (same arguments, same
semantics, no numba). Tests run both on identical inputs and require identical results."""

from __future__ import annotations

from abm.cells.kernels import DX, DY


def neighbour(x, y, direction, nx, ny, periodic):
    """Reference of :func:`abm.cells.kernels.neighbour`."""
    tx, ty = int(x) + int(DX[direction]), int(y) + int(DY[direction])
    if periodic:
        return tx % nx, ty % ny
    if not (0 <= tx < nx and 0 <= ty < ny):
        return -1, -1
    return tx, ty


def _is_free(tx, ty, occupant, tissue):
    return tx >= 0 and occupant[tx, ty] < 0 and tissue[tx, ty] == 0


def divide_and_die(
    order, u_death, u_divide, first_direction, death_probability, division_probability,
    alive, cell_type, x, y, age_h, cell_id, mother, occupant, tissue,
    periodic, n_slots,
):
    """Reference of :func:`abm.cells.kernels.divide_and_die`."""
    nx, ny = occupant.shape
    for s in order:
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
        if _is_free(tx, ty, occupant, tissue):
            occupant[x[s], y[s]] = -1
            occupant[tx, ty] = s
            x[s], y[s] = tx, ty
            moved += 1
    return moved
