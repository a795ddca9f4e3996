"""Fixtures of the analysis tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.analysis.synthetic import write_synthetic_run


@pytest.fixture
def synthetic_run(tmp_path: Path) -> Callable[..., Path]:
    """``synthetic_run(name, **kwargs)``: write :func:`write_synthetic_run` at tmp/name."""

    def make(name: str = "run", **kwargs) -> Path:
        return write_synthetic_run(tmp_path / name, **kwargs)

    return make
