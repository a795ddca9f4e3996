"""The bone-lineage kernels: identical to their plain-Python references on random lattices, and
the unit rules they implement (resorption and apposition rates, stage transitions)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.bone.geometry import MINERALIZED_FRACTION
from abm.cells import kernels, reference
from abm.cells.table import ACTIVE, LINING, PRECURSOR
from abm.fields.stack import MINERALIZED_BONE, VESSEL_LUMEN
from abm.processes.responses import NO_FOLD
from abm.vessels.geometry import LUMEN_FRACTION
from tests.cells.test_kernels import copy_state, make_lattice, tissue_map

STROMAL, OSTEOBLAST, OSTEOCLAST = 1, 2, 3


def test_tissue_codes_agree_with_the_field_stack():
    assert kernels.BONE == MINERALIZED_BONE and kernels.LUMEN == VESSEL_LUMEN


def bone_lattice(seed, nx, ny, n_cells):
    """A random lattice with osteoid, TGF-β/RANKL/VEGF fields, lineage stages and stage ages."""
    rng = np.random.default_rng(seed)
    s = make_lattice(rng, nx, ny, n_cells)
    capacity = len(s["alive"])
    s["stage"] = np.zeros(capacity, dtype=np.int8)
    s["stage"][: s["n"]] = rng.integers(0, 3, s["n"])
    s["stage_h"] = np.zeros(capacity)
    s["stage_h"][: s["n"]] = rng.choice([0.0, 50.0, 100.0], s["n"])
    room = 1.0 - s["mineral"]
    s["osteoid"] = np.where(rng.random((nx, ny)) < 0.3, room * rng.random((nx, ny)), 0.0)
    s["tissue"] = tissue_map(s["mineral"] + s["osteoid"])
    s["tissue"][rng.random((nx, ny)) < 0.03] = VESSEL_LUMEN
    # cells only on marrow
    for slot in np.flatnonzero(s["alive"]):
        if s["tissue"][s["x"][slot], s["y"][slot]] != 0:
            s["alive"][slot] = False
            s["occupant"][s["x"][slot], s["y"][slot]] = -1
    for name in ("tgfb", "rankl", "vegf", "osteogenic", "released"):
        s[name] = rng.uniform(0.0, 2.0, (nx, ny)) * (rng.random((nx, ny)) < 0.7)
    s["rng"] = rng
    return s


def assert_same(got, want):
    for key, value in want.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(got[key], value, rtol=1e-12, atol=1e-15, err_msg=key)


lattices = dict(
    seed=st.integers(0, 2**16), nx=st.integers(3, 12), ny=st.integers(3, 12),
    n_cells=st.integers(0, 80), periodic=st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(**lattices, clock_stages=st.integers(1, 6))
def test_osteoclast_fates_match_reference(seed, nx, ny, n_cells, periodic, clock_stages):
    a = bone_lattice(seed, nx, ny, n_cells)
    b = copy_state(a)
    u = a["rng"].random(len(a["alive"]))

    def call(fn, s):
        return fn(
            u, OSTEOCLAST, s["alive"], s["cell_type"], s["stage"], s["stage_h"], s["x"], s["y"],
            s["occupant"], s["tissue"], s["rankl"], s["tgfb"], 0.4, 3.0, 0.5, 1.7, 0.02,
            clock_stages, 2.0, 0.8, 1.0, periodic, s["n"],
        )

    assert call(kernels.osteoclast_fates, a) == call(reference.osteoclast_fates, b)
    assert_same(a, b)


@settings(max_examples=200, deadline=None)
@given(
    age_h=st.floats(0, 5000), step_h=st.floats(0.1, 48), rate=st.floats(1e-4, 0.5),
    stages=st.integers(1, 12),
)
def test_lifespan_death_probability_matches_reference(age_h, step_h, rate, stages):
    p = kernels.lifespan_death_probability(age_h, step_h, rate, stages)
    assert p == pytest.approx(reference.lifespan_death_probability(age_h, step_h, rate, stages),
                              rel=1e-9, abs=1e-12)
    assert 0.0 <= p <= 1.0


def test_one_stage_clock_is_the_exponential():
    for age_h in (0.0, 10.0, 1000.0):
        assert kernels.lifespan_death_probability(age_h, 1.0, 0.01, 1) == pytest.approx(
            -np.expm1(-0.01)
        )


def test_osteoclast_lifespans_follow_the_erlang_clock():
    """2000 active osteoclasts without TGF-β, 1 h steps: the lifespans have the Erlang(4) mean
    14 d and coefficient of variation 1/2 (within 4 standard errors / 0.03)."""
    n, mean_h, stages = 2000, 14 * 24.0, 4
    nx, ny = 50, 40
    x, y = (c.astype(np.int32) for c in np.divmod(np.arange(n), ny))
    occupant = np.arange(n, dtype=np.int64).reshape(nx, ny)
    tissue = np.zeros((nx, ny), dtype=np.int8)
    zeros = np.zeros((nx, ny))
    alive = np.ones(n, dtype=np.bool_)
    stage = np.full(n, ACTIVE, dtype=np.int8)
    stage_h = np.zeros(n)
    cell_type = np.full(n, OSTEOCLAST, dtype=np.int8)
    lifespan_h = np.full(n, np.nan)
    rng = np.random.default_rng(5)
    hour = 0
    while alive.any():
        was_alive = alive.copy()
        kernels.osteoclast_fates(
            rng.random(n), OSTEOCLAST, alive, cell_type, stage, stage_h, x, y, occupant,
            tissue, zeros, zeros, 0.0, 0.0, 1.0, 1.0,
            stages / mean_h, stages, 0.0, 1.0, 1.0, False, n,
        )
        hour += 1
        lifespan_h[was_alive & ~alive] = hour
        stage_h[alive] += 1.0
    assert np.mean(lifespan_h) == pytest.approx(mean_h + 0.5, abs=4 * mean_h / 2 / n**0.5)
    assert np.std(lifespan_h) / np.mean(lifespan_h) == pytest.approx(1 / stages**0.5, abs=0.03)


@settings(max_examples=60, deadline=None)
@given(**lattices)
def test_resorb_matches_reference(seed, nx, ny, n_cells, periodic):
    a = bone_lattice(seed, nx, ny, n_cells)
    b = copy_state(a)
    n = len(a["alive"])
    order, first = a["rng"].permutation(n), a["rng"].integers(0, 4, n)

    def call(fn, s):
        return fn(
            order, first, OSTEOCLAST, s["alive"], s["cell_type"], s["stage"], s["x"], s["y"],
            s["occupant"], s["tissue"], s["mineral"], s["osteoid"], s["released"], 0.3, 7.0,
            periodic,
        )

    assert call(kernels.resorb, a) == pytest.approx(call(reference.resorb, b), rel=1e-12)
    assert_same(a, b)


@settings(max_examples=60, deadline=None)
@given(**lattices)
def test_osteoblast_fates_match_reference(seed, nx, ny, n_cells, periodic):
    a = bone_lattice(seed, nx, ny, n_cells)
    b = copy_state(a)
    n, rng = a["n"], a["rng"]
    order, u1, u2 = rng.permutation(n), rng.random(n), rng.random(n)
    first = rng.integers(0, 4, n)
    commitment_fold = rng.uniform(0.0, 3.0, n) if seed % 2 else np.zeros(0)
    apoptosis_fold = rng.uniform(0.1, 1.0, n) if seed % 3 else np.zeros(0)
    a["active_phase"] = rng.uniform(90.0, 110.0, len(a["stage_h"]))
    b["active_phase"] = a["active_phase"].copy()

    def call(fn, s):
        return fn(
            order, u1, u2, first, STROMAL, OSTEOBLAST, s["alive"], s["cell_type"], s["stage"],
            s["stage_h"], s["x"], s["y"], s["age_h"], s["cell_id"], s["mother"], s["occupant"],
            s["tissue"], s["tgfb"], s["vegf"], s["osteogenic"], 0.5, commitment_fold, 0.7, 0.1,
            0.4, 0.3, 2.0,
            1.5, 1.0, 0.5, 100.0, apoptosis_fold, s["active_phase"], 0.3, 1.0, periodic, s["n"],
        )

    assert call(kernels.osteoblast_fates, a) == call(reference.osteoblast_fates, b)
    assert_same(a, b)
    np.testing.assert_array_equal(a["active_phase"], b["active_phase"])


@settings(max_examples=60, deadline=None)
@given(**lattices)
def test_form_bone_matches_reference(seed, nx, ny, n_cells, periodic):
    a = bone_lattice(seed, nx, ny, n_cells)
    b = copy_state(a)
    n, rng = len(a["alive"]), a["rng"]
    order, u_move, u_direction = rng.permutation(n), rng.random(n), rng.random(n)
    first = rng.integers(0, 4, n)

    def call(fn, s):
        return fn(
            order, u_move, u_direction, first, OSTEOBLAST, s["alive"], s["cell_type"],
            s["stage"], s["x"], s["y"], s["occupant"], s["tissue"], s["mineral"], s["osteoid"],
            s["tgfb"], 0.35, 0.2, 0.8, 3.0, 0.5, periodic,
        )

    formed, buried = call(kernels.form_bone, a)
    want_formed, want_buried = call(reference.form_bone, b)
    assert formed == pytest.approx(want_formed, rel=1e-12) and buried == want_buried
    assert_same(a, b)
    assert np.all(a["mineral"] + a["osteoid"] <= 1.0 + 1e-12)


def tissue_layers(seed, nx, ny, classified):
    """Mineral, osteoid and vessel-lumen fractions with voxels exactly at the thresholds, and a
    tissue map: the layers' own classification when ``classified``, else random codes."""
    rng = np.random.default_rng(seed)
    mineral = rng.choice([0.0, 0.2, 0.3, 0.5, 0.7, 1.0], (nx, ny)) * rng.random((nx, ny)) ** 0.1
    mineral[rng.random((nx, ny)) < 0.2] = MINERALIZED_FRACTION
    osteoid = np.where(rng.random((nx, ny)) < 0.4, (1.0 - mineral) * rng.random((nx, ny)), 0.0)
    vessel = rng.choice([0.0, LUMEN_FRACTION, 1.0, 0.3], (nx, ny), p=[0.7, 0.1, 0.1, 0.1])
    tissue = rng.integers(0, 3, (nx, ny)).astype(np.int8)
    if classified:
        reference.classify_tissue(
            mineral, osteoid, vessel, tissue, MINERALIZED_FRACTION, LUMEN_FRACTION
        )
    return mineral, osteoid, vessel, tissue


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), nx=st.integers(1, 12), ny=st.integers(1, 12),
       classified=st.booleans(), fraction=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_mineralize_and_classify_tissue_match_reference(seed, nx, ny, classified, fraction):
    layers = tissue_layers(seed, nx, ny, classified)
    for kernel, ref, args in (
        (kernels.classify_tissue, reference.classify_tissue, ()),
        (kernels.mineralize, reference.mineralize, (fraction,)),
    ):
        a = tuple(layer.copy() for layer in layers)
        b = tuple(layer.copy() for layer in layers)
        changed = kernel(*a, *args, MINERALIZED_FRACTION, LUMEN_FRACTION)
        assert changed == ref(*b, *args, MINERALIZED_FRACTION, LUMEN_FRACTION)
        for got, want in zip(a, b, strict=True):
            np.testing.assert_array_equal(got, want)
        if classified and not args:
            assert not changed


