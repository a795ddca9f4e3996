"""Run a scenario into a run directory: start, resume, and record it (DESIGN.md §8).

A run directory holds ``manifest.json``, the resolved ``scenario.yaml``, ``timeseries.parquet``,
``fields.zarr`` and ``checkpoints/``. Resuming continues from the last checkpoint and ends in the
same state, byte for byte, as a run that was never interrupted.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from abm import provenance
from abm.interventions import Interventions
from abm.io.errors import RunDirectoryError
from abm.io.rundir import RunDirectory
from abm.io.snapshots import SnapshotStore
from abm.model import MarrowModel
from abm.observers.checkpoints import Checkpointer
from abm.observers.progress import ProgressMode, RunProgress
from abm.observers.snapshots import SnapshotWriter, snapshot_layers
from abm.observers.timeseries import TimeSeriesRecorder, readouts
from abm.scenario import LoadedScenario, load_scenario, units
from abm.scenario.schema import Scenario

FORMAT_VERSION = 1
"""Version of the run-directory layout written here."""


def start_run(
    loaded: LoadedScenario,
    out: Path,
    *,
    overwrite: bool = False,
    steps: int | None = None,
    progress: ProgressMode = "auto",
) -> Path:
    """Run a scenario from step 0 into a new run directory; returns its path.

    Args:
        loaded: the validated scenario.
        out: the run directory to create (refused if it exists, unless ``overwrite``).
        steps: total steps to run (default: the scenario's duration).
        progress: how to report progress on standard error.
    """
    model = MarrowModel(loaded.scenario)  # fails on impossible placements before writing
    run_dir = RunDirectory.create(out, overwrite=overwrite)
    target = loaded.scenario.time.duration_steps if steps is None else steps
    provenance_fields = {
        "scenario_source": str(loaded.source),
        "overrides": list(loaded.overrides),
        "sessions": [],
    }
    return _start(model, loaded, run_dir, target, progress, provenance_fields)


def _start(
    model: MarrowModel,
    loaded: LoadedScenario,
    run_dir: RunDirectory,
    target: int,
    progress: ProgressMode,
    provenance_fields: dict,
) -> Path:
    """Write a fresh manifest, scenario and snapshot store into ``run_dir``; run from step 0."""
    scenario = loaded.scenario
    run_dir.write_scenario_text(loaded.resolved_yaml())
    layers = snapshot_layers(model)
    store = run_dir.create_snapshots(scenario.domain.shape, layers)
    observers = _attach_observers(model, run_dir, store)
    run_dir.write_manifest(
        {
            "format_version": FORMAT_VERSION,
            "status": "running",
            **provenance_fields,
            "seed": scenario.seed,
            "step_h": scenario.time.step_h,
            "steps_target": target,
            "steps_completed": 0,
            "lattice_shape": list(scenario.domain.shape),
            "voxel_um": scenario.domain.voxel_um,
            "schedule": model.schedule_summary(),
            "snapshot_layers": list(layers),
            "scenario": scenario.model_dump(mode="json"),
            "versions": provenance.versions(),
            "git": provenance.git_revision(),
        }
    )
    observers.recorder.record(model)  # step 0, before the first step
    observers.snapshots.write(model)
    return _advance(model, run_dir, observers, target, progress)


def resume_run(
    out: Path,
    *,
    expected: LoadedScenario | None = None,
    steps: int | None = None,
    progress: ProgressMode = "auto",
) -> Path:
    """Continue a run directory from its last checkpoint; returns its path.

    Args:
        out: an existing run directory.
        expected: if given, the scenario must resolve to the one the run was started with.
        steps: new total steps (default: the target it was started with).
    """
    run_dir = RunDirectory.open(out)
    scenario_path = run_dir.path / RunDirectory.SCENARIO
    stored = load_scenario(scenario_path)
    if expected is not None and expected.resolved_yaml() != stored.resolved_yaml():
        raise RunDirectoryError(
            scenario_path,
            f"the run was started with a different scenario than {expected.source}"
            " (with these --set overrides); resume it without changes",
        )
    manifest = run_dir.read_manifest()
    target = int(manifest["steps_target"]) if steps is None else steps
    checkpoint = run_dir.latest_checkpoint()
    if checkpoint is None:  # interrupted before the first checkpoint: start again, same dir
        shutil.rmtree(run_dir.path / RunDirectory.FIELDS, ignore_errors=True)
        keys = ("scenario_source", "overrides", "sessions")
        kept = {k: manifest[k] for k in keys if k in manifest}
        model = MarrowModel(stored.scenario)
        return _start(model, stored, run_dir, target, progress, kept)
    step, arrays, meta = checkpoint
    if step > target:
        raise RunDirectoryError(out, f"already at step {step}, beyond --steps {target}")
    model = MarrowModel(stored.scenario, _place_initial_cells=False)
    store = run_dir.snapshots
    store.truncate_after(step)
    observers = _attach_observers(model, run_dir, store)
    model.load_state(arrays, meta)
    run_dir.update_manifest(steps_target=target)
    return _advance(model, run_dir, observers, target, progress)


BRANCH_FREE_KEYS = ("description", "seed", "interventions", "interventions_start_d")
"""Scenario keys in which a branch's arm may differ from its parent run (``time.duration_d``
too: the arm runs on past the branch point). The seed only placed the initial cells, which the
branch takes from the parent's checkpoint, with its random generator."""


