"""The metrics table of a run: snapshot readouts for the whole section, near the clone's foci and
far from them (:mod:`analysis.metrics`), beside the whole-section and serum readouts the model
recorded in its time series. Written by ``abm plot`` as ``metrics_<run>.csv``."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from analysis import metrics
from analysis.runs import Run

REGIONS = ("whole", "near_foci", "far_from_foci")
"""Columns of the table: the whole section, voxels near a clonal focus, the rest."""

SNAPSHOT_LAYERS = ("bone_mineral", "osteoid", "vessel_lumen", "oxygen", "cell_type_map")
"""Snapshot layers the readouts need."""


def snapshot_table(
    run: Run,
    index: int = -1,
    radius_um: float = metrics.FOCUS_RADIUS_UM,
    min_plasma_fraction: float = metrics.FOCUS_MIN_PLASMA_FRACTION,
) -> dict[str, dict[str, float]]:
    """``{readout: {region: value}}`` of snapshot ``index``: every
    :func:`analysis.metrics.region_readouts` readout per region of :data:`REGIONS` (near = the
    :func:`analysis.metrics.clone_focus_mask` with the given radius and plasma-cell fraction;
    MVD counts as the time series does, from the first snapshot's lumen),
    then the :data:`analysis.metrics.TIMESERIES_READOUTS` of the time-series row at the
    snapshot's step (whole section only; nan elsewhere)."""
    layers = run.layers(SNAPSHOT_LAYERS, index)
    near = metrics.clone_focus_mask(layers["cell_type_map"], run.voxel_um, run.periodic,
                                    radius_um, min_plasma_fraction)
    regions = {"whole": None, "near_foci": near, "far_from_foci": ~near}
    initial_lumen = run.layer("vessel_lumen", 0)
    by_region = {
        name: metrics.region_readouts(layers, run.voxel_um, run.hif_half_maximal_pO2_mmHg,
                                      run.periodic, region, initial_lumen)
        for name, region in regions.items()
    }
    table = {key: {name: by_region[name][key] for name in REGIONS} for key in by_region["whole"]}
    step = int(run.snapshots.steps()[index])
    rows = np.flatnonzero(run.timeseries["step"] == step) if "step" in run.timeseries else []
    if len(rows):
        for key, value in metrics.timeseries_readouts(run.timeseries, int(rows[0])).items():
            table[f"timeseries_{key}"] = {"whole": value, "near_foci": math.nan,
                                          "far_from_foci": math.nan}
    return table


def write_table(run: Run, out: Path, index: int = -1) -> Path:
    """Write :func:`snapshot_table` as CSV (a ``readout`` column, then one per region)."""
    table = snapshot_table(run, index)
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["readout", *REGIONS])
        for key, values in table.items():
            writer.writerow([key, *(f"{values[name]:.6g}" for name in REGIONS)])
    return out
