"""Running scenarios into run directories: layout, early stop, resume == uninterrupted,
determinism (seed and thread count)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from abm import runner
from abm.io.errors import RunDirectoryError
from abm.io.rundir import RunDirectory
from abm.model import MarrowModel
from abm.scenario import load_scenario

STEPS = 96  # tiny scenario: 4 d of 1 h steps
RECORD, SNAPSHOT, CHECKPOINT = 6, 24, 24


def run(loaded, out, **kwargs):
    return runner.start_run(loaded, out, progress="off", **kwargs)


def resume(out, **kwargs):
    return runner.resume_run(out, progress="off", **kwargs)


def fields_bytes(run_dir, tree_bytes):
    return tree_bytes(run_dir / RunDirectory.FIELDS)


def final_checkpoint(run_dir):
    rd = RunDirectory.open(run_dir)
    step, arrays, meta = rd.latest_checkpoint()
    return step, arrays, meta


def assert_same_outputs(a, b, tree_bytes):
    """Byte-identical time series and snapshot store, equal final checkpoints."""
    assert (a / RunDirectory.TIMESERIES).read_bytes() == (b / RunDirectory.TIMESERIES).read_bytes()
    fa, fb = fields_bytes(a, tree_bytes), fields_bytes(b, tree_bytes)
    assert sorted(fa) == sorted(fb)
    for name in fa:
        assert fa[name] == fb[name], name
    step_a, arrays_a, meta_a = final_checkpoint(a)
    step_b, arrays_b, meta_b = final_checkpoint(b)
    assert step_a == step_b
    assert sorted(arrays_a) == sorted(arrays_b)
    for key in arrays_a:
        assert arrays_a[key].dtype == arrays_b[key].dtype, key
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)
    assert meta_a == meta_b


@pytest.fixture
def loaded(tiny_scenario, load):
    return load(tiny_scenario)


@pytest.fixture
def straight_run(loaded, tmp_path):
    """The tiny scenario run uninterrupted to its end."""
    return run(loaded, tmp_path / "straight")


# ----------------------------------------------------------------------------- layout


def test_run_directory_layout(straight_run, loaded, tmp_path, tree_bytes):
    out = straight_run
    assert out == tmp_path / "straight"
    rd = RunDirectory.open(out)
    manifest = rd.read_manifest()
    assert manifest["status"] == "completed"
    assert manifest["steps_completed"] == manifest["steps_target"] == STEPS
    assert manifest["seed"] == 1
    assert manifest["step_h"] == 1.0
    assert manifest["lattice_shape"] == [30, 30]
    assert manifest["scenario"] == loaded.scenario.model_dump(mode="json")
    assert manifest["overrides"] == []
    assert len(manifest["sessions"]) == 1
    session = manifest["sessions"][0]
    assert (session["from_step"], session["to_step"]) == (0, STEPS)
    json.dumps(manifest)  # plain JSON
    # the stored scenario loads on its own and is the same scenario
    stored = load_scenario(out / RunDirectory.SCENARIO)
    assert stored.scenario == loaded.scenario
    assert stored.resolved_yaml() == loaded.resolved_yaml()
    # time series: one row per record interval, including step 0
    table = pq.read_table(out / RunDirectory.TIMESERIES)
    assert table.num_rows == STEPS // RECORD + 1
    steps = table.column("step").to_pylist()
    assert steps == list(range(0, STEPS + 1, RECORD))
    assert table.column("time_h").to_pylist() == [float(s) for s in steps]
    n_plasma = table.column("n_plasma_cell").to_pylist()
    assert n_plasma[0] == 150
    assert len(set(n_plasma)) > 5
    assert table.column("n_stromal_cell").to_pylist()[0] == 100
    # snapshots at 0, 24, ..., 96
    store = rd.snapshots
    assert len(store) == STEPS // SNAPSHOT + 1
    np.testing.assert_array_equal(store.steps(), np.arange(0, STEPS + 1, SNAPSHOT))
    assert list(store.layer_names) == manifest["snapshot_layers"]
    cell_map = store.read("cell_type_map", 0)
    assert int((cell_map == 0).sum()) == 150 and int((cell_map == 1).sum()) == 100
    # checkpoints at every interval (not at 0) and at the end
    assert rd.list_checkpoints() == list(range(CHECKPOINT, STEPS + 1, CHECKPOINT))
    # the final checkpoint matches the last time-series row
    arrays, meta = rd.load_checkpoint(STEPS)
    assert meta["step"] == STEPS
    alive, types = arrays["cells/alive"], arrays["cells/cell_type"]
    assert int((alive & (types == 0)).sum()) == n_plasma[-1]
    last_map = store.read("cell_type_map", -1)
    assert int((last_map == 0).sum()) == n_plasma[-1]


def test_steps_smaller_than_duration_stops_early(loaded, tmp_path):
    out = run(loaded, tmp_path / "short", steps=30)
    rd = RunDirectory.open(out)
    manifest = rd.read_manifest()
    assert manifest["status"] == "completed"
    assert manifest["steps_completed"] == manifest["steps_target"] == 30
    table = rd.read_timeseries()
    assert table.column("step").to_pylist() == [0, 6, 12, 18, 24, 30]
    np.testing.assert_array_equal(rd.snapshots.steps(), [0, 24])
    assert rd.list_checkpoints() == [24, 30]  # the interval, then the end


def test_start_run_refuses_an_existing_run_directory(straight_run, loaded, tree_bytes):
    before = tree_bytes(straight_run)
    with pytest.raises(RunDirectoryError, match="overwrite"):
        run(loaded, straight_run)
    assert tree_bytes(straight_run) == before
    # overwrite replaces it with an identical run (same seed)
    run(loaded, straight_run, overwrite=True, steps=12)
    rd = RunDirectory.open(straight_run)
    assert rd.read_manifest()["steps_completed"] == 12
    assert rd.list_checkpoints() == [12]


def test_start_run_into_a_non_empty_non_run_directory_raises(loaded, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(RunDirectoryError):
        run(loaded, out)
    with pytest.raises(RunDirectoryError):
        run(loaded, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "keep me"


def test_impossible_placement_creates_no_run_directory(tiny_scenario, tmp_path):
    from abm.cells.placement import PlacementError

    loaded = load_scenario(tiny_scenario, ["cells.plasma_cell.initial_count=5000"])
    with pytest.raises(PlacementError):
        run(loaded, tmp_path / "never")
    assert not (tmp_path / "never").exists()


# ----------------------------------------------------------------------------- resume


@pytest.mark.parametrize("k", [30, 48])  # not a multiple of the checkpoint interval, and one
def test_resume_equals_uninterrupted(straight_run, loaded, tmp_path, tree_bytes, k):
    out = run(loaded, tmp_path / f"resumed_{k}", steps=k)
    rd = RunDirectory.open(out)
    assert rd.read_manifest()["steps_completed"] == k
    assert rd.list_checkpoints()[-1] == k
    resume(out, expected=loaded, steps=STEPS)
    manifest = rd.read_manifest()
    assert manifest["status"] == "completed"
    assert manifest["steps_completed"] == manifest["steps_target"] == STEPS
    assert [(s["from_step"], s["to_step"]) for s in manifest["sessions"]] == [(0, k), (k, STEPS)]
    assert rd.list_checkpoints() == ([24, 48, 72, 96] if k == 48 else [24, 30, 48, 72, 96])
    assert_same_outputs(straight_run, out, tree_bytes)


def test_resume_after_an_interruption_equals_uninterrupted(
    load, write_scenario, tmp_path, tree_bytes, monkeypatch
):
    """Interrupted (Ctrl-C) at step 40 with snapshots every 12 h and checkpoints every 24 h:
    the rows and snapshots recorded after the last checkpoint are dropped and redone."""
    path = write_scenario({"time": {"snapshot_interval_h": 12}}, name="snap12.yaml")
    loaded = load(path)
    straight = run(loaded, tmp_path / "straight12")

    restore = interrupt_at(monkeypatch, 40)
    with pytest.raises(KeyboardInterrupt):
        run(loaded, tmp_path / "interrupted")
    restore()
    out = tmp_path / "interrupted"
    rd = RunDirectory.open(out)
    manifest = rd.read_manifest()
    assert manifest["status"] == "interrupted"
    assert manifest["steps_completed"] == 40
    assert rd.list_checkpoints() == [24]
    np.testing.assert_array_equal(rd.snapshots.steps(), [0, 12, 24, 36])
    assert rd.read_timeseries().column("step").to_pylist()[-1] == 36
    resume(out)  # target from the manifest
    assert rd.read_manifest()["status"] == "completed"
    assert_same_outputs(straight, out, tree_bytes)


def interrupt_at(monkeypatch, stop_step):
    """Make the runner raise KeyboardInterrupt (as Ctrl-C would) after ``stop_step``."""
    original_update = runner.RunProgress.update

    def interrupt(self, step):
        original_update(self, step)
        if step == stop_step:
            raise KeyboardInterrupt

    monkeypatch.setattr(runner.RunProgress, "update", interrupt)
    return lambda: monkeypatch.setattr(runner.RunProgress, "update", original_update)


def test_resume_before_the_first_checkpoint_equals_uninterrupted(
    straight_run, loaded, tmp_path, tree_bytes, monkeypatch
):
    restore = interrupt_at(monkeypatch, 10)
    out = tmp_path / "early"
    with pytest.raises(KeyboardInterrupt):
        run(loaded, out)
    restore()
    rd = RunDirectory.open(out)
    assert rd.read_manifest()["status"] == "interrupted"
    assert rd.list_checkpoints() == []
    resume(out, expected=loaded)
    manifest = rd.read_manifest()
    assert manifest["status"] == "completed" and manifest["steps_completed"] == STEPS
    assert_same_outputs(straight_run, out, tree_bytes)


def test_resume_before_the_first_checkpoint_keeps_the_provenance(
    tiny_scenario, tmp_path, monkeypatch
):
    """Restarting a run that never reached a checkpoint must keep where its scenario came
    from and the --set overrides it was started with (``abm info`` shows them)."""
    loaded = load_scenario(tiny_scenario, ["cells.stromal_cell.initial_count=90"])
    restore = interrupt_at(monkeypatch, 5)
    out = tmp_path / "early"
    with pytest.raises(KeyboardInterrupt):
        run(loaded, out)
    restore()
    before = RunDirectory.open(out).read_manifest()
    assert before["scenario_source"] == str(tiny_scenario)
    resume(out, expected=loaded)
    after = RunDirectory.open(out).read_manifest()
    assert after["status"] == "completed"
    assert after["scenario_source"] == str(tiny_scenario)
    assert after["overrides"] == ["cells.stromal_cell.initial_count=90"]


def test_summary_works_while_a_run_is_in_progress(loaded, tmp_path, monkeypatch):
    """``abm info`` on a run that is still going (before and after its first checkpoint)."""
    from abm.io.summary import summarize_run

    out = tmp_path / "live"
    seen = {}
    original_update = runner.RunProgress.update

    def peek(self, step):
        original_update(self, step)
        if step in (5, 30):
            try:
                seen[step] = summarize_run(out)
            except RunDirectoryError as exc:
                seen[step] = exc

    monkeypatch.setattr(runner.RunProgress, "update", peek)
    run(loaded, out)
    for step in (5, 30):
        assert isinstance(seen[step], list), f"step {step}: {seen[step]}"
        status = [line for line in seen[step] if line.startswith("status")]
        assert status == ["status          running"]


def test_manifest_schedule_lists_every_process(straight_run):
    """The manifest records the schedule that ran, observers included."""
    manifest = RunDirectory.open(straight_run).read_manifest()
    assert manifest["schedule"] == {
        "transport": ["interventions", "transport", "systemic"],
        "sensing": ["hif_sensing", "signal_responses", "vessel_permeability", "type_h_signalling"],
        "decisions": [
            "cell_turnover", "treatment_deaths", "osteoclast_fates", "osteoblast_fates",
            "endothelial_fates",
        ],
        "actions": ["random_migration", "resorption", "formation", "sprout_growth"],
        "bookkeeping": ["bookkeeping"],
        "observers": ["timeseries", "snapshots", "checkpoints"],
    }


def test_resume_of_a_completed_run_changes_nothing_but_the_sessions(
    straight_run, tree_bytes
):
    before = tree_bytes(straight_run)
    resume(straight_run)
    after = tree_bytes(straight_run)
    assert sorted(before) == sorted(after)
    for name in before:
        if name != RunDirectory.MANIFEST:
            assert before[name] == after[name], name
    manifest = json.loads(after[RunDirectory.MANIFEST])
    assert manifest["status"] == "completed" and manifest["steps_completed"] == STEPS
    assert len(manifest["sessions"]) == 2


def test_resume_with_a_different_scenario_raises(straight_run, tiny_scenario, tree_bytes):
    before = tree_bytes(straight_run)
    changed = load_scenario(tiny_scenario, ["cells.plasma_cell.death_rate_per_day=0.5"])
    with pytest.raises(RunDirectoryError, match="different scenario"):
        resume(straight_run, expected=changed)
    reseeded = load_scenario(tiny_scenario, ["seed=5"])
    with pytest.raises(RunDirectoryError):
        resume(straight_run, expected=reseeded)
    assert tree_bytes(straight_run) == before


def test_resume_of_a_missing_directory_raises(tmp_path):
    with pytest.raises(RunDirectoryError):
        resume(tmp_path / "nothing")


def test_resume_to_fewer_steps_than_the_last_checkpoint_raises(straight_run):
    with pytest.raises(RunDirectoryError, match="beyond"):
        resume(straight_run, steps=50)


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_different_seed_different_bytes(
    straight_run, loaded, tiny_scenario, tmp_path, tree_bytes
):
    again = run(loaded, tmp_path / "again")
    assert_same_outputs(straight_run, again, tree_bytes)
    other = run(load_scenario(tiny_scenario, ["seed=2"]), tmp_path / "seed2")
    ts_a = (straight_run / RunDirectory.TIMESERIES).read_bytes()
    ts_b = (other / RunDirectory.TIMESERIES).read_bytes()
    assert ts_a != ts_b
    fa, fb = fields_bytes(straight_run, tree_bytes), fields_bytes(other, tree_bytes)
    cell_maps = [n for n in fa if n.startswith("cell_type_map/c/")]
    assert len(cell_maps) == STEPS // SNAPSHOT + 1
    assert all(fa[n] != fb[n] for n in cell_maps)


def test_model_run_matches_runner_checkpoint(straight_run, loaded):
    """The runner's observers do not perturb the model: a bare model ends in the same state."""
    model = MarrowModel(loaded.scenario)
    model.run_for(STEPS)
    _, arrays, meta = final_checkpoint(straight_run)
    own, own_meta = model.state()
    for key, value in own.items():
        np.testing.assert_array_equal(arrays[key], value, err_msg=key)
    assert meta["rng"] == json.loads(json.dumps(own_meta["rng"]))
    assert meta["agent_id_counter"] == own_meta["agent_id_counter"]


def test_thread_count_does_not_change_the_outputs(cli_run, tmp_path, run_cli, tree_bytes):
    """The CLI run of the tiny scenario with NUMBA_NUM_THREADS=1 (shared fixture) and again
    with 2 threads: byte-identical time series and snapshot chunks."""
    scenario, one, result = cli_run
    assert result.returncode == 0, result.stderr
    two = tmp_path / "threads_2"
    result = run_cli(
        ["run", scenario, "--out", two, "--progress", "off"],
        env={"NUMBA_NUM_THREADS": "2"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(two)
    for out, threads in ((one, "1"), (two, "2")):
        manifest = json.loads((out / RunDirectory.MANIFEST).read_text())
        assert manifest["sessions"][0]["environment"]["NUMBA_NUM_THREADS"] == threads
    assert (one / RunDirectory.TIMESERIES).read_bytes() == (
        two / RunDirectory.TIMESERIES
    ).read_bytes()
    fields_one = tree_bytes(one / RunDirectory.FIELDS)
    fields_two = tree_bytes(two / RunDirectory.FIELDS)
    assert len([n for n in fields_one if "/c/" in n]) >= 5  # chunk files exist
    assert fields_one == fields_two