def branch_run(
    parent: Path,
    at_step: int,
    arm: LoadedScenario,
    out: Path,
    *,
    steps_after: int | None = None,
    overwrite: bool = False,
    progress: ProgressMode = "auto",
) -> Path:
    """Start an arm from the checkpoint of an untreated parent run at ``at_step``; returns the
    arm's run directory.

    The arm's scenario must equal the parent's but for :data:`BRANCH_FREE_KEYS`; its treatment
    schedules count from the branch point (``interventions_start_d``) and it runs
    ``steps_after`` steps past it (default: the arm file's duration). Its time series starts
    with the parent's rows up to the branch point, and its manifest names the parent.

    Raises:
        RunDirectoryError: the parent is missing or corrupt, has no checkpoint at
            ``at_step``, is itself treated, or the arm differs from it in another key.
    """
    parent_dir = RunDirectory.open(parent)
    parent_loaded = load_scenario(parent_dir.path / RunDirectory.SCENARIO)
    if parent_loaded.scenario.interventions:
        raise RunDirectoryError(
            parent, "branches start from an untreated run; this one has interventions"
        )
    if at_step not in parent_dir.list_checkpoints():
        available = ", ".join(f"{s * parent_loaded.scenario.time.step_h / 24:g}d"
                              for s in parent_dir.list_checkpoints()) or "none"
        raise RunDirectoryError(
            parent_dir.checkpoints_dir,
            f"no checkpoint at step {at_step}; checkpoints are at {available}",
        )
    time = arm.scenario.time
    after = time.duration_steps if steps_after is None else steps_after
    branch_d = at_step * time.step_h / units.HOURS_PER_DAY
    arm = load_scenario(arm.source, [
        *arm.overrides,
        f"seed={parent_loaded.scenario.seed}",
        f"interventions_start_d={branch_d!r}",
        f"time.duration_d={(at_step + after) * time.step_h / units.HOURS_PER_DAY!r}",
    ])
    difference = _first_difference(parent_loaded.scenario, arm.scenario)
    if difference is not None:
        raise RunDirectoryError(
            Path(arm.source),
            f"differs from the parent run {parent} in {difference}; an arm may differ only in"
            " its interventions (use the --set overrides the parent was run with)",
        )
    arrays, meta = parent_dir.load_checkpoint(at_step)
    untreated = f"process/{Interventions.name}/"  # the parent's: no course, nothing given
    arrays = {key: value for key, value in arrays.items() if not key.startswith(untreated)}
    model = MarrowModel(arm.scenario, _place_initial_cells=False)
    run_dir = RunDirectory.create(out, overwrite=overwrite)
    run_dir.write_scenario_text(arm.resolved_yaml())
    layers = snapshot_layers(model)
    observers = _attach_observers(
        model, run_dir, run_dir.create_snapshots(arm.scenario.domain.shape, layers)
    )
    model.load_state(arrays, meta)
    observers.recorder.backfill(readouts(model))
    run_dir.write_manifest(
        {
            "format_version": FORMAT_VERSION,
            "status": "running",
            "scenario_source": str(arm.source),
            "overrides": list(arm.overrides),
            "parent": {"run": str(parent_dir.path), "step": at_step, "day": branch_d},
            "sessions": [],
            "seed": arm.scenario.seed,
            "step_h": time.step_h,
            "steps_target": at_step + after,
            "steps_completed": at_step,
            "lattice_shape": list(arm.scenario.domain.shape),
            "voxel_um": arm.scenario.domain.voxel_um,
            "schedule": model.schedule_summary(),
            "snapshot_layers": list(layers),
            "scenario": arm.scenario.model_dump(mode="json"),
            "versions": provenance.versions(),
            "git": provenance.git_revision(),
        }
    )
    observers.checkpointer.save(model)  # the branch state: the arm resumes from here
    observers.snapshots.write(model)
    return _advance(model, run_dir, observers, at_step + after, progress)