def test_mineralize_conserves_matrix():
    mineral, osteoid, vessel, tissue = tissue_layers(3, 7, 5, classified=True)
    total = mineral + osteoid
    kernels.mineralize(mineral, osteoid, vessel, tissue, 0.1, MINERALIZED_FRACTION, LUMEN_FRACTION)
    np.testing.assert_allclose(mineral + osteoid, total, rtol=1e-14)


# --------------------------------------------------------------------------- the unit rules


def single_cell(stage, cell_type, *, bone_below=True, shape=(5, 5)):
    """One cell at the centre of a small closed lattice, bone in the row below it."""
    nx, ny = shape
    mineral, osteoid = np.zeros(shape), np.zeros(shape)
    if bone_below:
        mineral[:, 0:2] = 1.0
    tissue = tissue_map(mineral)
    occupant = np.full(shape, -1, dtype=np.int32)
    occupant[2, 2] = 0
    return dict(
        alive=np.array([True, False]), cell_type=np.array([cell_type, -1], dtype=np.int8),
        stage=np.array([stage, 0], dtype=np.int8), stage_h=np.zeros(2), active_phase=np.zeros(2),
        x=np.array([2, 0], dtype=np.int32), y=np.array([2, 0], dtype=np.int32),
        occupant=occupant, tissue=tissue, mineral=mineral, osteoid=osteoid,
        released=np.zeros(shape), tgfb=np.zeros(shape),
    )


