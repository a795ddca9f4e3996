"""Tests for abm.io.snapshots: round trip, validation, deterministic files, truncation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import abm.io.snapshots as snapshots_module
from abm.io import RunDirectoryError, SnapshotStore

SHAPE = (5, 7)
LAYERS = {"oxygen": np.dtype(np.float32), "cells": np.dtype(np.int16), "mask": np.dtype(bool)}


def _snapshot(seed: int) -> dict[str, np.ndarray]:
    """Deterministic, non-trivial snapshot data for all LAYERS."""
    rng = np.random.default_rng(seed)
    return {
        "oxygen": rng.random(SHAPE, dtype=np.float32),
        "cells": rng.integers(-100, 100, size=SHAPE, dtype=np.int16),
        "mask": rng.random(SHAPE) < 0.5,
    }


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every file (-> its bytes) and directory (-> None) below root, by relative path."""
    tree: dict[str, bytes | None] = {}
    for directory, subdirs, files in os.walk(root):
        for name in subdirs:
            tree[os.path.relpath(os.path.join(directory, name), root)] = None
        for name in files:
            path = Path(directory, name)
            tree[str(path.relative_to(root))] = path.read_bytes()
    return tree


def test_append_read_round_trip(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path / "f.zarr", SHAPE, LAYERS)
    data = [_snapshot(i) for i in range(3)]
    for step, snap in zip((0, 10, 25), data, strict=True):
        store.append(step, snap)
    reopened = SnapshotStore.open(tmp_path / "f.zarr")
    assert len(reopened) == 3
    assert reopened.layer_names == ("oxygen", "cells", "mask")
    assert reopened.shape == SHAPE
    np.testing.assert_array_equal(reopened.steps(), [0, 10, 25])
    assert reopened.steps().dtype == np.int64
    for index, snap in enumerate(data):
        for name, expected in snap.items():
            got = reopened.read(name, index)
            assert got.dtype == LAYERS[name]
            np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(reopened.read("cells", -1), data[2]["cells"])
    with pytest.raises(IndexError):
        reopened.read("cells", 3)


def test_new_store_is_empty_and_records_attributes(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    store = SnapshotStore.create(path, SHAPE, LAYERS)
    assert len(store) == 0
    assert store.steps().shape == (0,)
    attrs = json.loads((path / "zarr.json").read_text())["attributes"]
    assert attrs["shape"] == list(SHAPE)
    assert attrs["layers"] == list(LAYERS)
    meta = json.loads((path / "oxygen" / "zarr.json").read_text())
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [1, *SHAPE]
    assert meta["shape"] == [0, *SHAPE]


def test_one_chunk_file_per_snapshot(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path / "f.zarr", SHAPE, {"oxygen": np.float32})
    for step in range(3):
        store.append(step, {"oxygen": np.full(SHAPE, step + 1.0)})
    chunks = sorted(
        p.relative_to(tmp_path / "f.zarr" / "oxygen").as_posix()
        for p in (tmp_path / "f.zarr" / "oxygen" / "c").rglob("*")
        if p.is_file()
    )
    assert chunks == ["c/0/0/0", "c/1/0/0", "c/2/0/0"]


def test_append_validates_layers_shape_dtype_and_step(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path / "f.zarr", SHAPE, LAYERS)
    good = _snapshot(0)
    with pytest.raises(ValueError, match="layers"):
        store.append(0, {k: v for k, v in good.items() if k != "mask"})
    with pytest.raises(ValueError, match="layers"):
        store.append(0, {**good, "extra": good["mask"]})
    with pytest.raises(ValueError, match="shape"):
        store.append(0, {**good, "oxygen": np.zeros((7, 5), np.float32)})
    with pytest.raises(ValueError, match="cannot store"):
        store.append(0, {**good, "cells": np.zeros(SHAPE, np.float64)})
    assert len(store) == 0
    store.append(5, good)
    with pytest.raises(ValueError, match="not after"):
        store.append(5, good)
    assert len(store) == 1


def test_create_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="layer name"):
        SnapshotStore.create(tmp_path / "a.zarr", SHAPE, {"step": np.int64})
    with pytest.raises(ValueError, match="layer name"):
        SnapshotStore.create(tmp_path / "b.zarr", SHAPE, {"a/b": np.int64})
    with pytest.raises(ValueError, match="shape"):
        SnapshotStore.create(tmp_path / "c.zarr", (0, 3), LAYERS)
    SnapshotStore.create(tmp_path / "d.zarr", SHAPE, LAYERS)
    with pytest.raises(RunDirectoryError, match="already exists"):
        SnapshotStore.create(tmp_path / "d.zarr", SHAPE, LAYERS)


