"""Checkpoint observer: saves at the interval, with the time series so far."""

from __future__ import annotations

import numpy as np

from abm.io.rundir import RunDirectory
from abm.model import MarrowModel
from abm.observers.checkpoints import Checkpointer
from abm.observers.timeseries import TimeSeriesRecorder


def test_checkpoints_every_interval_and_restores(make_model, tmp_path, model_arrays,
                                                 assert_arrays_equal):
    model = make_model()
    run_dir = RunDirectory.create(tmp_path / "run")
    recorder = TimeSeriesRecorder(every_steps=3)
    model.register("observers", recorder)
    model.register("observers", Checkpointer(run_dir, recorder, every_steps=10))
    recorder.record(model)
    model.run_for(25)
    assert run_dir.list_checkpoints() == [10, 20]
    table = run_dir.read_timeseries()
    assert table.column("step").to_pylist() == [0, 3, 6, 9, 12, 15, 18]  # flushed at step 20
    arrays, meta = run_dir.load_checkpoint(20)
    assert meta["step"] == 20
    np.testing.assert_array_equal(arrays["process/timeseries/step"], [0, 3, 6, 9, 12, 15, 18])

    fresh = MarrowModel(model.config, _place_initial_cells=False)
    fresh_recorder = TimeSeriesRecorder(every_steps=3)
    fresh.register("observers", fresh_recorder)
    fresh.load_state(arrays, meta)
    assert fresh.steps == 20
    np.testing.assert_array_equal(fresh_recorder.as_arrays()["step"], [0, 3, 6, 9, 12, 15, 18])
    fresh.run_for(5)
    assert_arrays_equal(model_arrays(fresh), model_arrays(model))
    assert recorder.as_arrays()["step"].tolist() == fresh_recorder.as_arrays()["step"].tolist()