def test_an_osteoclast_removes_its_rate_of_mineral_and_releases_tgfb():
    """An active osteoclast next to bone: 4.7 µm/day across a 10 µm voxel face = 0.47 voxel
    per day, mineral first, with TGF-β ∝ the mineral removed; the cell follows the front."""
    s = single_cell(ACTIVE, OSTEOCLAST)
    s["x"][0], s["y"][0] = 2, 2
    s["occupant"][2, 2] = 0
    per_step = 4.7 / 24 / 10
    before = s["mineral"].sum()
    total = 0.0
    for _ in range(24):
        total += kernels.resorb(
            np.array([0, 1]), np.array([3, 0]), OSTEOCLAST, s["alive"], s["cell_type"],
            s["stage"], s["x"], s["y"], s["occupant"], s["tissue"], s["mineral"], s["osteoid"],
            s["released"], per_step, 5.0, False,
        )
        s["tissue"][...] = tissue_map(s["mineral"])
    assert total == pytest.approx(0.47, rel=1e-12)
    assert before - s["mineral"].sum() == pytest.approx(0.47, rel=1e-12)
    assert s["released"].sum() == pytest.approx(5.0 * 0.47, rel=1e-12)


def test_an_osteoblast_lays_its_apposition_rate_and_steps_back_when_full():
    """0.63 µm/day on a 10 µm voxel: a voxel fills in 10/0.63 = 15.9 days, then the cell steps
    back onto the free voxel behind it (no burial) and goes on forming there."""
    s = single_cell(ACTIVE, OSTEOBLAST)
    per_step = 0.63 / 24 / 10
    steps_to_fill = int(np.ceil(1.0 / per_step))
    formed = 0.0
    for _ in range(steps_to_fill):
        laid, buried = kernels.form_bone(
            np.array([0, 1]), np.array([0.5, 0.5]), np.zeros(2), np.array([2, 0]), OSTEOBLAST,
            s["alive"], s["cell_type"], s["stage"], s["x"], s["y"], s["occupant"], s["tissue"],
            s["mineral"], s["osteoid"], s["tgfb"], per_step, 0.0, 0.0, 0.0, 1.0, False,
        )
        formed += laid
        assert buried == 0
    assert formed == pytest.approx(1.0, rel=1e-12)
    assert s["osteoid"][2, 2] == pytest.approx(1.0, rel=1e-12)
    assert (s["x"][0], s["y"][0]) == (2, 3) and s["occupant"][2, 3] == 0  # stepped back (+y)


