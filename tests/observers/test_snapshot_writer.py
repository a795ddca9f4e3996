"""Snapshot observer: the cell-type map and the layers a snapshot holds."""

from __future__ import annotations

import numpy as np

from abm.cells.table import EMPTY
from abm.io.snapshots import SnapshotStore
from abm.observers.snapshots import CELL_MAP, SnapshotWriter, cell_type_map, snapshot_layers
from abm.scenario import BONE_LAYER
from abm.scenario.schema import LAYERS


def test_cell_type_map_marks_living_cells(make_model):
    model = make_model()
    model.run_for(20)
    table = model.cells
    cmap = cell_type_map(model)
    assert cmap.dtype == np.int8 and cmap.shape == (30, 30)
    expected = np.full((30, 30), EMPTY, dtype=np.int8)
    for agent in model.agents:
        expected[agent.pos] = table["cell_type"][agent.slot]
    np.testing.assert_array_equal(cmap, expected)
    assert int((cmap >= 0).sum()) == int(table["alive"].sum())


def test_snapshot_layers_follow_the_output_settings(make_model):
    model = make_model()
    layers = snapshot_layers(model)
    assert list(layers) == [*LAYERS, CELL_MAP]
    assert layers[CELL_MAP] == np.int8 and layers["vegf"] == np.float64
    model = make_model(["output.snapshot_fields=[vegf, bone_mineral]",
                        "output.snapshot_cell_map=false"])
    assert list(snapshot_layers(model)) == ["vegf", BONE_LAYER]


def test_writer_appends_every_interval(make_model, tmp_path):
    model = make_model(["output.snapshot_fields=[il6]"])
    store = SnapshotStore.create(tmp_path / "f.zarr", (30, 30), snapshot_layers(model))
    writer = SnapshotWriter(store, every_steps=4)
    model.register("observers", writer)
    writer.write(model)
    model.fields["il6"][1, 2] = 9.0
    np.testing.assert_array_equal(store.steps(), [0])
    np.testing.assert_array_equal(store.read("il6", 0), 2.0)  # written before the change
    model.run_for(4)
    np.testing.assert_array_equal(store.steps(), [0, 4])
    # each snapshot holds the field as it is at the end of its step (transport changes it)
    np.testing.assert_array_equal(store.read("il6", 1), model.fields["il6"])
    assert not np.array_equal(store.read("il6", 1), store.read("il6", 0))
    model.run_for(4)
    np.testing.assert_array_equal(store.steps(), [0, 4, 8])
    np.testing.assert_array_equal(store.read("il6", 2), model.fields["il6"])
    assert not np.array_equal(store.read("il6", 2), store.read("il6", 1))
    model.run_for(2)
    np.testing.assert_array_equal(store.steps(), [0, 4, 8])  # step 10: no snapshot
    model.run_for(2)
    np.testing.assert_array_equal(store.steps(), [0, 4, 8, 12])
    np.testing.assert_array_equal(store.read(CELL_MAP, -1), cell_type_map(model))
