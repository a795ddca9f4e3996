"""Movies of runs for talks: the tissue views of one or more runs side by side (e.g. healthy |
POEMS), a synchronized time-series strip with a moving time cursor, fixed colour scales across
frames and runs; written as MP4 (H.264, the ``imageio-ffmpeg`` wheel's ffmpeg binary) or GIF
(pillow), with a progress bar on a terminal and plain lines otherwise.

One frame per snapshot time that every run has. Frame size is given in pixels and must be even
in both directions (H.264 with 4:2:0 chroma); the default 1920 × 1080 is full HD.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from abm.io.errors import RunDirectoryError  # noqa: E402
from analysis import tissue  # noqa: E402
from analysis.figures import (  # noqa: E402
    ARM_COLOURS,
    PANELS,
    draw_tissue_panel,
    heat_colorbar,
    tissue_legend_handles,
)
from analysis.runs import Run, UsageError  # noqa: E402

DEFAULT_SERIES = ("serum_vegf_pg_per_mL", "microvessel_density_per_mm2", "bone_volume_fraction")
"""Time-series columns drawn under the tissue views (those the runs recorded)."""

DEFAULT_SIZE_PX = (1920, 1080)
DEFAULT_FPS = 8
FORMATS = ("mp4", "gif")
DPI = 100
PANEL_LABELS = {column: (label, factor) for column, label, factor in PANELS}


@dataclass(frozen=True)
class MovieSpec:
    """What to draw: structure layers, the heat-map field, time-series columns, frame size in
    pixels (even) and frames per second."""

    show: tuple[str, ...]
    heat_field: str | None
    series: tuple[str, ...]
    size_px: tuple[int, int] = DEFAULT_SIZE_PX
    fps: int = DEFAULT_FPS


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> ``(1920, 1080)``; UsageError unless both are even and ≥ 64."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size: expected WIDTHxHEIGHT in pixels, not {text!r}") from None
    if width < 64 or height < 64 or width % 2 or height % 2:
        raise UsageError(f"--size: width and height must be even and at least 64, not {text!r}")
    return width, height


def check_inputs(runs: Sequence[Run], layers: Sequence[str], series: Sequence[str] | None):
    """Validate a movie request against the runs; returns ``(show, heat field, series)``.

    Raises:
        RunDirectoryError: A run has no snapshots, lacks a layer, or lacks a series column.
        UsageError: An unknown layer name (one line naming it and the choices).
    """
    fields = tissue.heat_fields(runs[0].snapshots.layer_names)
    show, heat_field = tissue.split_layers(layers, fields)
    needed = [name for layer in show for name in tissue.SNAPSHOT_LAYERS_NEEDED[layer]]
    for run in runs:
        for name in [*needed, *([heat_field] if heat_field else [])]:
            run.require_layer(name)
    if series is None:
        series = [c for c in DEFAULT_SERIES if all(c in run.timeseries for run in runs)]
    for column in series:
        for run in runs:
            if column not in run.timeseries:
                raise RunDirectoryError(
                    run.path / run.run_dir.TIMESERIES, f"no time-series column {column!r}"
                )
    return tuple(show), heat_field, tuple(series)


def frame_times_h(runs: Sequence[Run]) -> np.ndarray:
    """Snapshot times (hours) every run has, increasing (RunDirectoryError if none)."""
    common = runs[0].snapshot_times_h()
    for run in runs[1:]:
        common = np.intersect1d(common, run.snapshot_times_h())
    if common.size == 0:
        raise RunDirectoryError(runs[0].path, "the runs share no snapshot time")
    return common


class MovieFigure:
    """The figure of one movie: drawn once without its moving parts (tissue images, time
    stamps, cursors), which are then redrawn over that background frame by frame."""

    def __init__(self, runs: Sequence[Run], spec: MovieSpec, heat: tissue.HeatScale | None):
        self.runs, self.spec, self.heat = runs, spec, heat
        width, height = spec.size_px
        self.fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
        FigureCanvasAgg(self.fig)
        series_height = 0.27 if spec.series else 0.0
        right = 0.82
        top, bottom = 0.93, 0.04 + series_height + (0.05 if spec.series else 0.0)
        n = len(runs)
        gap = 0.01
        panel_w = (right - 0.01 - gap * (n - 1)) / n
        panel_h = top - bottom
        # keep panels square in pixels
        side = min(panel_w * width, panel_h * height)
        self.images, self.stamps = [], []
        x0 = 0.01 + (right - 0.01 - (n * side / width + gap * (n - 1))) / 2
        for i, run in enumerate(runs):
            ax = self.fig.add_axes((x0 + i * (side / width + gap), top - side / height,
                                    side / width, side / height))
            nx, ny = run.snapshots.shape
            blank = np.zeros((ny, nx, 3), dtype=np.uint8)
            artist, stamp = draw_tissue_panel(ax, blank, run.voxel_um, run.label, "")
            self.images.append(artist)
            self.stamps.append(stamp)
        legend_ax = self.fig.add_axes((right + 0.01, bottom + panel_h * 0.35, 0.16,
                                       panel_h * 0.65))
        legend_ax.axis("off")
        legend_ax.legend(handles=tissue_legend_handles(spec.show), loc="upper left",
                         frameon=False, fontsize=14)
        if heat is not None:
            cax = self.fig.add_axes((right + 0.02, bottom + panel_h * 0.12, 0.12, 0.025))
            heat_colorbar(self.fig, cax, heat, runs[0].field_unit(heat.field),
                          orientation="horizontal")
        self.cursors = []
        if spec.series:
            k = len(spec.series)
            for j, column in enumerate(spec.series):
                left = 0.06 + j * (0.92 / k)
                ax = self.fig.add_axes((left, 0.07, 0.92 / k - 0.06, series_height))
                label, factor = PANEL_LABELS.get(column, (column, 1.0))
                for colour, run in zip(ARM_COLOURS, runs, strict=False):
                    ax.plot(run.timeseries["time_d"], factor * run.timeseries[column],
                            color=colour, lw=2, label=run.label)
                ax.ticklabel_format(axis="y", useOffset=False)
                ax.set_ylabel(label, fontsize=13)
                ax.set_xlabel("simulated time (days)", fontsize=13)
                ax.tick_params(labelsize=11)
                ax.grid(alpha=0.3)
                self.cursors.append(ax.axvline(0.0, color="0.2", lw=1.5, ls="--"))
                if j == 0 and len(runs) > 1:
                    ax.legend(loc="upper left", fontsize=12, frameon=False)
        # Blitting: everything but the images, time stamps and cursors is drawn once.
        self.moving = [*self.images, *self.stamps, *self.cursors]
        for artist in self.moving:
            artist.set_animated(True)
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def render(self, frame_layers: Sequence[dict[str, np.ndarray]], time_h: float) -> np.ndarray:
        """``uint8[height, width, 3]`` of the frame at ``time_h`` with one snapshot per run."""
        stamp = tissue.time_stamp(time_h)
        for artist, text, layers in zip(self.images, self.stamps, frame_layers, strict=True):
            artist.set_data(tissue.compose(layers, self.spec.show, self.heat))
            text.set_text(stamp)
        for cursor in self.cursors:
            cursor.set_xdata([time_h / 24.0, time_h / 24.0])
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        for artist in self.moving:
            artist.axes.draw_artist(artist)
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def frames(runs: Sequence[Run], spec: MovieSpec) -> Iterator[np.ndarray]:
    """The movie's RGB frames, in order, with colour scales fixed over all frames and runs."""
    times_h = frame_times_h(runs)
    indices = [np.searchsorted(run.snapshot_times_h(), times_h) for run in runs]
    heat = None
    if spec.heat_field:
        ranges = [tissue.percentile_range(run.layer(spec.heat_field, int(i)))
                  for run, idx in zip(runs, indices, strict=True) for i in idx]
        heat = tissue.heat_scale_for(spec.heat_field, min(r[0] for r in ranges),
                                     max(r[1] for r in ranges))
    needed = [name for layer in spec.show for name in tissue.SNAPSHOT_LAYERS_NEEDED[layer]]
    names = [*needed, *([spec.heat_field] if spec.heat_field else [])]
    figure = MovieFigure(runs, spec, heat)
    for k, time_h in enumerate(times_h):
        layers = [run.layers(names, int(idx[k])) for run, idx in zip(runs, indices, strict=True)]
        yield figure.render(layers, float(time_h))


