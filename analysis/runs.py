"""Run directories as analysis sees them: manifest facts, the time series as arrays, the snapshot
store, and replicate groups (runs of one scenario that differ only in their seed).

Everything is read through :mod:`abm.io`; problems a user can fix raise one-line errors:
:class:`abm.io.RunDirectoryError` naming the path (a missing run directory, a run without
snapshots, a layer or column the run lacks) or :class:`UsageError` (an unknown layer name, a bad
frame size or format).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from abm.io.errors import RunDirectoryError
from abm.io.rundir import RunDirectory
from abm.io.snapshots import SnapshotStore


class UsageError(ValueError):
    """A request that cannot be drawn (unknown layer, bad size or format); ``str()`` is one line
    for the user."""


@dataclass
class Run:
    """One run directory opened for analysis."""

    run_dir: RunDirectory
    manifest: dict[str, Any] = field(repr=False)

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """Open the run directory ``path`` (RunDirectoryError if it is not one)."""
        run_dir = RunDirectory.open(Path(path))
        return cls(run_dir, run_dir.read_manifest())

    @property
    def path(self) -> Path:
        """The run directory."""
        return self.run_dir.path

    @property
    def scenario(self) -> dict[str, Any]:
        """The resolved scenario as recorded in the manifest (empty if absent)."""
        return self.manifest.get("scenario", {})

    @property
    def label(self) -> str:
        """Short name for legends and titles: the scenario file's stem, else the directory's
        name."""
        source = self.manifest.get("scenario_source")
        return Path(source).stem if source else self.path.name

    @property
    def seed(self) -> int | None:
        """The run's seed (None if the manifest does not say)."""
        return self.manifest.get("seed")

    @property
    def voxel_um(self) -> float:
        """Edge of one voxel, µm."""
        return float(self.manifest.get("voxel_um", self.scenario.get("domain", {}).get("voxel_um")))

    @property
    def step_h(self) -> float:
        """Length of one model step, hours."""
        return float(self.manifest.get("step_h", self.scenario.get("time", {}).get("step_h", 1.0)))

    @property
    def periodic(self) -> bool:
        """Whether the lattice wraps at its edges."""
        return self.scenario.get("domain", {}).get("boundary", "periodic") == "periodic"

    @property
    def hif_half_maximal_pO2_mmHg(self) -> float:
        """pO2 below which a marrow voxel counts as hypoxic (the scenario's HIF half-maximum)."""
        return float(self.scenario["hypoxia"]["hif_half_maximal_pO2_mmHg"])

    def field_unit(self, name: str) -> str:
        """Unit of snapshot layer ``name``: the scenario's unit of a diffusing species (free
        RANKL as RANKL), empty for the volume fractions of bone, osteoid and lumen."""
        species = self.scenario.get("fields", {}).get(name.removesuffix("_free"), {})
        return species.get("unit", "") if isinstance(species, dict) else ""

    @property
    def scenario_key(self) -> str:
        """Identity of the scenario without its seed: equal keys make replicates."""
        scenario = {key: value for key, value in self.scenario.items() if key != "seed"}
        return json.dumps(scenario, sort_keys=True)

    @cached_property
    def timeseries(self) -> dict[str, np.ndarray]:
        """The time series, one float or integer array per column."""
        table = self.run_dir.read_timeseries()
        return {name: table.column(name).to_numpy() for name in table.column_names}

    @cached_property
    def snapshots(self) -> SnapshotStore:
        """The snapshot store; RunDirectoryError if the run has none or it is empty."""
        store_path = self.path / RunDirectory.FIELDS
        if not store_path.exists():
            raise RunDirectoryError(self.path, "run has no field snapshots (no fields.zarr)")
        store = self.run_dir.snapshots
        if len(store) == 0:
            raise RunDirectoryError(store_path, "snapshot store holds no snapshot")
        return store

    def snapshot_times_h(self) -> np.ndarray:
        """Simulated time of every snapshot, hours."""
        return self.snapshots.steps() * self.step_h

    def require_layer(self, name: str) -> None:
        """RunDirectoryError naming the store and its layers unless layer ``name`` exists."""
        store = self.snapshots
        if name not in store.layer_names:
            raise RunDirectoryError(
                store.path,
                f"no snapshot layer {name!r} (layers: {', '.join(store.layer_names)})",
            )

    def layer(self, name: str, index: int) -> np.ndarray:
        """Snapshot ``index`` of layer ``name`` (RunDirectoryError if there is no such layer)."""
        self.require_layer(name)
        return self.snapshots.read(name, index)

    def layers(self, names: Sequence[str], index: int) -> dict[str, np.ndarray]:
        """Snapshot ``index`` of each layer of ``names``."""
        return {name: self.layer(name, index) for name in names}


def open_runs(paths: Sequence[str | Path]) -> list[Run]:
    """Open every run directory of ``paths`` (the first bad one raises RunDirectoryError)."""
    return [Run.open(path) for path in paths]


def replicate_groups(runs: Sequence[Run]) -> list[list[Run]]:
    """Runs grouped by scenario (everything but the seed), groups in order of first
    appearance."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.scenario_key, []).append(run)
    return list(groups.values())


def group_label(group: Sequence[Run]) -> str:
    """Legend label of a replicate group: the scenario label, with the number of seeds when
    there are several."""
    label = group[0].label
    return f"{label} (n = {len(group)} seeds)" if len(group) > 1 else label