def _first_difference(parent: Scenario, arm: Scenario) -> str | None:
    """The first key path (dotted) where two scenarios differ outside the branch-free keys."""

    def walk(a, b, path: str) -> str | None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                found = walk(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
                if found:
                    return found
            return None
        return None if a == b else path

    def comparable(scenario: Scenario) -> dict:
        tree = scenario.model_dump(mode="json", exclude=set(BRANCH_FREE_KEYS))
        tree["time"].pop("duration_d")
        return tree

    return walk(comparable(parent), comparable(arm), "")


@dataclass(frozen=True)
class _Observers:
    recorder: TimeSeriesRecorder
    snapshots: SnapshotWriter
    checkpointer: Checkpointer


def _attach_observers(
    model: MarrowModel, run_dir: RunDirectory, store: SnapshotStore
) -> _Observers:
    """Register the recording processes, in the order a checkpoint relies on."""
    every = model.config.time
    recorder = TimeSeriesRecorder(every.record_every_steps)
    observers = _Observers(
        recorder,
        SnapshotWriter(store, every.snapshot_every_steps),
        Checkpointer(run_dir, recorder, every.checkpoint_every_steps),
    )
    for observer in (observers.recorder, observers.snapshots, observers.checkpointer):
        model.register("observers", observer)
    return observers


def _advance(
    model: MarrowModel,
    run_dir: RunDirectory,
    observers: _Observers,
    target: int,
    progress: ProgressMode,
) -> Path:
    """Step the model to ``target``, then save the final checkpoint and time series."""
    recorder, checkpointer = observers.recorder, observers.checkpointer
    first_step, started_at, t0 = model.steps, provenance.utc_now(), time.perf_counter()
    status = "interrupted"
    try:
        with RunProgress(
            progress, label=run_dir.path.name, start_step=model.steps, total_steps=target,
            step_h=model.step_h,
        ) as bar:
            while model.steps < target:
                model.run_for(1)
                bar.update(model.steps)
        if model.steps % checkpointer.every_steps != 0:
            checkpointer.save(model)
        else:
            run_dir.write_timeseries(recorder.as_arrays())
        status = "completed"
    except Exception:
        status = "failed"
        raise
    finally:
        if status != "completed":
            run_dir.write_timeseries(recorder.as_arrays())
        wall = time.perf_counter() - t0
        manifest = run_dir.read_manifest()
        sessions = [
            *manifest.get("sessions", []),
            {
                "started_at": started_at,
                "finished_at": provenance.utc_now(),
                "from_step": first_step,
                "to_step": model.steps,
                "wall_time_s": round(wall, 3),
                "steps_per_s": round((model.steps - first_step) / wall, 2) if wall > 0 else None,
                "environment": provenance.environment(),
            },
        ]
        run_dir.update_manifest(status=status, steps_completed=model.steps, sessions=sessions)
    return run_dir.path
