"""Sweeps on a real Dask LocalCluster with 2 workers: results equal serial runs, failing runs
and dying workers lose nothing, re-runs skip completed runs, the worker environment."""

from __future__ import annotations

import os
import signal
import threading
import time

import pyarrow.parquet as pq
import pytest

from abm.batch.execute import run_directory, run_sweep
from abm.batch.index import claim_directory, read_index
from abm.batch.plan import plan_sweep
from abm.io.errors import RunDirectoryError
from abm.io.rundir import RunDirectory
from abm.runner import start_run

SHORT = {"time.duration_d": 2}
"""Runs of 48 steps (2 d of 1 h): enough to differ between parameters and seeds."""


def serial_timeseries(run, tmp_path):
    """The time series of ``run`` done in this process, outside Dask."""
    out = start_run(run.loaded, tmp_path / f"serial_{run.run_id}", steps=run.steps, progress="off")
    return RunDirectory.open(out).read_timeseries()


def rows_by_id(out):
    return {row["run_id"]: row for row in read_index(out / "sweep.parquet")}


def test_workers_are_single_threaded_numba_processes(client):
    def worker_numba_threads():
        import numba

        return os.environ["NUMBA_NUM_THREADS"], numba.config.NUMBA_NUM_THREADS

    info = client.scheduler_info()["workers"]
    assert len(info) == 2
    assert {w["nthreads"] for w in info.values()} == {1}
    answers = client.run(worker_numba_threads)
    assert list(answers.values()) == [("1", 1), ("1", 1)]