def test_identical_data_gives_identical_files(tmp_path: Path) -> None:
    for name in ("a.zarr", "b.zarr"):
        store = SnapshotStore.create(tmp_path / name, SHAPE, LAYERS)
        for step in range(4):
            store.append(step * 3, _snapshot(step))
    assert _tree(tmp_path / "a.zarr") == _tree(tmp_path / "b.zarr")


@pytest.mark.parametrize("step_chunk", [4096, 3])
def test_truncate_then_reappend_matches_never_truncated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step_chunk: int
) -> None:
    # step_chunk=3 makes the truncation cross and end inside step-array chunks.
    monkeypatch.setattr(snapshots_module, "STEP_CHUNK", step_chunk)
    reference = SnapshotStore.create(tmp_path / "ref.zarr", SHAPE, LAYERS)
    for step in range(6):
        reference.append(step, _snapshot(step))

    store = SnapshotStore.create(tmp_path / "trunc.zarr", SHAPE, LAYERS)
    for step in range(8):
        # Different data for steps 4..7 so stale chunks would be detected.
        store.append(step, _snapshot(step if step < 4 else 100 + step))
    store.truncate_after(3)
    assert len(store) == 4
    np.testing.assert_array_equal(store.steps(), [0, 1, 2, 3])
    reopened = SnapshotStore.open(tmp_path / "trunc.zarr")
    assert len(reopened) == 4
    for step in (4, 5):
        reopened.append(step, _snapshot(step))

    assert _tree(tmp_path / "ref.zarr") == _tree(tmp_path / "trunc.zarr")


def test_truncate_everything_and_nothing(tmp_path: Path) -> None:
    empty = SnapshotStore.create(tmp_path / "empty.zarr", SHAPE, LAYERS)
    store = SnapshotStore.create(tmp_path / "s.zarr", SHAPE, LAYERS)
    for step in (10, 20):
        store.append(step, _snapshot(step))
    before = _tree(tmp_path / "s.zarr")
    store.truncate_after(20)
    assert _tree(tmp_path / "s.zarr") == before
    store.truncate_after(9)
    assert len(store) == 0
    assert len(empty) == 0
    assert _tree(tmp_path / "s.zarr") == _tree(tmp_path / "empty.zarr")


def test_append_repairs_layer_left_long_by_interrupted_append(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path / "f.zarr", SHAPE, LAYERS)
    store.append(0, _snapshot(0))
    # Simulate a crash after one layer of the next snapshot was written.
    oxygen = store._arrays["oxygen"]
    oxygen.resize((2, *SHAPE))
    oxygen[1] = np.full(SHAPE, 9.0, dtype=np.float32)
    reopened = SnapshotStore.open(tmp_path / "f.zarr")
    assert len(reopened) == 1
    reopened.append(1, _snapshot(1))
    np.testing.assert_array_equal(reopened.read("oxygen", 1), _snapshot(1)["oxygen"])
    assert len(reopened) == 2


def test_open_errors_are_one_line(tmp_path: Path) -> None:
    cases: list[Path] = []

    cases.append(tmp_path / "missing.zarr")

    empty = tmp_path / "empty.zarr"
    empty.mkdir()
    cases.append(empty)

    corrupt = tmp_path / "corrupt.zarr"
    SnapshotStore.create(corrupt, SHAPE, LAYERS)
    (corrupt / "zarr.json").write_text("{not json\n\n")
    cases.append(corrupt)

    foreign = tmp_path / "foreign.zarr"
    SnapshotStore.create(foreign, SHAPE, LAYERS)
    meta = json.loads((foreign / "zarr.json").read_text())
    meta["attributes"] = {}
    (foreign / "zarr.json").write_text(json.dumps(meta))
    cases.append(foreign)

    no_layer = tmp_path / "nolayer.zarr"
    SnapshotStore.create(no_layer, SHAPE, LAYERS)
    for file in sorted((no_layer / "cells").rglob("*"), reverse=True):
        file.unlink() if file.is_file() else file.rmdir()
    (no_layer / "cells").rmdir()
    cases.append(no_layer)

    for path in cases:
        with pytest.raises(RunDirectoryError) as info:
            SnapshotStore.open(path)
        message = str(info.value)
        assert "\n" not in message, message
        assert message.startswith(f"{path}: "), message
