"""Fixtures of the batch tests: sweep files over the tiny scenario of ``tests/conftest.py``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dask
import pytest

from abm.batch.clusters import sweep_client


@pytest.fixture
def write_sweep(tiny_scenario: Path) -> Callable[..., Path]:
    """Factory: ``write_sweep(changes, name="sweep.yaml")`` writes a sweep file (JSON) beside
    the tiny scenario; ``changes`` replace keys of a 2-parameter grid with 2 replicates."""

    def write(changes: Mapping[str, Any] | None = None, name: str = "sweep.yaml") -> Path:
        tree = {
            "scenario": tiny_scenario.name,
            "parameters": {
                "cells.plasma_cell.division_rate_per_day": {"kind": "values", "values": [1, 3]},
                "cells.stromal_cell.death_rate_per_day": {
                    "kind": "range", "start": 0.25, "stop": 0.75, "num": 2,
                },
            },
            "design": {"kind": "grid"},
            "replicates": 2,
            "seed": 11,
            **(changes or {}),
        }
        path = tiny_scenario.parent / name
        path.write_text(json.dumps(tree, indent=2) + "\n")
        return path

    return write


@pytest.fixture(scope="session")
def client():
    """A 2-worker LocalCluster built as ``abm sweep run`` builds it. The parent process says
    ``NUMBA_NUM_THREADS=2`` while the workers start, so the workers' 1 must come from the
    cluster; a task whose worker dies fails at once (no retry on another worker)."""
    with (
        pytest.MonkeyPatch.context() as patch,
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
    ):
        patch.setenv("NUMBA_NUM_THREADS", "2")
        with sweep_client(workers=2) as dask_client:
            patch.undo()
            yield dask_client