class FrameProgress:
    """Rendering progress on standard error: ``bar`` (rich), ``lines`` (one per 10 % of the
    frames), ``off``, or ``auto`` (a bar on a terminal, lines otherwise)."""

    def __init__(self, total: int, label: str, mode: str = "auto"):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.total, self.label, self.done, self.mode = total, label, 0, mode
        self.bar = None
        self.t0 = time.perf_counter()
        self.last_decile = -1

    def __enter__(self) -> FrameProgress:
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(*Progress.get_default_columns(), console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total)
        return self

    def advance(self) -> None:
        """One more frame rendered."""
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)
            return
        decile = self.done * 10 // self.total
        if self.mode == "lines" and decile > self.last_decile:
            self.last_decile = decile
            rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
            print(f"[{self.label}] frame {self.done}/{self.total}  {rate:.1f} frames/s",
                  file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def write_movie(
    paths: Sequence[str | Path], out: Path, layers: Sequence[str],
    series: Sequence[str] | None = None, size_px: tuple[int, int] = DEFAULT_SIZE_PX,
    fps: int = DEFAULT_FPS, progress: str = "auto",
) -> Path:
    """Render the movie of the runs at ``paths`` to ``out`` (``.mp4`` or ``.gif``); returns
    ``out``. Raises RunDirectoryError / UsageError (one line) for bad input, before any frame
    is written."""
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"{out}: the movie must end in .mp4 or .gif")
    if size_px[0] % 2 or size_px[1] % 2:
        raise UsageError(f"frame size {size_px[0]}x{size_px[1]} must be even in both directions")
    runs = [Run.open(path) for path in paths]
    show, heat_field, series = check_inputs(runs, layers, series)
    spec = MovieSpec(show, heat_field, series, size_px, fps)
    n_frames = len(frame_times_h(runs))
    out.parent.mkdir(parents=True, exist_ok=True)
    with FrameProgress(n_frames, out.name, progress) as bar:
        rendered = _counted(frames(runs, spec), bar)
        if fmt == "mp4":
            _write_mp4(rendered, out, size_px, fps)
        else:
            _write_gif(rendered, out, fps)
    return out


