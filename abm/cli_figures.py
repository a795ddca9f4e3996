"""The figure commands of the ``abm`` command line: ``plot``, ``animate`` and ``view``.

They draw with :mod:`analysis`, which imports matplotlib (and ``view`` Mesa's Solara pages), so
every import of it happens inside the command functions: importing :mod:`abm.cli` stays light.
Bad input (a missing run directory, a run without snapshots, an unknown layer) prints one line
naming it and exits with status 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from abm.cli_common import ProgressOption, fail, progress_mode

VIEW_SCENARIO_ENV = "ABM_VIEW_SCENARIO"
"""Environment variable through which ``abm view`` tells the page (:mod:`abm.view`) its
scenario file."""


def plot(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories (replicates pool).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Directory [default: first run's plots/].")
    ] = None,
    format_: Annotated[str, typer.Option("--format", help="png, svg or pdf.")] = "png",
) -> None:
    """Time-series panels of the runs (replicate mean ± SD) and each run's last fields and
    tissue view; prints the files written."""
    from abm.io.errors import RunDirectoryError
    from analysis.figures import plot_runs
    from analysis.runs import UsageError

    try:
        for path in plot_runs(run_dirs, out, format_):
            print(path)
    except (RunDirectoryError, UsageError) as exc:
        fail(str(exc))


def animate(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories, shown side by side.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Movie file: .mp4 or .gif.")],
    layers: Annotated[
        str, typer.Option(help="Comma-separated: bone, vessels, cells and at most one field.")
    ] = "bone,vessels,cells,vegf",
    series: Annotated[
        str | None, typer.Option(help="Comma-separated time-series columns under the views.")
    ] = None,
    size: Annotated[str, typer.Option(help="Frame size WIDTHxHEIGHT in pixels (even).")] = (
        "1920x1080"
    ),
    fps: Annotated[int, typer.Option(min=1, max=60, help="Frames per second.")] = 8,
    progress: ProgressOption = "auto",
) -> None:
    """Render a movie of one or more runs (one frame per common snapshot); prints its path."""
    from abm.io.errors import RunDirectoryError
    from analysis.animate import parse_size, write_movie
    from analysis.runs import UsageError

    progress_mode(progress)
    try:
        path = write_movie(
            run_dirs, out, [name for name in layers.split(",") if name],
            series=None if series is None else [name for name in series.split(",") if name],
            size_px=parse_size(size), fps=fps, progress=progress,
        )
    except (RunDirectoryError, UsageError) as exc:
        fail(str(exc))
    print(path)


def view(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    port: Annotated[int, typer.Option(help="Port of the page.")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the interactive SolaraViz page of a scenario (tissue view, live time series,
    parameter sliders) until Ctrl-C."""
    import importlib.util

    from abm.scenario import ScenarioError, load_scenario

    if importlib.util.find_spec("solara") is None:
        fail('abm view needs the optional "viz" dependencies: pip install -e ".[viz]"')
    try:
        load_scenario(scenario)
    except ScenarioError as exc:
        fail(str(exc))
    os.environ[VIEW_SCENARIO_ENV] = str(scenario.resolve())
    print(f"serving {scenario} at http://{host}:{port}/ (Ctrl-C stops)", file=sys.stderr)
    sys.stderr.flush()
    # the server replaces this process, so signals (Ctrl-C, terminate) reach it directly
    os.execv(sys.executable, [sys.executable, "-m", "solara", "run", "abm.view", "--port",
                              str(port), "--host", host, "--production", "--no-open"])


def register(app: typer.Typer) -> None:
    """Add the figure commands to the ``abm`` app."""
    app.command()(plot)
    app.command()(animate)
    app.command()(view)
