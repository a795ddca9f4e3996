"""Initial placement of cells on free marrow voxels, as each cell type's scenario entry says."""

from __future__ import annotations

import numpy as np

from abm.cells.table import CELL_TYPE_CODE, EMPTY, INITIAL_STAGE, PRECURSOR, CellTable
from abm.fields.stack import MARROW, MINERALIZED_BONE
from abm.scenario.schema import (
    BoneSurfacePlacement,
    CellType,
    FociPlacement,
    Scenario,
    UniformPlacement,
)


class PlacementError(ValueError):
    """The scenario asks for more cells than there are suitable voxels.

    Attributes:
        key_path: the scenario key to change, e.g. ``cells.plasma_cell.initial_count``.
    """

    def __init__(self, key_path: str, message: str):
        self.key_path = key_path
        super().__init__(message)


def place_initial_cells(
    table: CellTable, tissue: np.ndarray, scenario: Scenario, rng: np.random.Generator
) -> None:
    """Append every cell type's ``initial_count`` cells to ``table``: the resident types first,
    in cell-type-code order, then those placed in foci.

    A focus is an infiltrate: its cells settle on the marrow voxels the resident cells (the
    stromal network, the bone-surface cells) left free, so the osteoprogenitor pool
    under a clone has the density it has elsewhere instead of the fraction the clone spared.
    Cells go on free marrow voxels only (``tissue`` is the tissue map, see
    :attr:`abm.fields.stack.FieldStack.tissue`), in their :data:`~abm.cells.table.INITIAL_STAGE`.
    """
    cell_types = sorted(scenario.cells.items(),
                        key=lambda item: isinstance(item[1].placement, FociPlacement))
    for name, spec in cell_types:
        if spec.initial_count == 0:
            continue
        free = (table.occupant == EMPTY) & (tissue == MARROW)
        candidates = _candidates(free, tissue, spec, scenario, rng)
        flat = np.flatnonzero(candidates)
        if len(flat) < spec.initial_count:
            raise PlacementError(
                f"cells.{name}.initial_count",
                f"{spec.initial_count} cells requested but only {len(flat)} suitable free voxels"
                f" for placement {spec.placement.kind!r}",
            )
        chosen = np.sort(rng.choice(flat, size=spec.initial_count, replace=False))
        x, y = np.unravel_index(chosen, free.shape)
        codes = np.full(len(chosen), CELL_TYPE_CODE[name], dtype=np.int8)
        table.append(
            codes, x.astype(np.int32), y.astype(np.int32), INITIAL_STAGE.get(name, PRECURSOR)
        )


def _candidates(
    free: np.ndarray, tissue: np.ndarray, spec: CellType, scenario: Scenario,
    rng: np.random.Generator,
) -> np.ndarray:
    placement = spec.placement
    if isinstance(placement, UniformPlacement):
        return free
    if isinstance(placement, BoneSurfacePlacement):
        bone = tissue == MINERALIZED_BONE
        periodic = scenario.domain.boundary == "periodic"
        touching = np.zeros_like(bone)
        for axis in (0, 1):
            for shift in (1, -1):
                rolled = np.roll(bone, shift, axis=axis)
                if not periodic:  # nothing wraps around a closed edge
                    edge = [slice(None), slice(None)]
                    edge[axis] = 0 if shift == 1 else -1
                    rolled[tuple(edge)] = False
                touching |= rolled
        return free & touching
    if isinstance(placement, FociPlacement):
        return free & _foci_mask(free, placement, scenario, rng)
    raise TypeError(f"unhandled placement {placement!r}")


def _foci_mask(
    free: np.ndarray, placement: FociPlacement, scenario: Scenario, rng: np.random.Generator
) -> np.ndarray:
    """Voxels within ``radius_um`` of one of ``n_foci`` centres drawn uniformly on free marrow."""
    nx, ny = free.shape
    free_flat = np.flatnonzero(free)
    n = min(placement.n_foci, len(free_flat))
    centres = rng.choice(free_flat, size=n, replace=False)
    cx, cy = np.unravel_index(np.sort(centres), free.shape)
    radius_vox = placement.radius_um / scenario.domain.voxel_um
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    inside = np.zeros_like(free)
    for x0, y0 in zip(cx, cy, strict=True):
        dx, dy = np.abs(gx - x0), np.abs(gy - y0)
        if scenario.domain.boundary == "periodic":
            dx, dy = np.minimum(dx, nx - dx), np.minimum(dy, ny - dy)
        inside |= dx**2 + dy**2 <= radius_vox**2
    return inside
