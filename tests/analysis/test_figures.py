"""Static figures and the ``abm plot`` / ``abm animate`` commands' handling of bad input."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
from PIL import Image

from analysis.figures import replicate_band
from analysis.runs import Run, replicate_groups


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_replicates_pool_by_scenario_and_differ_by_seed(synthetic_run):
    runs = [Run.open(synthetic_run("a1", seed=1)), Run.open(synthetic_run("b", seed=1,
            scenario_source="other.yaml", description="another arm")),
            Run.open(synthetic_run("a3", seed=3))]
    groups = replicate_groups(runs)
    assert [[run.path.name for run in group] for group in groups] == [["a1", "a3"], ["b"]]
    days, mean, sd = replicate_band(groups[0], "serum_vegf_pg_per_mL")
    np.testing.assert_array_equal(days, np.arange(5))
    np.testing.assert_array_equal(mean, 200.0 + days)  # seeds 1 and 3: 100 + day, 300 + day
    np.testing.assert_array_equal(sd, np.full(5, 100.0))


def test_plot_writes_every_figure_in_the_chosen_format(synthetic_run, run_cli, tmp_path):
    a1, a3 = synthetic_run("a1", seed=1), synthetic_run("a3", seed=3)
    result = run_cli(["plot", a1, a3, "--out", tmp_path / "figs", "--format", "svg"])
    assert result.returncode == 0, result.stderr
    written = result.stdout.split()
    assert [p.rsplit("/", 1)[1] for p in written] == [
        "timeseries.svg", "fields_a1.svg", "tissue_a1.svg", "metrics_a1.csv",
        "fields_a3.svg", "tissue_a3.svg", "metrics_a3.csv"]
    assert "<svg" in (tmp_path / "figs" / "timeseries.svg").read_text()[:500]
    result = run_cli(["plot", a1])
    assert result.returncode == 0, result.stderr
    tissue_png = np.asarray(Image.open(a1 / "plots" / "tissue_a1.png").convert("RGB"))
    assert tissue_png.shape == (1080, 1350, 3)  # 9 × 7.2 in at 150 dpi
    assert tissue_png.std() > 20


def test_bad_input_is_one_line_and_exit_2(synthetic_run, run_cli, tmp_path):
    run = synthetic_run()
    missing = tmp_path / "nowhere"
    one_line_error(run_cli(["plot", missing]), str(missing), "does not exist")
    one_line_error(run_cli(["animate", missing, "--out", tmp_path / "m.mp4"]), str(missing))
    one_line_error(run_cli(["animate", run, "--out", tmp_path / "m.mp4", "--layers", "bone,lava"]),
                   "unknown layer 'lava'", "vessels")
    bare = tmp_path / "bare"
    shutil.copytree(run, bare)
    shutil.rmtree(bare / "fields.zarr")
    one_line_error(run_cli(["animate", bare, "--out", tmp_path / "m.mp4"]), str(bare),
                   "no field snapshots")
    one_line_error(run_cli(["plot", bare]), str(bare), "no field snapshots")
    one_line_error(run_cli(["animate", run, "--out", tmp_path / "m.mp4", "--series", "nope"]),
                   "no time-series column 'nope'")
    assert not (tmp_path / "m.mp4").exists()


def test_animate_prints_the_movie_last_and_reports_progress_lines(synthetic_run, run_cli,
                                                                   tmp_path):
    run = synthetic_run()
    out = tmp_path / "movie.gif"
    result = run_cli(["animate", run, "--out", out, "--size", "320x180", "--layers",
                      "bone,vessels", "--progress", "lines"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(out)
    assert result.stderr.strip().splitlines()[-1].startswith("[movie.gif] frame 3/3")
    assert Image.open(out).size == (320, 180)
