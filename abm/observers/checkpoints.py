"""Checkpoints: the full model state (cells, fields, RNG, recorded rows) every interval."""

from __future__ import annotations

from typing import TYPE_CHECKING

from abm.io.rundir import RunDirectory

if TYPE_CHECKING:
    from abm.model import MarrowModel
    from abm.observers.timeseries import TimeSeriesRecorder


class Checkpointer:
    """Every ``every_steps`` steps: save a checkpoint, then flush the time series to Parquet.

    Registered after the other observers, so a checkpoint includes the row and snapshot of its
    own step; on resume, anything recorded after the last checkpoint is dropped and redone.
    """

    name = "checkpoints"

    def __init__(self, run_dir: RunDirectory, recorder: TimeSeriesRecorder, every_steps: int):
        self.run_dir = run_dir
        self.recorder = recorder
        self.every_steps = every_steps

    def save(self, model: MarrowModel) -> None:
        """Write a checkpoint of the current step and the time series so far."""
        arrays, meta = model.state()
        self.run_dir.save_checkpoint(model.steps, arrays, meta)
        self.run_dir.write_timeseries(self.recorder.as_arrays())

    def step(self, model: MarrowModel) -> None:
        """Checkpoint when the step is a multiple of the interval."""
        if model.steps % self.every_steps == 0:
            self.save(model)
