"""Time-series readouts and the recorder observer."""

from __future__ import annotations

import numpy as np
import pytest

from abm.fields.stack import VESSEL_LUMEN
from abm.observers.timeseries import TimeSeriesRecorder, readouts
from abm.scenario import CELL_TYPES, FIELD_SPECIES
from abm.scenario.schema import FREE_RANKL_LAYER, VESSEL_LAYER


def test_readouts_of_the_initial_model(make_model):
    model = make_model()
    row = readouts(model)
    expected_keys = ["step", "time_h", "time_d", *(f"n_{n}" for n in CELL_TYPES)]
    expected_keys += [f"n_osteoclast_{stage}" for stage in ("precursor", "active")]
    expected_keys += [f"n_osteoblast_{stage}" for stage in ("precursor", "active", "lining")]
    for name in FIELD_SPECIES:
        expected_keys += [f"{name}_mean", f"{name}_min", f"{name}_max"]
    expected_keys += [
        "bone_volume_fraction", "mineral_volume_fraction", "osteoid_volume_fraction",
        "vessel_area_fraction",
    ]
    expected_keys += [f"{FREE_RANKL_LAYER}_{stat}" for stat in ("mean", "min", "max")]
    expected_keys += ["hypoxic_marrow_fraction"]
    expected_keys += [
        f"marrow_pO2_fraction_{lo}_{lo + 5}_mmHg" for lo in range(0, 30, 5)
    ]
    expected_keys += [
        "microvessel_density_per_mm2", "n_endothelial_tips", "n_grown_endothelial_cells",
        "perfused_vessel_fraction", "vessel_length_density_mm_per_mm2",
    ]
    expected_keys += [
        "plasma_vegf_pg_per_mL", "plasma_il6_pg_per_mL", "plasma_il1b_pg_per_mL",
        "serum_vegf_pg_per_mL", "crp_mg_per_L", "platelets_per_nL", "capillary_leak_index",
        "endoneurial_fluid_pressure_mmHg", "endoneurial_oedema_index",
        "endoneurial_o2_diffusion_distance_fold", "endoneurial_capillary_flow_fold",
        "marrow_vegf_release_pg_per_h", "marrow_il6_release_pg_per_h",
        "marrow_il1b_release_pg_per_h",
        "hif_mean", "plasma_cell_vegf_secretion_fold_mean", "plasma_cell_death_fold_mean",
        "stromal_cell_il6_secretion_fold_mean", "stromal_cell_vegf_secretion_fold_mean",
        "stromal_cell_osteoblast_commitment_fold_mean", "osteoblast_vegf_secretion_fold_mean",
        "osteoblast_osteoblast_apoptosis_fold_mean",
        "vessel_conductivity_fold_mean", "capillary_filtration_um_per_s",
        "capillary_filtration_uL_per_h_per_mm3", "type_h_endothelial_cells",
        "osteoclasts_entered_total", "osteoclasts_activated_total",
        "osteoblasts_committed_total", "osteoblasts_activated_total",
        "tips_selected_total", "sprouts_regressed_total",
        "bone_resorbed_total_voxels", "bone_formed_total_voxels", "osteocytes_total",
        "tip_moves_total", "tip_hours_total", "anastomoses_total",
    ]
    assert list(row) == expected_keys
    assert row["step"] == 0 and row["time_h"] == 0.0 and row["time_d"] == 0.0
    assert row["n_plasma_cell"] == 150 and row["n_stromal_cell"] == 100
    assert row["n_osteoclast"] == 0
    assert row["oxygen_mean"] == row["oxygen_min"] == row["oxygen_max"] == 20.0
    assert row["opg_mean"] == 18400.0
    assert row["bone_volume_fraction"] == 0.0
    # base.yaml's procedural vessels: a few percent of the section is lumen
    assert row["vessel_area_fraction"] == pytest.approx(
        np.mean(model.fields.tissue == VESSEL_LUMEN)
    )
    assert 0.0 < row["vessel_area_fraction"] < 0.2
    # endothelium lines all of it, all perfused; nothing grown yet
    assert row["perfused_vessel_fraction"] == 1.0
    assert row["n_grown_endothelial_cells"] == row["n_endothelial_tips"] == 0
    assert row["vessel_length_density_mm_per_mm2"] == 0.0
    # every marrow voxel starts at 20 mmHg
    assert row["marrow_pO2_fraction_20_25_mmHg"] == 1.0


def test_readouts_follow_the_model(make_model, tmp_path, write_scenario):
    mineral = np.zeros((30, 30))
    mineral[:, :3] = 1.0
    mineral[0, 10] = 0.25
    np.save(tmp_path / "bone.npy", mineral)
    path = write_scenario(
        {"domain": {"initial_bone": {"kind": "file", "path": str(tmp_path / "bone.npy")}}},
        name="bone.yaml",
    )
    model = make_model(path=path)
    model.run_for(30)
    row = readouts(model)
    assert row["step"] == 30 and row["time_h"] == 30.0 and row["time_d"] == pytest.approx(1.25)
    counts = model.cells.count_by_type()
    assert [row[f"n_{n}"] for n in CELL_TYPES] == counts.tolist()
    # the transport process changes the fields every step: the row reports them as they are now
    for name in ("oxygen", "vegf"):  # secreted/consumed by cells: no longer uniform
        assert model.fields[name].min() < model.fields[name].max(), name
    for name in (*FIELD_SPECIES, FREE_RANKL_LAYER):
        data = model.fields[name]
        assert row[f"{name}_mean"] == data.mean(), name
        assert row[f"{name}_min"] == data.min(), name
        assert row[f"{name}_max"] == data.max(), name
    assert row["bone_volume_fraction"] == pytest.approx((90 + 0.25) / 900)
    assert row["vessel_area_fraction"] == pytest.approx(model.fields[VESSEL_LAYER].mean())
    assert row["vessel_area_fraction"] > 0.0


def test_recorder_records_every_interval_and_round_trips(make_model):
    model = make_model()
    recorder = TimeSeriesRecorder(every_steps=5)
    model.register("observers", recorder)
    recorder.record(model)  # step 0
    model.run_for(23)
    arrays = recorder.as_arrays()
    np.testing.assert_array_equal(arrays["step"], [0, 5, 10, 15, 20])
    assert arrays["step"].dtype.kind == "i" and arrays["time_h"].dtype == np.float64
    assert arrays["n_plasma_cell"][0] == 150
    assert arrays["n_plasma_cell"][-1] != 150
    state = recorder.state_arrays()
    other = TimeSeriesRecorder(every_steps=5)
    other.load_state(state)
    for key, value in arrays.items():
        np.testing.assert_array_equal(other.as_arrays()[key], value)
        assert other.as_arrays()[key].dtype == value.dtype
    # the checkpointed rows are in the model's state under the recorder's name
    model_arrays, _ = model.state()
    np.testing.assert_array_equal(model_arrays["process/timeseries/step"], [0, 5, 10, 15, 20])
