"""Tests for abm.io.rundir: create/open safety, manifest, scenario, time series, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from abm.io import MANIFEST_FORMAT_VERSION, RunDirectory, RunDirectoryError, SnapshotStore


def _one_line_error(path: Path) -> str:
    """Open ``path``, expect a RunDirectoryError, check it is one line, and return it."""
    with pytest.raises(RunDirectoryError) as info:
        RunDirectory.open(path)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    return message


# -- create -------------------------------------------------------------------------------


def test_create_new_directory(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "runs" / "a")
    assert run.path == tmp_path / "runs" / "a"
    assert (run.path / RunDirectory.CHECKPOINTS).is_dir()
    assert run.read_manifest() == {"format_version": MANIFEST_FORMAT_VERSION, "status": "created"}
    assert RunDirectory.open(run.path).read_manifest()["status"] == "created"


def test_create_reuses_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    RunDirectory.create(tmp_path / "a")
    assert (tmp_path / "a" / RunDirectory.MANIFEST).is_file()


def test_create_refuses_existing_non_empty_directory(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    run.write_scenario_text("seed: 1\n")
    with pytest.raises(RunDirectoryError) as info:
        RunDirectory.create(tmp_path / "a")
    assert str(info.value) == (
        f"{tmp_path / 'a'}: run directory already exists "
        "(use --overwrite to replace it or --resume to continue it)"
    )
    assert run.read_scenario_text() == "seed: 1\n"


def test_create_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(RunDirectoryError, match="not a directory"):
        RunDirectory.create(tmp_path / "f", overwrite=True)
    assert (tmp_path / "f").read_text() == "x"


def test_overwrite_refuses_non_run_directory(tmp_path: Path) -> None:
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("important")
    with pytest.raises(RunDirectoryError, match="not a run directory"):
        RunDirectory.create(precious, overwrite=True)
    assert (precious / "chapter1.tex").read_text() == "important"


def test_overwrite_refuses_symlink_to_run_directory(tmp_path: Path) -> None:
    real = RunDirectory.create(tmp_path / "real")
    (tmp_path / "link").symlink_to(real.path)
    with pytest.raises(RunDirectoryError, match="symbolic link"):
        RunDirectory.create(tmp_path / "link", overwrite=True)
    assert (real.path / RunDirectory.MANIFEST).is_file()


def test_overwrite_replaces_run_directory(tmp_path: Path) -> None:
    old = RunDirectory.create(tmp_path / "a")
    old.update_manifest(status="finished", note="old")
    old.save_checkpoint(5, {"x": np.arange(3)}, {})
    (old.path / "stray.txt").write_text("old file")
    new = RunDirectory.create(tmp_path / "a", overwrite=True)
    assert sorted(p.name for p in new.path.iterdir()) == [
        RunDirectory.CHECKPOINTS,
        RunDirectory.MANIFEST,
    ]
    assert new.list_checkpoints() == []
    assert new.read_manifest() == {"format_version": MANIFEST_FORMAT_VERSION, "status": "created"}


# -- open -----------------------------------------------------------------------------------


def test_open_missing_directory(tmp_path: Path) -> None:
    message = _one_line_error(tmp_path / "nope")
    assert message == f"{tmp_path / 'nope'}: run directory does not exist"


def test_open_file_instead_of_directory(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert _one_line_error(tmp_path / "f") == f"{tmp_path / 'f'}: not a directory"


def test_open_missing_manifest(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    message = _one_line_error(tmp_path / "a")
    assert message == f"{tmp_path / 'a' / 'manifest.json'}: manifest not found"


def test_open_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    (run.path / "manifest.json").write_text('{\n  "status": "x",\n    oops\n}\n')
    message = _one_line_error(run.path)
    assert message == f"{run.path / 'manifest.json'}: not valid JSON (line 3, column 5)"


def test_open_manifest_not_utf8(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    (run.path / "manifest.json").write_bytes(b'{"status": "\xff"}')
    assert "not valid UTF-8" in _one_line_error(run.path)


@pytest.mark.parametrize(
    ("content", "kind"),
    [("[1, 2]", "an array"), ('"text"', "a string"), ("3.5", "a number"), ("null", "null")],
)
def test_open_manifest_not_an_object(tmp_path: Path, content: str, kind: str) -> None:
    run = RunDirectory.create(tmp_path / "a")
    (run.path / "manifest.json").write_text(content)
    message = _one_line_error(run.path)
    assert message == f"{run.path / 'manifest.json'}: must be a JSON object, not {kind}"


def test_open_manifest_missing_keys(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    (run.path / "manifest.json").write_text('{"seed": 3}')
    message = _one_line_error(run.path)
    assert message == (
        f"{run.path / 'manifest.json'}: missing required key(s): format_version, status"
    )
    (run.path / "manifest.json").write_text('{"format_version": 1}')
    assert _one_line_error(run.path).endswith("missing required key(s): status")


def test_error_message_collapses_line_breaks() -> None:
    error = RunDirectoryError(Path("runs/x"), "first line\nsecond  line\r\n")
    assert str(error) == "runs/x: first line second line"
    assert error.path == "runs/x"


# -- manifest and scenario ------------------------------------------------------------------


def test_manifest_update_is_read_modify_write(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    run.update_manifest(status="running", seed=2**70)
    result = run.update_manifest(steps_done=10)
    on_disk = json.loads((run.path / "manifest.json").read_text())
    assert result == on_disk
    assert on_disk == {
        "format_version": MANIFEST_FORMAT_VERSION,
        "status": "running",
        "seed": 2**70,
        "steps_done": 10,
    }
    assert (run.path / "manifest.json").read_text().endswith("}\n")


def test_write_manifest_requires_keys(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    with pytest.raises(ValueError, match="status"):
        run.write_manifest({"format_version": 1})
    assert run.read_manifest()["status"] == "created"


def test_scenario_round_trip_and_missing(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    with pytest.raises(RunDirectoryError, match="scenario file not found"):
        run.read_scenario_text()
    text = "grid:\n  nx: 64  # µm spacing 10\n"
    run.write_scenario_text(text)
    assert run.read_scenario_text() == text
    assert (run.path / RunDirectory.SCENARIO).read_text(encoding="utf-8") == text


# -- time series ----------------------------------------------------------------------------


def _columns(n: int = 50) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "step": np.arange(n, dtype=np.int64),
        "time_h": np.arange(n) * 0.5,
        "tumour_cells": rng.integers(0, 1000, n).astype(np.int32),
        "oxygen_mean": rng.random(n).astype(np.float32),
        "converged": rng.random(n) < 0.5,
    }


def test_timeseries_round_trip_keeps_order_and_dtypes(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    columns = _columns()
    run.write_timeseries(columns)
    table = run.read_timeseries()
    assert isinstance(table, pa.Table)
    assert table.column_names == list(columns)
    for name, values in columns.items():
        got = table.column(name).to_numpy()
        assert got.dtype == values.dtype
        np.testing.assert_array_equal(got, values)


def test_timeseries_is_byte_identical(tmp_path: Path) -> None:
    first = RunDirectory.create(tmp_path / "a")
    second = RunDirectory.create(tmp_path / "b")
    first.write_timeseries(_columns())
    second.write_timeseries(_columns())
    data = (first.path / RunDirectory.TIMESERIES).read_bytes()
    assert data == (second.path / RunDirectory.TIMESERIES).read_bytes()
    first.write_timeseries(_columns())
    assert (first.path / RunDirectory.TIMESERIES).read_bytes() == data
    first.write_timeseries({**_columns(), "time_h": _columns()["time_h"] + 1.0})
    assert (first.path / RunDirectory.TIMESERIES).read_bytes() != data


def test_timeseries_rejects_ragged_or_2d_columns(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    with pytest.raises(ValueError, match="length"):
        run.write_timeseries({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(ValueError, match="1-D"):
        run.write_timeseries({"a": np.zeros((3, 2))})
    assert not (run.path / RunDirectory.TIMESERIES).exists()


def test_timeseries_missing_or_corrupt(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    path = run.path / RunDirectory.TIMESERIES
    with pytest.raises(RunDirectoryError, match="not found"):
        run.read_timeseries()
    path.write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(RunDirectoryError) as info:
        run.read_timeseries()
    assert str(info.value).startswith(f"{path}: not a readable Parquet file")
    assert "\n" not in str(info.value)


# -- checkpoints ----------------------------------------------------------------------------


def _state() -> tuple[dict[str, np.ndarray], dict[str, object]]:
    bit_generator = np.random.PCG64(12345)
    bit_generator.advance(1000)
    arrays = {
        "positions": np.arange(12, dtype=np.int32).reshape(6, 2),
        "oxygen": np.linspace(0.0, 1.0, 20, dtype=np.float32).reshape(4, 5),
        "energy": np.array([1e-300, np.inf, -0.0, np.nan]),
        "alive": np.array([True, False, True]),
        "kind": np.array([3, 0, 255], dtype=np.uint8),
        "big": np.array([2**63 - 1, -(2**63)], dtype=np.int64),
        "labels": np.array(["Tcell", "myeloma"]),
        "empty": np.zeros((0, 3)),
    }
    meta = {"step": 40, "rng": bit_generator.state, "huge": 2**127 + 1, "note": "µm"}
    return arrays, meta


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    arrays, meta = _state()
    assert meta["rng"]["state"]["state"] > 2**64  # type: ignore[index]
    path = run.save_checkpoint(40, arrays, meta)
    assert path == run.path / "checkpoints" / "step_0000000040.npz"
    loaded_arrays, loaded_meta = run.load_checkpoint(40)
    assert loaded_meta == meta
    assert list(loaded_arrays) == list(arrays)
    for name, values in arrays.items():
        assert loaded_arrays[name].dtype == values.dtype, name
        assert loaded_arrays[name].shape == values.shape, name
        np.testing.assert_array_equal(loaded_arrays[name], values)
    restored = np.random.PCG64()
    restored.state = loaded_meta["rng"]
    original = np.random.PCG64(12345)
    original.advance(1000)
    assert restored.random_raw() == original.random_raw()


def test_checkpoint_rejects_reserved_names_and_objects(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    for name in ("__meta__", "file", "allow_pickle"):
        with pytest.raises(ValueError, match="reserved"):
            run.save_checkpoint(1, {name: np.zeros(2)}, {})
    with pytest.raises(ValueError):
        run.save_checkpoint(1, {"obj": np.array([{}, None], dtype=object)}, {})
    with pytest.raises(ValueError, match="non-negative"):
        run.save_checkpoint(-1, {}, {})
    with pytest.raises(TypeError):
        run.save_checkpoint(1, {}, {"x": object()})
    assert run.list_checkpoints() == []
    assert sorted(p.name for p in (run.path / "checkpoints").iterdir()) == []


def test_list_and_latest_checkpoint(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    assert run.latest_checkpoint() is None
    for step in (100, 7, 20_000_000_000, 55):
        run.save_checkpoint(step, {"x": np.full(2, step)}, {"step": step})
    checkpoints = run.path / "checkpoints"
    (checkpoints / ".step_0000099999.npz.abc123.tmp").write_bytes(b"partial")
    (checkpoints / "step_12.npz").write_bytes(b"not our name")
    (checkpoints / "notes.txt").write_text("x")
    assert run.list_checkpoints() == [7, 55, 100, 20_000_000_000]
    latest = run.latest_checkpoint()
    assert latest is not None
    step, arrays, meta = latest
    assert step == 20_000_000_000
    assert meta == {"step": 20_000_000_000}
    np.testing.assert_array_equal(arrays["x"], [20_000_000_000] * 2)


@pytest.mark.parametrize(
    "content",
    [
        b"garbage bytes, definitely not a zip archive",
        b"",
        b"\x93NUMPY not really",
    ],
)
def test_corrupt_checkpoint_raises_run_directory_error(tmp_path: Path, content: bytes) -> None:
    run = RunDirectory.create(tmp_path / "a")
    run.save_checkpoint(3, {"x": np.arange(4)}, {"ok": True})
    path = run.checkpoint_path(9)
    path.write_bytes(content)
    assert run.list_checkpoints() == [3, 9]
    for call in (lambda: run.load_checkpoint(9), run.latest_checkpoint):
        with pytest.raises(RunDirectoryError) as info:
            call()
        assert str(info.value).startswith(f"{path}: corrupt checkpoint")
        assert "\n" not in str(info.value)


def test_truncated_checkpoint_raises_run_directory_error(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    path = run.save_checkpoint(3, {"x": np.random.default_rng(0).random(5000)}, {})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RunDirectoryError, match="corrupt checkpoint"):
        run.load_checkpoint(3)


def test_checkpoint_without_meta_is_corrupt(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    np.savez_compressed(run.checkpoint_path(4), x=np.zeros(2))
    with pytest.raises(RunDirectoryError, match="__meta__"):
        run.load_checkpoint(4)


def test_missing_checkpoint(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    with pytest.raises(RunDirectoryError, match="checkpoint not found"):
        run.load_checkpoint(1)


# -- snapshots and plots ----------------------------------------------------------------------


def test_snapshots_through_run_directory(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    with pytest.raises(RunDirectoryError, match="snapshot store not found"):
        _ = run.snapshots
    created = run.create_snapshots((3, 4), {"oxygen": np.float64})
    created.append(0, {"oxygen": np.ones((3, 4))})
    store = RunDirectory.open(run.path).snapshots
    assert isinstance(store, SnapshotStore)
    assert store.path == run.path / RunDirectory.FIELDS
    np.testing.assert_array_equal(store.read("oxygen", 0), np.ones((3, 4)))


def test_plots_dir_created_on_demand(tmp_path: Path) -> None:
    run = RunDirectory.create(tmp_path / "a")
    assert not (run.path / RunDirectory.PLOTS).exists()
    assert run.plots_dir == run.path / RunDirectory.PLOTS
    assert run.plots_dir.is_dir()
