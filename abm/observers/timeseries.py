"""The time series: one row of whole-section readouts per recording interval."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.cells.table import CELL_TYPE_CODE, STAGES
from abm.fields.stack import MARROW, VESSEL_LUMEN
from abm.processes.angiogenesis import TIP, endothelium, grown_endothelium
from abm.scenario.schema import BONE_LAYER, CELL_TYPES, OSTEOID_LAYER, VESSEL_LAYER
from abm.vessels.morphometry import (
    in_plane_vessel_length_density_mm_per_mm2,
    microvessel_density_per_mm2,
    po2_histogram,
)

if TYPE_CHECKING:
    from abm.model import MarrowModel


LINEAGE_STAGES: dict[str, tuple[str, ...]] = {
    "osteoclast": ("precursor", "active"),
    "osteoblast": ("precursor", "active", "lining"),
}
"""Stages counted separately in the time series."""


def readouts(model: MarrowModel) -> dict[str, float | int]:
    """Whole-section readouts now: time, living cells per type (and per lineage stage), field
    mean/min/max, BV/TV, osteoid and vessel area fractions, and each process's own readouts
    (cumulative resorption, formation, ...).

    Column names carry units: ``time_h``, ``n_<cell type>`` (cells), ``<field>_mean`` etc. in the
    field's scenario unit, ``bone_volume_fraction`` (BV/TV: mineral + osteoid, 0–1),
    ``microvessel_density_per_mm2`` (vessel profiles per mm² of section,
    :func:`abm.vessels.morphometry.microvessel_density_per_mm2`),
    ``hypoxic_marrow_fraction`` (marrow voxels whose pO2 is below the HIF half-maximum), the
    marrow pO2 histogram (``marrow_pO2_fraction_<lo>_<hi>_mmHg``), ``perfused_vessel_fraction``
    (endothelial voxels that carry flow) and ``vessel_length_density_mm_per_mm2`` (vessel grown
    in the section's plane).
    """
    row: dict[str, float | int] = {
        "step": model.steps,
        "time_h": model.time_h,
        "time_d": model.time_h / 24.0,
    }
    counts = model.cells.count_by_type()
    for code, name in enumerate(CELL_TYPES):
        row[f"n_{name}"] = int(counts[code])
    table = model.cells
    alive, cell_type, stage = table["alive"], table["cell_type"], table["stage"]
    for name, stages in LINEAGE_STAGES.items():
        of_type = alive & (cell_type == CELL_TYPE_CODE[name])
        for stage_name in stages:
            row[f"n_{name}_{stage_name}"] = int(
                np.count_nonzero(of_type & (stage == STAGES.index(stage_name)))
            )
    for name in model.fields.names:
        data = model.fields[name]
        if name == BONE_LAYER:
            row["bone_volume_fraction"] = float(data.mean() + model.fields[OSTEOID_LAYER].mean())
            row["mineral_volume_fraction"] = float(data.mean())
        elif name == OSTEOID_LAYER:
            row["osteoid_volume_fraction"] = float(data.mean())
        elif name == VESSEL_LAYER:
            row["vessel_area_fraction"] = float(data.mean())
        else:
            row[f"{name}_mean"] = float(data.mean())
            row[f"{name}_min"] = float(data.min())
            row[f"{name}_max"] = float(data.max())
    marrow_pO2_mmHg = model.fields["oxygen"][model.fields.tissue == MARROW]
    hif_half_maximal = model.config.hypoxia.hif_half_maximal_pO2_mmHg
    row["hypoxic_marrow_fraction"] = (
        float(np.mean(marrow_pO2_mmHg < hif_half_maximal)) if marrow_pO2_mmHg.size else 0.0
    )
    row.update(po2_histogram(marrow_pO2_mmHg))
    row.update(_endothelium_readouts(model))
    for process in model.processes():
        if hasattr(process, "readouts"):
            row.update(process.readouts())
    return row


def _endothelium_readouts(model: MarrowModel) -> dict[str, float | int]:
    """Microvessel density (of endothelium, perfused or not, as CD34 staining shows it; see
    :mod:`abm.vessels.morphometry`), tips, grown endothelium, perfused fraction and in-plane
    length of the vessels."""
    table, domain = model.cells, model.config.domain
    lining, grown = endothelium(table), grown_endothelium(table)
    n_grown = int(np.count_nonzero(grown))
    n_endothelium = int(np.count_nonzero(lining))
    perfused = np.count_nonzero(
        model.fields.tissue[table["x"][lining], table["y"][lining]] == VESSEL_LUMEN
    )
    area_mm2 = domain.size_um[0] * domain.size_um[1] * 1e-6
    crossing = np.zeros(domain.shape, dtype=bool)  # the initial network's endothelium
    initial = lining & ~grown
    crossing[table["x"][initial], table["y"][initial]] = True
    return {
        "microvessel_density_per_mm2": microvessel_density_per_mm2(
            crossing, n_grown, domain.voxel_um, domain.boundary == "periodic"
        ),
        "n_endothelial_tips": int(np.count_nonzero(lining & table[TIP])),
        "n_grown_endothelial_cells": n_grown,
        "perfused_vessel_fraction": perfused / n_endothelium if n_endothelium else 0.0,
        "vessel_length_density_mm_per_mm2": in_plane_vessel_length_density_mm_per_mm2(
            n_grown, domain.voxel_um, area_mm2
        ),
    }


class TimeSeriesRecorder:
    """Collect a :func:`readouts` row every ``every_steps`` steps (and at step 0)."""

    name = "timeseries"

    def __init__(self, every_steps: int):
        self.every_steps = every_steps
        self.columns: dict[str, list] = {}

    def record(self, model: MarrowModel) -> None:
        """Append the current readouts as a row."""
        row = readouts(model)
        if not self.columns:
            self.columns = {key: [] for key in row}
        for key, value in row.items():
            self.columns[key].append(value)

    def backfill(self, row: dict[str, float | int]) -> None:
        """Add the columns of ``row`` that the rows so far lack, each filled with its value in
        ``row``. A treatment arm branched from an untreated run adds its drug levels and
        counters, all zero at the branch point and before it."""
        n_rows = len(next(iter(self.columns.values()), []))
        for key, value in row.items():
            self.columns.setdefault(key, [value] * n_rows)

    def step(self, model: MarrowModel) -> None:
        """Record when the step is a multiple of the interval."""
        if model.steps % self.every_steps == 0:
            self.record(model)

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The rows so far as one array per column."""
        return {key: np.asarray(values) for key, values in self.columns.items()}

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Rows recorded so far (restored on resume so the table is written whole)."""
        return self.as_arrays()

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore rows from :meth:`state_arrays`."""
        self.columns = {key: value.tolist() for key, value in arrays.items()}
