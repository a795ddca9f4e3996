"""Tests for abm.io.atomic: complete replacement, no leftovers, old file kept on failure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from abm.io import atomic_write_bytes, atomic_write_json, atomic_write_text


def test_write_bytes_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "data.bin"
    atomic_write_bytes(target, b"first")
    assert target.read_bytes() == b"first"
    atomic_write_bytes(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


def test_written_file_has_umask_permissions(tmp_path: Path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    target = tmp_path / "perm.txt"
    atomic_write_text(target, "x")
    # Same mode as open(path, "w") would give, not the 0o600 of the temporary file.
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_write_text_is_utf8(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    atomic_write_text(target, "µm² – ok\n")
    assert target.read_bytes() == "µm² – ok\n".encode()


def test_write_json_format(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    obj = {"z": 1, "a": [1, 2], "big": 2**100}
    atomic_write_json(target, obj)
    text = target.read_text()
    assert text == json.dumps(obj, indent=2) + "\n"
    assert list(json.loads(text)) == ["z", "a", "big"]
    assert json.loads(text)["big"] == 2**100


def test_failed_replace_keeps_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keep.txt"
    atomic_write_text(target, "old content")

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated crash"):
        atomic_write_text(target, "new content")
    assert target.read_text() == "old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_failed_fsync_keeps_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keep.bin"
    atomic_write_bytes(target, b"old")

    def failing_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.bin"]


def test_unserialisable_json_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    atomic_write_json(target, {"ok": True})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"bad": object()})
    assert json.loads(target.read_text()) == {"ok": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]