def test_a_crowded_osteoblast_waits_in_its_filled_voxel_and_a_walled_in_one_is_buried():
    """A filled voxel whose marrow neighbours all hold cells: the osteoblast waits there (lattice
    crowding makes no osteocyte), the burial draw is taken only on the step the voxel fills,
    and it steps back once a neighbour frees. With no marrow neighbour left it is buried."""
    per_step = 0.63 / 24 / 10

    def step(s, burial_probability):
        return kernels.form_bone(
            np.array([0, 1]), np.array([0.5, 0.5]), np.zeros(2), np.array([2, 0]), OSTEOBLAST,
            s["alive"], s["cell_type"], s["stage"], s["x"], s["y"], s["occupant"], s["tissue"],
            s["mineral"], s["osteoid"], s["tgfb"], per_step, burial_probability, 0.0, 0.0, 1.0,
            False,
        )

    s = single_cell(ACTIVE, OSTEOBLAST)
    s["osteoid"][2, 2] = 1.0 - per_step / 2  # fills this step
    for voxel in ((1, 2), (3, 2), (2, 3)):
        s["occupant"][voxel] = 1  # other cells hold the marrow neighbours
    assert step(s, 0.0)[1] == 0 and s["alive"][0] and (s["x"][0], s["y"][0]) == (2, 2)
    assert step(s, 0.9)[1] == 0 and s["alive"][0]  # u = 0.5 < 0.9, but no new draw
    s["occupant"][2, 3] = -1
    step(s, 0.9)
    assert (s["x"][0], s["y"][0]) == (2, 3) and s["occupant"][2, 3] == 0

    s = single_cell(ACTIVE, OSTEOBLAST)
    s["osteoid"][2, 2] = 1.0 - per_step / 2
    assert step(s, 0.9)[1] == 1 and not s["alive"][0]  # buried on the filling step's draw

    s = single_cell(ACTIVE, OSTEOBLAST)
    s["osteoid"][2, 2] = 1.0 - per_step / 2
    for voxel in ((1, 2), (3, 2), (2, 3)):
        s["mineral"][voxel] = 1.0
    s["tissue"][...] = tissue_map(s["mineral"])
    assert step(s, 0.0)[1] == 1 and not s["alive"][0] and s["occupant"][2, 2] == -1