def test_sweep_equals_the_same_runs_done_serially(write_sweep, run_cli, tmp_path):
    sweep = write_sweep({"set": SHORT})
    plan = plan_sweep(sweep)
    serial = {run.run_id: serial_timeseries(run, tmp_path) for run in plan.runs}
    out = tmp_path / "sweep_out"
    command = ["sweep", "run", sweep, "--out", out, "--workers", "2", "--progress", "lines"]
    result = run_cli(command, env={"NUMBA_NUM_THREADS": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == str(out)
    assert "8 runs: 8 completed, 0 failed" in result.stderr
    rows = rows_by_id(out)
    assert len(rows) == 8
    for run in plan.runs:
        row = rows[run.run_id]
        assert (row["status"], row["attempts"], row["seed"]) == ("completed", 1, run.seed)
        assert row["cells.plasma_cell.division_rate_per_day"] == run.parameters[
            "cells.plasma_cell.division_rate_per_day"
        ]
        series = RunDirectory.open(run_directory(out, run)).read_timeseries()
        assert series.equals(serial[run.run_id]), run.run_id
        last = series.num_rows - 1
        assert row["final_n_plasma_cell"] == series["n_plasma_cell"][last].as_py()
        assert row["final_serum_vegf_pg_per_mL"] == series["serum_vegf_pg_per_mL"][last].as_py()
    finals = {row["final_n_plasma_cell"] for row in rows.values()}
    assert len(finals) > 1  # parameters and seeds matter

    before = (out / "sweep.parquet").read_bytes()
    again = run_cli(command, env={"NUMBA_NUM_THREADS": "1"}, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "8 runs: 8 completed, 0 failed" in again.stderr
    assert [r["attempts"] for r in rows_by_id(out).values()] == [1] * 8
    assert pq.read_table(out / "sweep.parquet").equals(pq.read_table(_written(before, tmp_path)))


def _written(data: bytes, tmp_path):
    path = tmp_path / "before.parquet"
    path.write_bytes(data)
    return path


def test_a_failing_run_is_recorded_and_only_it_is_retried(client, write_sweep, tmp_path):
    # 2000 plasma cells cannot be placed on the 900 voxels of the tiny lattice: that run fails
    # when its model is built, on the worker, like any impossible placement.
    counts = {"kind": "values", "values": [100, 2000, 150]}
    sweep = write_sweep(
        {"set": SHORT, "parameters": {"cells.plasma_cell.initial_count": counts}, "replicates": 1}
    )
    plan = plan_sweep(sweep)
    out = tmp_path / "failing"
    index = run_sweep(plan, out, client, progress="off")
    assert index.counts() == {"pending": 0, "completed": 2, "failed": 1}
    rows = rows_by_id(out)
    failed = rows["p00001_r000"]
    assert failed["status"] == "failed"
    assert failed["error"].startswith("cells.plasma_cell.initial_count: 2000 cells requested")
    assert failed["final_n_plasma_cell"] is None
    assert [rows[r]["final_n_plasma_cell"] > 0 for r in ("p00000_r000", "p00002_r000")] == [
        True, True
    ]
    manifests = {
        run.run_id: (run_directory(out, run) / "manifest.json").stat().st_mtime_ns
        for run in plan.runs if run.point != 1
    }

    run_sweep(plan, out, client, progress="off")
    rows = rows_by_id(out)
    assert {r: row["attempts"] for r, row in rows.items()} == {
        "p00000_r000": 1, "p00001_r000": 2, "p00002_r000": 1
    }
    assert rows["p00001_r000"]["status"] == "failed"
    for run_id, mtime in manifests.items():
        assert (out / "runs" / run_id / "manifest.json").stat().st_mtime_ns == mtime


def test_a_changed_sweep_file_is_refused_in_the_same_directory(write_sweep, run_cli, tmp_path):
    out = tmp_path / "changed"
    sweep = write_sweep({"set": SHORT})
    claim_directory(plan_sweep(sweep), out)
    write_sweep({"set": SHORT, "replicates": 3})
    with pytest.raises(RunDirectoryError, match=r"replicates: 2 -> replicates: 3"):
        claim_directory(plan_sweep(sweep), out)
    result = run_cli(["sweep", "run", sweep, "--out", out, "--progress", "off"])
    assert result.returncode == 2
    [message] = result.stderr.splitlines()
    assert message.startswith(f"{out / 'sweep.yaml'}: this directory holds a different sweep")
    unrelated = tmp_path / "unrelated"
    unrelated.mkdir()
    (unrelated / "notes.txt").write_text("mine\n")
    with pytest.raises(RunDirectoryError, match="not empty and holds no sweep.yaml"):
        claim_directory(plan_sweep(sweep), unrelated)
    assert sorted(p.name for p in unrelated.iterdir()) == ["notes.txt"]


def test_a_killed_worker_loses_no_completed_run(client, write_sweep, tmp_path):
    # Two short runs (1 d) go first, one to each worker; then two long ones (12 d, a few
    # seconds each): the worker of one long run is killed while it runs.
    durations = {"kind": "values", "values": [1, 12]}
    sweep = write_sweep({"parameters": {"time.duration_d": durations}, "replicates": 2})
    plan = plan_sweep(sweep)
    out = tmp_path / "killed"
    finished = threading.Event()
    thread = threading.Thread(
        target=lambda: (run_sweep(plan, out, client, progress="off"), finished.set())
    )
    thread.start()
    victim = _kill_a_worker_running_a_long_run(client, out)
    thread.join(timeout=240)
    assert finished.is_set()
    rows = rows_by_id(out)
    statuses = {run_id: row["status"] for run_id, row in rows.items()}
    assert statuses["p00000_r000"] == statuses["p00000_r001"] == "completed"
    [lost] = [run_id for run_id, status in statuses.items() if status == "failed"]
    assert lost.startswith("p00001_"), (victim, statuses)
    assert "the worker running it died (KilledWorker)" in rows[lost]["error"]

    index = run_sweep(plan, out, client, progress="off")
    assert index.counts() == {"pending": 0, "completed": 4, "failed": 0}
    rows = rows_by_id(out)
    assert [rows[r]["attempts"] for r in sorted(rows)] == [
        1, 1, *(2 if r == lost else 1 for r in ("p00001_r000", "p00001_r001"))
    ]
    [retried] = [run for run in plan.runs if run.run_id == lost]
    series = RunDirectory.open(run_directory(out, retried)).read_timeseries()
    assert series.equals(serial_timeseries(retried, tmp_path))


def _kill_a_worker_running_a_long_run(client, out, timeout_s=120.0):
    """Once both short runs are in the index, SIGKILL a worker that is running a task."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (out / "sweep.parquet").is_file():
            done = [r for r in read_index(out / "sweep.parquet") if r["status"] == "completed"]
            busy = [w for w, tasks in client.processing().items() if tasks]
            if len(done) >= 2 and busy:
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                return busy[0]
        time.sleep(0.05)
    raise AssertionError("no worker was running a long run")


def test_the_command_on_an_existing_scheduler_exits_1_when_a_run_failed(
    client, write_sweep, run_cli, tmp_path
):
    counts = {"kind": "values", "values": [150, 2000]}
    sweep = write_sweep(
        {"set": {"time.duration_d": 1}, "parameters": {"cells.plasma_cell.initial_count": counts},
         "replicates": 1}
    )
    out = tmp_path / "cli_failing"
    address = client.scheduler.address
    command = ["sweep", "run", sweep, "--out", out, "--scheduler", address, "--progress", "off"]
    result = run_cli(command, env={"NUMBA_NUM_THREADS": "1"}, timeout=300)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1] == str(out)
    assert "2 runs: 1 completed, 1 failed" in result.stderr
    assert "run the same command again to retry the failed ones" in result.stderr
    assert [r["status"] for r in read_index(out / "sweep.parquet")] == ["completed", "failed"]
