"""The commands this package adds to the ``abm`` command line: ``plot``, ``animate``, ``view``
and ``validate-model``.

:func:`register` is the ``abm.commands`` entry point (pyproject.toml) through which
:mod:`abm.cli` finds them, so the simulator never imports :mod:`analysis`. The commands import
matplotlib (and ``view`` Mesa's Solara pages) only inside their functions: starting ``abm``
stays light. Bad input (a missing run directory, a run without snapshots, an unknown layer, a bad
scenario) prints one line naming it and exits with status 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from abm.cli_common import INTERRUPTED, ProgressOption, fail, progress_mode

VIEW_SCENARIO_ENV = "ABM_VIEW_SCENARIO"
"""Environment variable through which ``abm view`` tells the page (:mod:`analysis.view`) its
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
    os.execv(sys.executable, [sys.executable, "-m", "solara", "run", "analysis.view", "--port",
                              str(port), "--host", host, "--production", "--no-open"])


def validate_model(
    replicates: Annotated[int, typer.Option(min=1, help="Runs (seeds) per scenario.")] = 3,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder of the runs and the report.")]
    = Path("runs/validation"),
    days: Annotated[float, typer.Option(min=1, help="Simulated days per run.")] = 365,
    seed: Annotated[int, typer.Option(min=0, help="Root seed of the replicates' seeds.")] = 1,
    scenarios_dir: Annotated[
        Path, typer.Option("--scenarios", help="Folder holding the healthy, POEMS and myeloma"
                           " scenario files.")
    ] = Path("scenarios"),
    roles: Annotated[
        list[str] | None, typer.Option(
            "--role", help="Run only this role (repeatable) [default: every role: healthy,"
            " poems, myeloma, the POEMS ablations and the POEMS distant marrow].")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local workers [default: one per core].")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Address of an existing Dask scheduler (tcp://host:port).")
    ] = None,
    progress: ProgressOption = "auto",
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with status 1 if any target fails.")
    ] = False,
) -> None:
    """Run the REFERENCE §3 calibration targets the model covers (healthy, POEMS and myeloma
    scenarios and the POEMS ablations, with replicates, on Dask) and write OUT/report.md with
    the table and figures; re-running continues where it stopped. Prints the report's path;
    exits with status 1 if a run failed (the report then covers the completed runs), or with
    --strict if a target fails."""
    from abm.batch.clusters import ClusterError, sweep_client
    from abm.io.errors import RunDirectoryError
    from abm.provenance import git_revision, utc_now
    from abm.scenario import ScenarioError
    from abm.validation import plan_replicates, run_replicates
    from analysis.runs import Run
    from analysis.validation import ROLES, write_report

    progress_mode(progress)
    if scheduler is not None and workers is not None:
        fail("--scheduler uses the workers it has: no --workers with it")
    unknown = sorted(set(roles or ()) - set(ROLES))
    if unknown:
        fail(f"--role: unknown role {', '.join(unknown)} (roles: {', '.join(ROLES)})")
    chosen = [role for role in ROLES if not roles or role in roles]
    scenarios = {role: (scenarios_dir / ROLES[role].scenario, ROLES[role].overrides)
                 for role in chosen}
    try:
        plans = plan_replicates(scenarios, out, replicates=replicates, days=days, seed=seed)
        with sweep_client(workers=workers, scheduler=scheduler) as client:
            completed, failed = run_replicates(plans, out, client, progress=progress)
        runs = {role: [Run.open(path) for path in paths] for role, paths in completed.items()}
    except (ScenarioError, ClusterError, RunDirectoryError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        print(f"interrupted; run the same command again to continue {out}", file=sys.stderr)
        raise typer.Exit(INTERRUPTED) from None
    revision = git_revision()
    commit = "unknown" if revision is None else revision["revision"][:12] + (
        " (with uncommitted changes)" if revision["dirty"] else ""
    )
    header = [
        f"Written {utc_now()} by `abm validate-model --replicates {replicates} --days {days:g}"
        f" --seed {seed}` at git revision {commit}.",
        "",
        "Scenarios: " + ", ".join(
            f"{role} `{path}`" + "".join(f" `{key}={value:g}`" for key, value in changes.items())
            for role, (path, changes) in scenarios.items()) + ".",
    ]
    report, failing = write_report(runs, out, header)
    print(report)
    if failed:
        print(f"{failed} runs failed; run the same command again to retry them", file=sys.stderr)
    if strict and failing:
        print(f"{failing} targets fail (see {report})", file=sys.stderr)
    if failed or (strict and failing):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``abm`` app (the ``abm.commands`` entry point)."""
    app.command()(plot)
    app.command()(animate)
    app.command()(view)
    app.command("validate-model")(validate_model)
