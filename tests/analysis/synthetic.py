"""Tiny synthetic run directories written with the ``abm.io`` writers, with known contents."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abm.io.rundir import RunDirectory
from analysis.metrics import CELL_TYPE_CODE, NO_CELL

NX, NY = 40, 30
"""Lattice of the synthetic runs (voxels of 10 µm)."""
SNAPSHOT_STEPS = (0, 24, 48)
VESSEL = (slice(20, 30), slice(5, 15))
"""Vessel-lumen block [x, y] of every snapshot."""
BONE = (slice(0, 8), slice(None))
"""Bone band [x, y] of every snapshot."""
PLASMA_CELL_XY = (35, 25)
VEGF_PER_SNAPSHOT = 100.0
"""Uniform VEGF of snapshot k: k × this × the run's ``vegf_scale`` (pg/mL)."""


def synthetic_layers(k: int, vegf_scale: float) -> dict[str, np.ndarray]:
    """Snapshot ``k`` of a synthetic run."""
    mineral = np.zeros((NX, NY))
    mineral[BONE] = 1.0
    lumen = np.zeros((NX, NY))
    lumen[VESSEL] = 1.0
    cells = np.full((NX, NY), NO_CELL, dtype=np.int8)
    cells[VESSEL] = CELL_TYPE_CODE["endothelial_cell"]
    cells[PLASMA_CELL_XY] = CELL_TYPE_CODE["plasma_cell"]
    return {
        "oxygen": np.full((NX, NY), 20.0),
        "vegf": np.full((NX, NY), k * VEGF_PER_SNAPSHOT * vegf_scale),
        "bone_mineral": mineral,
        "osteoid": np.zeros((NX, NY)),
        "vessel_lumen": lumen,
        "cell_type_map": cells,
    }


def write_synthetic_run(
    path: Path, *, seed: int = 1, vegf_scale: float = 1.0, scenario_source: str = "arm.yaml",
    description: str = "synthetic", snapshots: bool = True,
) -> Path:
    """A run directory with a manifest, 5 daily time-series rows (serum VEGF = seed × 100 +
    day, BV/TV 0.2) and, if ``snapshots``, the three snapshots of :func:`synthetic_layers`."""
    run = RunDirectory.create(path)
    scenario = {
        "description": description,
        "seed": seed,
        "domain": {"voxel_um": 10.0, "boundary": "periodic"},
        "time": {"step_h": 1.0},
        "hypoxia": {"hif_half_maximal_pO2_mmHg": 10.0},
        "fields": {"oxygen": {"unit": "mmHg"}, "vegf": {"unit": "pg/mL"}},
    }
    run.write_manifest({"format_version": 1, "status": "completed", "seed": seed,
                        "step_h": 1.0, "voxel_um": 10.0, "scenario_source": scenario_source,
                        "scenario": scenario})
    days = np.arange(5, dtype=np.float64)
    run.write_timeseries({
        "step": (24 * days).astype(np.int64), "time_h": 24 * days, "time_d": days,
        "n_plasma_cell": np.full(5, 1, dtype=np.int64),
        "bone_volume_fraction": np.full(5, 0.2),
        "serum_vegf_pg_per_mL": seed * 100.0 + days,
        "microvessel_density_per_mm2": np.full(5, 50.0),
    })
    if snapshots:
        layers = synthetic_layers(0, vegf_scale)
        store = run.create_snapshots((NX, NY), {name: a.dtype for name, a in layers.items()})
        for k, step in enumerate(SNAPSHOT_STEPS):
            store.append(step, synthetic_layers(k, vegf_scale))
    return path