def test_stage_transitions_of_the_osteoblast_lineage():
    """Certain events (probability 1 rates): a precursor on bone activates without TGF-β and
    not with saturating TGF-β repression; an active cell past its period becomes lining (u <
    lining fraction) or dies."""

    def fates(s, u_fate, u_activate, period_h, lining_fraction, apoptosis_fold=NO_FOLD):
        return kernels.osteoblast_fates(
            np.array([0, 1]), np.array([u_fate, 1.0]), np.array([u_activate, 1.0]),
            np.array([0, 0]), STROMAL, OSTEOBLAST, s["alive"], s["cell_type"], s["stage"],
            s["stage_h"], s["x"], s["y"], np.zeros(2), np.full(2, -1), np.full(2, -1),
            s["occupant"], s["tissue"], s["tgfb"], np.zeros((5, 5)), np.zeros((5, 5)), 0.0,
            np.zeros(0), 1.0, 0.0, 1e9, 1.0, 0.0, 1.0, 0.0, 1.0, period_h, apoptosis_fold,
            s["active_phase"], lining_fraction, 1.0, False, 1,
        )

    s = single_cell(PRECURSOR, OSTEOBLAST)
    assert fates(s, 0.9, 0.5, 10.0, 0.3) == (1, 1) and s["stage"][0] == ACTIVE
    assert s["active_phase"][0] == 1.0  # its programme runs from the activation step
    s = single_cell(PRECURSOR, OSTEOBLAST)
    s["tgfb"][...] = 1e12  # repression K/(K + TGF-β) ≈ 1e-12
    assert fates(s, 0.9, 0.5, 10.0, 0.3) == (1, 0) and s["stage"][0] == PRECURSOR
    s = single_cell(ACTIVE, OSTEOBLAST)
    s["active_phase"][0] = 10.0  # its programme has reached the 10 h period
    fates(s, 0.2, 1.0, 10.0, 0.3)
    assert s["stage"][0] == LINING and s["alive"][0]
    s = single_cell(ACTIVE, OSTEOBLAST)
    s["active_phase"][0] = 10.0
    fates(s, 0.4, 1.0, 10.0, 0.3)
    assert not s["alive"][0] and s["occupant"][2, 2] == -1
    s = single_cell(ACTIVE, OSTEOBLAST)  # VEGF survival: the programme runs at half pace
    s["active_phase"][0] = 9.0
    fates(s, 0.4, 1.0, 10.0, 0.3, apoptosis_fold=np.array([0.5, 1.0]))
    assert s["stage"][0] == ACTIVE and s["active_phase"][0] == 9.5
