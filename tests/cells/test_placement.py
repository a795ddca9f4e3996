"""Initial placement: uniform, foci and bone-surface placements, and impossible requests."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from abm.bone.geometry import MINERALIZED_FRACTION
from abm.cells.placement import PlacementError
from abm.cells.table import CELL_TYPE_CODE, EMPTY
from abm.model import MarrowModel
from tests.conftest import deep_merge

NX = NY = 30


@pytest.fixture
def write_scenario(write_scenario):
    """The shared factory with vessels switched off: these tests count free marrow voxels."""

    def write(changes=None, **kwargs):
        no_vessels = {"domain": {"vessels": {"kind": "none"}}}
        return write_scenario(deep_merge(no_vessels, changes or {}), **kwargs)

    return write


def only(cell_type, count, placement, **extra):
    """Cell changes placing ``count`` cells of one type and none of the others."""
    cells = {name: {"initial_count": 0} for name in ("plasma_cell", "stromal_cell")}
    cells[cell_type] = {"initial_count": count, "placement": placement, **extra}
    return {"cells": cells}


def positions(model, cell_type):
    table = model.cells
    mask = table["alive"] & (table["cell_type"] == CELL_TYPE_CODE[cell_type])
    return table["x"][mask].astype(int), table["y"][mask].astype(int)


def covered_by_discs(xs, ys, k, radius_vox, periodic, shape=(NX, NY)):
    """Whether some ``k`` voxel centres put every (x, y) within ``radius_vox`` of a centre."""
    nx, ny = shape
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    dx = np.abs(gx.ravel()[:, None] - xs[None, :])
    dy = np.abs(gy.ravel()[:, None] - ys[None, :])
    if periodic:
        dx, dy = np.minimum(dx, nx - dx), np.minimum(dy, ny - dy)
    inside = dx**2 + dy**2 <= radius_vox**2  # [centre, point]
    # each centre's covered points as a bit mask
    masks = [int("".join("1" if b else "0" for b in row[::-1]) or "0", 2) for row in inside]
    everything = (1 << len(xs)) - 1

    def cover(covered, k_left):
        if covered == everything:
            return True
        if k_left == 0:
            return False
        first = (~covered & everything) & -(~covered & everything)  # lowest uncovered point
        # some centre must cover that point: try each of them
        return any(cover(covered | m, k_left - 1) for m in set(masks) if m & first)

    return cover(0, k)


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
def test_uniform_placement_counts_and_free_voxels(write_scenario, boundary):
    model = MarrowModel.from_scenario(write_scenario({"domain": {"boundary": boundary}}))
    table = model.cells
    np.testing.assert_array_equal(table.count_by_type(), [150, 100, 0, 0, 0])
    assert table.n_slots == 250
    # cell-type-code order: plasma cells first
    assert np.all(table["cell_type"][:150] == 0) and np.all(table["cell_type"][150:] == 1)
    assert len(set(zip(table["x"].tolist(), table["y"].tolist(), strict=True))) == 250
    assert int((table.occupant != EMPTY).sum()) == 250


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
@pytest.mark.parametrize("n_foci", [1, 3])
def test_foci_placement_stays_within_the_radius_of_the_centres(write_scenario, boundary, n_foci):
    radius_um = 40.0  # 4 voxels: a disc of 49 voxels
    path = write_scenario(
        {"domain": {"boundary": boundary}}
        | only("plasma_cell", 30 * n_foci, {"kind": "foci", "n_foci": n_foci,
                                            "radius_um": radius_um})
    )
    for seed in (1, 2, 3):
        model = MarrowModel.from_scenario(path, [f"seed={seed}"])
        xs, ys = positions(model, "plasma_cell")
        assert len(xs) == 30 * n_foci
        periodic = boundary == "periodic"
        assert covered_by_discs(xs, ys, n_foci, radius_um / 10.0, periodic)
        if n_foci == 1:
            # a single cluster: no two cells further apart than the disc's diameter
            dx = np.abs(xs[:, None] - xs[None, :])
            dy = np.abs(ys[:, None] - ys[None, :])
            if periodic:
                dx, dy = np.minimum(dx, NX - dx), np.minimum(dy, NY - dy)
            assert np.sqrt(dx**2 + dy**2).max() <= 2 * radius_um / 10.0
            # and with 30 of 49 voxels taken it is not covered by a disc of half the radius
            assert not covered_by_discs(xs, ys, 1, radius_um / 20.0, periodic)


def test_foci_settle_among_the_resident_cells_rather_than_displacing_them(write_scenario):
    """Types placed in foci go last: a uniform stromal network keeps its density under a focus.
    (Placed first, 20 plasma cells would leave the stromal cells 29 of a disc's 49 voxels, a
    density of ~0.6 of that elsewhere.)"""
    radius_vox = 4.0
    changes = only("plasma_cell", 20, {"kind": "foci", "n_foci": 1, "radius_um": 10 * radius_vox})
    changes["cells"]["stromal_cell"] = {"initial_count": 300, "placement": {"kind": "uniform"}}
    path = write_scenario({"domain": {"boundary": "closed"}} | changes)
    gx, gy = np.meshgrid(np.arange(NX), np.arange(NY), indexing="ij")
    inside_cells = inside_voxels = outside_cells = outside_voxels = 0
    for seed in range(1, 11):
        model = MarrowModel.from_scenario(path, [f"seed={seed}"])
        px, py = positions(model, "plasma_cell")
        disc = (gx - px.mean()) ** 2 + (gy - py.mean()) ** 2 <= radius_vox**2
        stromal = np.zeros((NX, NY), dtype=bool)
        stromal[positions(model, "stromal_cell")] = True
        inside_cells += int(stromal[disc].sum())
        inside_voxels += int(disc.sum())
        outside_cells += int(stromal[~disc].sum())
        outside_voxels += int((~disc).sum())
    ratio = (inside_cells / inside_voxels) / (outside_cells / outside_voxels)
    assert ratio > 0.8, ratio


def test_foci_placement_too_many_cells_for_the_discs_raises(write_scenario):
    path = write_scenario(
        only("plasma_cell", 50, {"kind": "foci", "n_foci": 1, "radius_um": 30.0})
    )  # a disc of radius 3 voxels holds 29 voxels
    with pytest.raises(PlacementError) as info:
        MarrowModel.from_scenario(path)
    assert info.value.key_path == "cells.plasma_cell.initial_count"
    assert "50" in str(info.value)


def bone_file(tmp_path, rows=range(10, 14), name="bone.npy", shape=(NX, NY)):
    """A mineral slab across x at the given y rows (fraction 1), plus sub-threshold mineral."""
    mineral = np.zeros(shape)
    mineral[:, list(rows)] = 1.0
    mineral[5, 20] = MINERALIZED_FRACTION - 0.01  # marrow, not bone
    mineral[6, 20] = MINERALIZED_FRACTION  # a lone bone voxel
    path = tmp_path / name
    np.save(path, mineral)
    return path, mineral


def surface_voxels(mineral, periodic):
    """Marrow voxels 4-adjacent to bone, by brute force."""
    bone = mineral >= MINERALIZED_FRACTION
    nx, ny = bone.shape
    out = set()
    for x, y in itertools.product(range(nx), range(ny)):
        if bone[x, y]:
            continue
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            tx, ty = x + dx, y + dy
            if periodic:
                tx, ty = tx % nx, ty % ny
            elif not (0 <= tx < nx and 0 <= ty < ny):
                continue
            if bone[tx, ty]:
                out.add((x, y))
    return out


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
@pytest.mark.parametrize("rows", [range(10, 14), range(0, 3)])
def test_bone_surface_placement(write_scenario, tmp_path, boundary, rows):
    path_npy, mineral = bone_file(tmp_path, rows)
    surface = surface_voxels(mineral, boundary == "periodic")
    scenario = write_scenario(
        {"domain": {"boundary": boundary, "initial_bone": {"kind": "file", "path": str(path_npy)}}}
        | only("osteoblast", len(surface), {"kind": "bone_surface"})
    )
    # a slab at the closed edge y = 0 has one surface row; periodic wraps to y = 29 as well
    if rows == range(0, 3):
        assert len(surface) == (2 * NX if boundary == "periodic" else NX) + 4
    model = MarrowModel.from_scenario(scenario)
    np.testing.assert_array_equal(model.fields["bone_mineral"], mineral)
    xs, ys = positions(model, "osteoblast")
    # exactly as many surface voxels as cells: every one is filled, nothing else
    assert set(zip(xs.tolist(), ys.tolist(), strict=True)) == surface
    # one more cell than surface voxels is impossible
    with pytest.raises(PlacementError) as info:
        MarrowModel.from_scenario(scenario, [f"cells.osteoblast.initial_count={len(surface) + 1}"])
    assert info.value.key_path == "cells.osteoblast.initial_count"


def test_bone_surface_placement_subset_and_no_cells_on_bone(write_scenario, tmp_path):
    path_npy, mineral = bone_file(tmp_path)
    scenario = write_scenario(
        {"domain": {"initial_bone": {"kind": "file", "path": str(path_npy)}},
         "cells": {"osteoclast": {"initial_count": 20, "placement": {"kind": "bone_surface"}}}}
    )
    surface = surface_voxels(mineral, periodic=True)
    for seed in range(4):
        model = MarrowModel.from_scenario(scenario, [f"seed={seed}"])
        xs, ys = positions(model, "osteoclast")
        assert len(xs) == 20
        assert set(zip(xs.tolist(), ys.tolist(), strict=True)) <= surface
        table = model.cells
        assert np.all(mineral[table["x"], table["y"]] < MINERALIZED_FRACTION)
        np.testing.assert_array_equal(table.count_by_type(), [150, 100, 0, 20, 0])
        # cells never enter bone while the model runs (osteoclasts resorb it: compare with the
        # matrix as it is now)
        model.run_for(24)
        alive = table["alive"]
        matrix = model.fields["bone_mineral"] + model.fields["osteoid"]
        assert matrix.sum() < mineral.sum()  # the active osteoclasts resorbed
        assert np.all(matrix[table["x"][alive], table["y"][alive]] < MINERALIZED_FRACTION)


@pytest.mark.parametrize(
    ("cell_type", "count", "others"),
    [
        ("plasma_cell", 901, ["cells.stromal_cell.initial_count=0"]),
        # 900 voxels; with 150 plasma cells placed first, 750 remain for stromal cells
        ("stromal_cell", 751, []),
    ],
)
def test_more_cells_than_voxels_raises_placement_error(write_scenario, cell_type, count, others):
    path = write_scenario()
    with pytest.raises(PlacementError) as info:
        MarrowModel.from_scenario(path, [*others, f"cells.{cell_type}.initial_count={count}"])
    assert info.value.key_path == f"cells.{cell_type}.initial_count"
    assert isinstance(info.value, ValueError)
    # exactly filling the lattice works
    model = MarrowModel.from_scenario(
        path, [*others, f"cells.{cell_type}.initial_count={count - 1}"]
    )
    assert int((model.cells.occupant != EMPTY).sum()) == 900


def test_cover_check_rejects_a_uniform_placement(write_scenario):
    """The disc-cover check used above is not vacuous: uniform cells fail it."""
    model = MarrowModel.from_scenario(write_scenario(only("plasma_cell", 90, {"kind": "uniform"})))
    xs, ys = positions(model, "plasma_cell")
    assert not covered_by_discs(xs, ys, 3, 4.0, periodic=True)
    assert covered_by_discs(np.array([0, 29, 3]), np.array([0, 29, 0]), 1, 4.0, periodic=True)
    assert not covered_by_discs(np.array([0, 29, 3]), np.array([0, 29, 0]), 1, 4.0, False)
