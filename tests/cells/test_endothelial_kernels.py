"""Endothelial kernels (tip selection, the tip walk, sprout perfusion, type-H release) against
their references and against hand-built cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from abm.cells import kernels, reference
from abm.cells.kernels import BONE, LUMEN, MARROW

EC, OTHER = 4, 0
"""Cell-type codes used here: endothelial, and any other cell."""


class Lattice:
    """A small lattice with a cell table holding the endothelial columns."""

    def __init__(self, shape=(12, 12), capacity=400):
        self.tissue = np.full(shape, MARROW, dtype=np.int8)
        self.occupant = np.full(shape, -1, dtype=np.int32)
        self.vegf = np.zeros(shape)
        self.alive = np.zeros(capacity, dtype=bool)
        self.cell_type = np.full(capacity, -1, dtype=np.int8)
        self.x = np.zeros(capacity, dtype=np.int32)
        self.y = np.zeros(capacity, dtype=np.int32)
        self.age_h = np.zeros(capacity)
        self.cell_id = np.full(capacity, -1, dtype=np.int64)
        self.mother = np.full(capacity, -1, dtype=np.int64)
        self.sprout = np.full(capacity, -1, dtype=np.int32)
        self.parent_sprout = np.full(capacity, -1, dtype=np.int32)
        self.inlet = np.full(capacity, -1, dtype=np.int32)
        self.tip = np.zeros(capacity, dtype=bool)
        self.n = 0

    def add(self, x, y, cell_type=EC, sprout=-1, inlet=-1, tip=False, lumen=None, parent=-1):
        s = self.n
        self.alive[s], self.cell_type[s], self.x[s], self.y[s] = True, cell_type, x, y
        self.sprout[s], self.inlet[s], self.tip[s] = sprout, inlet, tip
        self.parent_sprout[s] = parent
        self.occupant[x, y] = s
        if lumen if lumen is not None else (cell_type == EC and sprout < 0):
            self.tissue[x, y] = LUMEN
        self.n += 1
        return s

    def copy(self):
        other = Lattice.__new__(Lattice)
        other.__dict__ = {k: v.copy() if isinstance(v, np.ndarray) else v
                          for k, v in self.__dict__.items()}
        return other

    def cells(self):
        return (self.alive, self.cell_type, self.x, self.y, self.age_h, self.cell_id, self.mother,
                self.sprout, self.parent_sprout, self.inlet, self.tip)

    def state(self):
        return {k: v for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}


def assert_same(a: Lattice, b: Lattice):
    for key, value in a.state().items():
        np.testing.assert_array_equal(value, b.state()[key], err_msg=key)


def perfused(lattice: Lattice, periodic=False):
    out = np.zeros(lattice.n, dtype=bool)
    n = kernels.perfused_sprout_cells(
        EC, lattice.alive, lattice.cell_type, lattice.x, lattice.y, lattice.sprout,
        lattice.inlet, lattice.occupant, periodic, lattice.n, out,
    )
    want = np.zeros(lattice.n, dtype=bool)
    assert reference.perfused_sprout_cells(
        EC, lattice.alive, lattice.cell_type, lattice.x, lattice.y, lattice.sprout,
        lattice.inlet, lattice.occupant, periodic, lattice.n, want,
    ) == n
    np.testing.assert_array_equal(out, want)
    return out


def test_vegf_gradient_is_exact_on_a_linear_field():
    field = 3.0 * np.arange(8)[:, None] - 2.0 * np.arange(8)[None, :]
    assert kernels.vegf_gradient(field, 4, 4, False) == (3.0, -2.0)
    assert kernels.vegf_gradient(field, 0, 7, False) == (3.0, -2.0)  # one-sided at edges
    assert reference.vegf_gradient(field, 0, 7, False) == (3.0, -2.0)


def test_a_chain_between_two_vessels_is_perfused_and_its_dead_end_branch_is_not():
    lat = Lattice()
    a, b = lat.add(2, 5, inlet=1), lat.add(9, 5, inlet=2)
    chain = [lat.add(i, 5, sprout=0, inlet=1) for i in range(3, 9)]
    branch = [lat.add(6, j, sprout=1, inlet=1, parent=0) for j in (6, 7, 8)]
    flags = perfused(lat)
    assert flags[chain].all() and not flags[branch].any() and not flags[[a, b]].any()


def test_blind_sprouts_and_loops_back_to_their_own_vessel_carry_no_flow():
    lat = Lattice()
    lat.add(2, 2, inlet=1)
    lat.add(2, 3, inlet=1)
    blind = [lat.add(3, j, sprout=0, inlet=1) for j in (2, 1, 0)]
    loop = [lat.add(1, 2, sprout=1, inlet=1), lat.add(0, 2, sprout=1, inlet=1),
            lat.add(0, 3, sprout=1, inlet=1), lat.add(1, 3, sprout=1, inlet=1)]
    flags = perfused(lat)
    assert not flags[blind + loop].any()
    # a second vessel touching the blind sprout's end makes the sprout carry flow
    lat.add(4, 0, inlet=2)
    flags = perfused(lat)
    assert flags[blind].all() and not flags[loop].any()


@pytest.mark.parametrize("seed", range(6))
def test_perfusion_kernel_matches_reference_on_random_networks(seed):
    rng = np.random.default_rng(seed)
    lat = Lattice(shape=(14, 14), capacity=200)
    free = rng.permutation(14 * 14)[:120]
    for flat in free:
        x, y = divmod(int(flat), 14)
        kind = rng.random()
        if kind < 0.2:
            lat.add(x, y, inlet=int(rng.integers(1, 4)))
        elif kind < 0.9:
            lat.add(x, y, sprout=int(rng.integers(0, 5)), inlet=int(rng.integers(1, 4)))
        else:
            lat.add(x, y, cell_type=OTHER)
    for periodic in (False, True):
        perfused(lat, periodic)


def walk_setup(vegf_slope=30.0, shape=(12, 12), alone=False):
    """A tip at the centre of a linear VEGF ramp along +x, its sprout behind it and its parent
    vessel at the left (unless ``alone``)."""
    lat = Lattice(shape=shape)
    lat.vegf[...] = 5000.0 + vegf_slope * np.arange(shape[0])[:, None]
    if not alone:
        lat.add(3, 6, inlet=1)
        lat.add(4, 6, sprout=0, inlet=1)
    tip = lat.add(5, 6, sprout=0, inlet=1, tip=True)
    return lat, tip


def move(lat, order, u, hop=0.0, chi=1e-3, saturation=1e4, max_gradient=1e9, signalling=1.0,
         avoid_bone=False, impl=kernels):
    return impl.move_tips(
        order, u, EC, *lat.cells(), lat.occupant, lat.tissue, lat.vegf, signalling, hop, chi,
        saturation, max_gradient, 1.0, avoid_bone, False, lat.n,
    )


def test_tip_steps_up_the_gradient_with_the_anderson_chaplain_probability():
    lat, tip = walk_setup()
    # P(+x) = p_D + Δt·χ(V)·g/2 with V = 5150, g = 30 per voxel; P(−x) clipped at 0
    chi = 1e-2 / (1.0 + 5150.0 / 1e4)
    p_up = 0.01 + 0.5 * chi * 30.0
    assert 0.01 - 0.5 * chi * 30.0 < 0.0
    below = lat.copy()
    n, moved, fused = move(below, np.array([tip]), np.full(lat.n, p_up - 1e-9), hop=0.01,
                           chi=1e-2)
    assert (moved, fused, n) == (1, 0, lat.n + 1)
    assert (below.x[tip], below.y[tip]) == (6, 6)  # one voxel up-gradient
    stalk = lat.n
    assert (below.x[stalk], below.y[stalk]) == (5, 6)
    assert below.sprout[stalk] == 0 and not below.tip[stalk]
    assert below.mother[stalk] == tip and below.occupant[5, 6] == stalk
    above = lat.copy()  # the next interval is −x, whose probability is 0: the +y interval
    n, moved, _ = move(above, np.array([tip]), np.full(lat.n, p_up + 0.005), hop=0.01, chi=1e-2)
    assert (above.x[tip], above.y[tip]) == (5, 7) and moved == 1
    stay = lat.copy()
    n, moved, _ = move(stay, np.array([tip]), np.full(lat.n, p_up + 0.02 + 1e-9), hop=0.01,
                       chi=1e-2)
    assert moved == 0 and n == lat.n and (stay.x[tip], stay.y[tip]) == (5, 6)


def test_mean_drift_velocity_is_chi_times_the_gradient():
    """Over many independent tips, the mean advance per step along the gradient is
    h·(P+ − P−) = Δt·χ(V)·∇V (no clipping when p_D ≥ the drift term)."""
    lat, tip = walk_setup(vegf_slope=10.0, alone=True)
    chi = 1e-2 / (1.0 + 5050.0 / 1e4)
    rng = np.random.default_rng(3)
    advance = []
    for u in rng.random(10000):
        trial = lat.copy()
        move(trial, np.array([tip]), np.full(lat.n, u), hop=0.1, chi=1e-2)
        advance.append(int(trial.x[tip]) - 5)
    # per-step variance of the x advance is at most 2·p_D + drift: SD ≤ 0.45 per draw
    assert np.mean(advance) == pytest.approx(chi * 10.0, abs=4 * 0.45 / np.sqrt(10000))
    assert chi * 10.0 > 0.06


def test_gradient_cap_and_blocked_voxels():
    lat, tip = walk_setup(vegf_slope=1e4)
    capped = lat.copy()
    # with the cap at 30 per voxel the up-step probability is as on the slope-30 ramp
    chi = 1e-3 / (1.0 + (5000.0 + 5 * 1e4) / 1e4)
    p_up = 0.5 * chi * 30.0
    move(capped, np.array([tip]), np.full(lat.n, p_up * 0.999), max_gradient=30.0)
    assert capped.x[tip] == 6
    stuck = lat.copy()
    move(stuck, np.array([tip]), np.full(lat.n, p_up * 1.001), max_gradient=30.0)
    assert stuck.x[tip] == 5
    blocked = lat.copy()
    blocked.add(6, 6, cell_type=OTHER)
    _, moved, _ = move(blocked, np.array([tip]), np.full(lat.n, 0.0), max_gradient=30.0)
    assert moved == 0 and blocked.x[tip] == 5


@pytest.mark.parametrize("avoid_bone", [True, False])
def test_a_tip_steps_onto_the_bone_surface_only_without_the_rule(avoid_bone):
    lat, tip = walk_setup()
    lat.tissue[7, 6] = BONE  # the up-gradient voxel (6, 6) touches bone
    _, moved, _ = move(lat, np.array([tip]), np.full(lat.n, 0.0), avoid_bone=avoid_bone)
    assert moved == (0 if avoid_bone else 1) and lat.x[tip] == (5 if avoid_bone else 6)


def test_tip_anastomoses_with_another_vessel_but_not_with_its_own():
    lat, tip = walk_setup()
    own = lat.copy()
    move(own, np.array([tip]), np.full(lat.n, 0.999))  # stays; touches only its own sprout
    assert own.tip[tip]
    other = lat.copy()
    other.add(6, 7, inlet=2)
    _, _, fused = move(other, np.array([tip]), np.full(lat.n, 0.0))  # moves to (6, 6)
    assert fused == 1 and not other.tip[tip] and other.x[tip] == 6
    sibling = lat.copy()  # another sprout of the same parent vessel
    sibling.add(5, 7, sprout=1, inlet=1)
    move(sibling, np.array([tip]), np.full(lat.n, 0.999))
    assert not sibling.tip[tip]
    parent = lat.copy()  # the grown vessel this sprout budded from
    parent.parent_sprout[tip] = 7
    parent.add(5, 5, sprout=7, inlet=1, lumen=True)
    move(parent, np.array([tip]), np.full(lat.n, 0.999))
    assert parent.tip[tip]


def random_lattice(seed, vegf_range, n_cells):
    """A 16² lattice with uniform random VEGF in ``vegf_range``, and ``n_cells`` distinct random
    voxels for the caller to fill: ``(rng, lattice, voxels)``."""
    rng = np.random.default_rng(seed)
    lat = Lattice(shape=(16, 16), capacity=300)
    lat.vegf[...] = rng.uniform(*vegf_range, lat.vegf.shape)
    return rng, lat, [divmod(int(flat), 16) for flat in rng.permutation(256)[:n_cells]]


def scatter_bone(rng, lat, fraction=0.1):
    """Make ``fraction`` of the empty marrow voxels mineralized bone."""
    empty = (lat.occupant < 0) & (lat.tissue == MARROW)
    lat.tissue[empty & (rng.random(lat.tissue.shape) < fraction)] = BONE


@pytest.mark.parametrize("seed, avoid_bone", [(s, s % 2 == 1) for s in range(4)])
def test_tip_walk_matches_reference(seed, avoid_bone):
    rng, lat, voxels = random_lattice(seed, (0, 8000), 60)
    for x, y in voxels:
        kind = rng.random()
        if kind < 0.3:
            lat.add(x, y, inlet=int(rng.integers(1, 3)))
        elif kind < 0.8:
            lat.add(x, y, sprout=int(rng.integers(0, 6)), inlet=int(rng.integers(1, 3)),
                    tip=bool(rng.random() < 0.6), parent=int(rng.integers(-1, 6)))
        else:
            lat.add(x, y, cell_type=OTHER)
    scatter_bone(rng, lat)
    for _ in range(5):
        order = rng.permutation(lat.n)
        u = rng.random(lat.n)
        a, b = lat.copy(), lat.copy()
        ka = move(a, order, u, hop=0.05, chi=2e-4, max_gradient=300.0, avoid_bone=avoid_bone)
        kb = move(b, order, u, hop=0.05, chi=2e-4, max_gradient=300.0, avoid_bone=avoid_bone,
                  impl=reference)
        assert ka == kb
        a.n = ka[0]
        b.n = kb[0]
        assert_same(a, b)
        lat = a


def select(lat, order, u, probability=1.0, spacing=4.0, signalling=1.0, avoid_bone=False,
           impl=kernels):
    return impl.select_tips(
        order, u, EC, *lat.cells(), lat.occupant, lat.tissue, lat.vegf, signalling, 3000.0, 140.0,
        probability, spacing, 10, avoid_bone, False, lat.n,
    )


def test_tips_bud_from_perfused_endothelium_above_both_thresholds_with_lateral_inhibition():
    lat = Lattice(shape=(20, 20))
    lat.vegf[...] = 3500.0 + 150.0 * np.arange(20)[:, None]  # gradient 150 per voxel ≥ 140
    walls = [lat.add(5, j, inlet=1) for j in (2, 4, 9)]  # (5, 2) and (5, 4): 20 µm apart
    order = np.array(walls)
    n, next_sprout = select(lat, order, np.zeros(lat.n))
    assert n == lat.n + 2 and next_sprout == 12  # (5, 4) inhibited by the tip of (5, 2)
    new = np.arange(lat.n, n)
    assert lat.tip[new].all() and (lat.x[new] == 6).all()  # into the up-gradient neighbour
    np.testing.assert_array_equal(lat.sprout[new], [10, 11])
    np.testing.assert_array_equal(lat.mother[new], [walls[0], walls[2]])
    np.testing.assert_array_equal(lat.inlet[new], [1, 1])
    np.testing.assert_array_equal(lat.parent_sprout[new], [-1, -1])


def test_with_the_rule_a_tip_buds_into_the_best_neighbour_off_the_bone_surface():
    lat = Lattice(shape=(20, 20))
    lat.vegf[...] = 3500.0 + 150.0 * np.arange(20)[:, None]
    wall = lat.add(5, 5, inlet=1)
    lat.tissue[7, 5] = BONE  # the up-gradient neighbour (6, 5) touches bone
    free = lat.copy()
    n, _ = select(free, np.array([wall]), np.zeros(lat.n))
    assert n == lat.n + 1 and (free.x[lat.n], free.y[lat.n]) == (6, 5)
    off = lat.copy()
    n, _ = select(off, np.array([wall]), np.zeros(lat.n), avoid_bone=True)
    assert n == lat.n + 1 and off.x[lat.n] == 5  # a lateral neighbour of equal VEGF
    lat.tissue[4, 4] = lat.tissue[4, 6] = lat.tissue[3, 5] = BONE  # every neighbour on bone
    n, _ = select(lat, np.array([wall]), np.zeros(lat.n), avoid_bone=True)
    assert n == lat.n


@pytest.mark.parametrize(
    "change",
    ["low_vegf", "shallow", "blind", "blocked_receptors", "no_luck"],
)
def test_no_tip_without_each_condition(change):
    lat = Lattice(shape=(20, 20))
    lat.vegf[...] = 3500.0 + 150.0 * np.arange(20)[:, None]
    wall = lat.add(5, 5, inlet=1)
    signalling, u = 1.0, np.zeros(lat.n)
    if change == "low_vegf":
        lat.vegf[...] -= 1500.0
    elif change == "shallow":
        lat.vegf[...] = 3500.0 + 100.0 * np.arange(20)[:, None]
    elif change == "blind":
        lat.tissue[5, 5] = MARROW
    elif change == "blocked_receptors":
        signalling = 0.0
    else:
        u[:] = 0.5
    n, _ = select(lat, np.array([wall]), u, probability=0.4, signalling=signalling)
    assert n == lat.n


@pytest.mark.parametrize("seed, avoid_bone", [(s, s % 2 == 1) for s in range(4)])
def test_tip_selection_matches_reference(seed, avoid_bone):
    rng, lat, voxels = random_lattice(seed, (2000, 9000), 70)
    for x, y in voxels:
        lat.add(x, y, inlet=int(rng.integers(1, 3)), tip=bool(rng.random() < 0.1),
                cell_type=EC if rng.random() < 0.8 else OTHER)
    scatter_bone(rng, lat)
    order = rng.permutation(lat.n)
    u = rng.random(lat.n)
    a, b = lat.copy(), lat.copy()
    ka = select(a, order, u, probability=0.6, avoid_bone=avoid_bone)
    kb = select(b, order, u, probability=0.6, avoid_bone=avoid_bone, impl=reference)
    assert ka == kb and ka[0] > lat.n
    assert_same(a, b)


def test_type_h_release_near_bone_and_its_vegf_gain():
    lat = Lattice(shape=(12, 12))
    lat.tissue[:, 0] = BONE
    near, far = lat.add(5, 2, inlet=1), lat.add(5, 6, inlet=1)
    lat.add(8, 2, sprout=0, inlet=1)  # blind: not perfused, releases nothing
    lat.vegf[5, 2] = 12800.0
    released = np.zeros((12, 12))
    count = kernels.type_h_release(
        EC, lat.alive, lat.cell_type, lat.x, lat.y, lat.tissue, lat.vegf, 1.0, 2.0, 3.0, 10.0,
        12800.0, False, lat.n, released,
    )
    assert count == 1 and far != near
    assert released[5, 2] == pytest.approx(3.0 * (1.0 + 10.0 * 0.5))
    assert released.sum() == released[5, 2]
    blocked = np.zeros((12, 12))
    kernels.type_h_release(
        EC, lat.alive, lat.cell_type, lat.x, lat.y, lat.tissue, lat.vegf, 0.0, 2.0, 3.0, 10.0,
        12800.0, False, lat.n, blocked,
    )
    assert blocked[5, 2] == 3.0


@pytest.mark.parametrize("periodic", [False, True])
def test_type_h_release_matches_reference(periodic):
    rng = np.random.default_rng(5)
    lat = Lattice(shape=(15, 15), capacity=100)
    lat.tissue[rng.random((15, 15)) < 0.08] = BONE
    lat.vegf[...] = rng.uniform(0, 20000, (15, 15))
    for flat in rng.permutation(225)[:50]:
        x, y = divmod(int(flat), 15)
        if lat.tissue[x, y] != BONE:
            lat.add(x, y, inlet=1, sprout=int(rng.integers(-1, 2)), lumen=bool(rng.random() < 0.7))
    got, want = np.zeros((15, 15)), np.zeros((15, 15))
    args = (EC, lat.alive, lat.cell_type, lat.x, lat.y, lat.tissue, lat.vegf, 0.7, 2.5, 1.5, 4.0,
            9000.0, periodic, lat.n)
    assert kernels.type_h_release(*args, got) == reference.type_h_release(*args, want) > 0
    np.testing.assert_allclose(got, want, rtol=1e-15)
