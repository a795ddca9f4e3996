"""The metrics table: regions near and far from the clone add up to the whole section."""

from __future__ import annotations

import csv
import math

import pytest

from analysis.report import REGIONS, snapshot_table, write_table
from analysis.runs import Run


def test_near_and_far_split_the_section(synthetic_run):
    run = Run.open(synthetic_run(seed=2))
    # one plasma cell: with a 1 % threshold its 100 µm disc (317 voxels) is near
    table = snapshot_table(run, -1, radius_um=100.0, min_plasma_fraction=0.001)
    area = table["area_mm2"]
    assert area["near_foci"] == pytest.approx(317 * 1e-4)
    assert area["near_foci"] + area["far_from_foci"] == pytest.approx(area["whole"])
    assert table["n_plasma_cell"] == {"whole": 1, "near_foci": 1, "far_from_foci": 0}
    assert table["n_endothelial_cell"]["whole"] == 100  # the 10 × 10 vessel block
    assert table["bone_volume_fraction"]["whole"] == pytest.approx(8 / 40)
    # the time-series row at the snapshot's step 48 (day 2): serum VEGF = seed × 100 + day
    assert table["timeseries_serum_vegf_pg_per_mL"]["whole"] == 202.0
    assert math.isnan(table["timeseries_serum_vegf_pg_per_mL"]["near_foci"])


def test_csv_has_a_row_per_readout(synthetic_run, tmp_path):
    run = Run.open(synthetic_run())
    path = write_table(run, tmp_path / "m.csv")
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["readout", *REGIONS]
    values = {row[0]: row[1:] for row in rows[1:]}
    # the 8-voxel bone band: an even band of w voxels measures w − 1 (abm.bone.morphometry)
    assert values["trabecular_thickness_um"][0] == "70"


def test_snapshot_readouts_agree_with_the_models_time_series(cli_run):
    """On a real run, the whole-section snapshot readouts equal what the model recorded."""
    _, out, result = cli_run
    assert result.returncode == 0, result.stderr
    table = snapshot_table(Run.open(out), -1)
    for name in ("microvessel_density_per_mm2", "perfused_vessel_fraction",
                 "bone_volume_fraction", "hypoxic_marrow_fraction"):
        assert table[name]["whole"] == pytest.approx(table[f"timeseries_{name}"]["whole"]), name
    run = Run.open(out)
    row = list(run.timeseries["step"]).index(int(run.snapshots.steps()[-1]))
    for cell_type in ("plasma_cell", "stromal_cell", "endothelial_cell"):
        assert table[f"n_{cell_type}"]["whole"] == run.timeseries[f"n_{cell_type}"][row]