def _counted(frame_iter: Iterator[np.ndarray], bar: FrameProgress) -> Iterator[np.ndarray]:
    for frame in frame_iter:
        yield frame
        bar.advance()


def _write_mp4(frame_iter: Iterator[np.ndarray], out: Path, size_px: tuple[int, int], fps: int):
    """H.264 (yuv420p, playable everywhere) through the imageio-ffmpeg wheel's ffmpeg."""
    import imageio_ffmpeg

    tmp = out.with_name(f".{out.name}.part.mp4")
    writer = imageio_ffmpeg.write_frames(
        str(tmp), size_px, fps=fps, codec="libx264", pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p", quality=8, macro_block_size=2,
        output_params=["-preset", "veryfast", "-movflags", "+faststart"],
    )
    writer.send(None)
    try:
        for frame in frame_iter:
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()
    tmp.replace(out)


def _write_gif(frame_iter: Iterator[np.ndarray], out: Path, fps: int) -> None:
    """An endlessly looping GIF (pillow), one adaptive 256-colour palette per frame."""
    from PIL import Image

    images = [Image.fromarray(frame).quantize(256, dither=Image.Dither.NONE)
              for frame in frame_iter]
    tmp = out.with_name(f".{out.name}.part.gif")
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                   duration=round(1000 / fps), loop=0)
    tmp.replace(out)

