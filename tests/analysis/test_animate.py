"""Movies decoded back: frame count and size, non-blank frames, the vessel's colour where it
was placed, and colour scales fixed across frames and runs."""

from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from analysis import tissue
from analysis.animate import MovieFigure, MovieSpec, check_inputs, parse_size, write_movie
from analysis.runs import Run, UsageError
from tests.analysis.synthetic import SNAPSHOT_STEPS, VESSEL

SIZE = (640, 360)
LAYERS = ["bone", "vessels", "cells", "vegf"]


def decode_mp4(path) -> list[np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    return [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]


def voxel_pixel(run_paths, panel: int, x: float, y: float) -> tuple[int, int]:
    """(row, column) in the frame of voxel centre (x, y) of run ``panel``'s tissue view."""
    runs = [Run.open(p) for p in run_paths]
    show, heat, series = check_inputs(runs, LAYERS, None)
    figure = MovieFigure(runs, MovieSpec(show, heat, series, SIZE), None)
    figure.fig.canvas.draw()  # apply the equal aspect ratio to the panels
    box = figure.images[panel].axes.get_window_extent()
    nx, ny = runs[panel].snapshots.shape
    column = box.x0 + (x + 0.5) / nx * box.width
    row = SIZE[1] - (box.y1 - (y + 0.5) / ny * box.height)
    return int(row), int(column)


def vessel_centre() -> tuple[float, float]:
    return tuple((axis.start + axis.stop) / 2 - 0.5 for axis in VESSEL)


@pytest.fixture
def two_arms(synthetic_run):
    return [synthetic_run("healthy", scenario_source="healthy.yaml"),
            synthetic_run("poems", scenario_source="poems.yaml", vegf_scale=2.0)]


def test_mp4_frames_size_and_vessel_colour(two_arms, tmp_path):
    out = write_movie(two_arms, tmp_path / "talk.mp4", LAYERS, size_px=SIZE, progress="off")
    frames = decode_mp4(out)
    assert len(frames) == len(SNAPSHOT_STEPS)
    assert frames[0].shape == (SIZE[1], SIZE[0], 3)
    for frame in frames:
        assert frame.std() > 20  # drawn, not blank
    red = np.array(to_rgb(tissue.LUMEN_COLOUR)) * 255
    for panel in (0, 1):
        row, column = voxel_pixel(two_arms, panel, *vessel_centre())
        np.testing.assert_allclose(frames[-1][row, column], red, atol=30)


def test_gif_colour_scale_is_fixed_across_frames_and_runs(two_arms, tmp_path):
    out = write_movie(two_arms, tmp_path / "talk.gif", LAYERS, size_px=SIZE, progress="off")
    gif = Image.open(out)
    assert gif.n_frames == len(SNAPSHOT_STEPS) and gif.size == SIZE
    frames = []
    for k in range(gif.n_frames):
        gif.seek(k)
        frames.append(np.asarray(gif.convert("RGB")).astype(int))
    marrow = (38.0, 2.0)  # a voxel without bone, vessel or cell
    a_row, a_col = voxel_pixel(two_arms, 0, *marrow)
    b_row, b_col = voxel_pixel(two_arms, 1, *marrow)
    # VEGF of run a at snapshot 2 equals that of run b (twice as much) at snapshot 1
    np.testing.assert_allclose(frames[2][a_row, a_col], frames[1][b_row, b_col], atol=3)
    assert np.abs(frames[2][a_row, a_col] - frames[0][a_row, a_col]).sum() > 60
    row, column = voxel_pixel(two_arms, 1, *vessel_centre())
    red = np.array(to_rgb(tissue.LUMEN_COLOUR)) * 255
    np.testing.assert_allclose(frames[0][row, column], red, atol=8)


def test_inputs_are_checked_before_rendering(synthetic_run, tmp_path):
    run = synthetic_run()
    with pytest.raises(UsageError, match="unknown layer 'lava'"):
        write_movie([run], tmp_path / "x.mp4", ["bone", "lava"], progress="off")
    with pytest.raises(UsageError, match=r"\.mp4 or \.gif"):
        write_movie([run], tmp_path / "x.avi", ["bone"], progress="off")
    with pytest.raises(UsageError, match="even"):
        parse_size("1919x1080")
    assert parse_size("1280x720") == (1280, 720)
    assert not (tmp_path / "x.mp4").exists()


def test_progress_lines_when_not_a_terminal(synthetic_run, tmp_path, capsys):
    write_movie([synthetic_run()], tmp_path / "m.gif", ["bone"], size_px=(128, 96),
                progress="lines")
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith(f"[m.gif] frame {len(SNAPSHOT_STEPS)}/{len(SNAPSHOT_STEPS)}")
