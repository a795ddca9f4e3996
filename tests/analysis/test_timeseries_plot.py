"""The run's time-series figure: three panels drawn from a real run directory."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image

from analysis.timeseries import plot_timeseries


def test_plot_of_a_tiny_run_has_its_panels(tiny_scenario, tmp_path, repo_root):
    run = tmp_path / "run"
    subprocess.run(
        [sys.executable, "-m", "abm", "run", str(tiny_scenario), "--out", str(run),
         "--steps", "48", "--progress", "off"],
        check=True, capture_output=True, cwd=repo_root,
    )
    png = plot_timeseries(run)
    assert png == run / "plots" / "timeseries.png"
    pixels = np.asarray(Image.open(png).convert("L"))
    assert pixels.shape == (1020, 840)  # 7 × 8.5 in at 120 dpi
    assert (pixels < 128).mean() > 0.01  # lines, labels and axes were drawn


def test_command_line_reports_a_missing_run_directory(tmp_path, repo_root):
    result = subprocess.run(
        [sys.executable, "-m", "analysis.timeseries", str(tmp_path / "nowhere")],
        capture_output=True, text=True, cwd=repo_root,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "nowhere" in result.stderr
