"""The ``abm`` command line: run, validate, schema, info (and plot, animate, view from
:mod:`abm.cli_figures`).

User mistakes (a bad scenario, an existing or corrupt run directory) print one line per problem
to standard error and exit with status 2; they never show a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from abm import cli_figures
from abm.scenario import ScenarioError, json_schema, load_scenario

USAGE_ERROR = 2
INTERRUPTED = 130

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Agent-based simulator of the bone-marrow microenvironment (POEMS, myeloma, healthy).",
)


def _fail(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    raise typer.Exit(USAGE_ERROR)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory [default: runs/<scenario>].")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario value: key.path=value (repeatable)."),
    ] = None,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Total steps to run [default: the duration].")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run directory.")] = False,
    resume: Annotated[
        bool, typer.Option(help="Continue an existing run directory from its last checkpoint.")
    ] = False,
    progress: Annotated[
        str, typer.Option(help="auto (bar on a terminal, lines otherwise), bar, lines or off.")
    ] = "auto",
) -> None:
    """Run a scenario and write a run directory; prints the directory's path last."""
    from abm.cells.placement import PlacementError
    from abm.io.errors import RunDirectoryError
    from abm.runner import resume_run, start_run

    if progress not in ("auto", "bar", "lines", "off"):
        _fail(f"--progress: must be auto, bar, lines or off, not {progress!r}")
    if overwrite and resume:
        _fail("--overwrite and --resume exclude each other")
    overrides = [*(set_ or []), *([f"seed={seed}"] if seed is not None else [])]
    out = out if out is not None else Path("runs") / scenario.stem
    try:
        loaded = load_scenario(scenario, overrides)
        if resume:
            path = resume_run(out, expected=loaded, steps=steps, progress=progress)
        else:
            path = start_run(loaded, out, overwrite=overwrite, steps=steps, progress=progress)
    except ScenarioError as exc:
        _fail(str(exc))
    except PlacementError as exc:
        _fail(f"{scenario}: {exc.key_path}: {exc}")
    except RunDirectoryError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        print(
            f"interrupted; continue with: abm run {scenario} --out {out} --resume",
            file=sys.stderr,
        )
        raise typer.Exit(INTERRUPTED) from None
    print(path)


@app.command()
def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario value: key.path=value (repeatable)."),
    ] = None,
) -> None:
    """Check scenario files without running them (exit status 2 if any is invalid)."""
    failed = False
    for path in scenarios:
        try:
            loaded = load_scenario(path, set_ or [])
        except ScenarioError as exc:
            print(str(exc), file=sys.stderr)
            failed = True
            continue
        nx, ny = loaded.scenario.domain.shape
        print(
            f"{path}: OK ({nx}x{ny} voxels, {loaded.scenario.time.duration_steps} steps"
            f" of {loaded.scenario.time.step_h:g} h)"
        )
    if failed:
        raise typer.Exit(USAGE_ERROR)


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to a file.")] = None,
) -> None:
    """Print the JSON Schema of scenario files (for editor autocompletion)."""
    text = json.dumps(json_schema(), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
        print(out)


@app.command()
def info(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Summarize a run directory: scenario, progress, provenance, last readouts."""
    from abm.io.errors import RunDirectoryError
    from abm.io.summary import summarize_run

    try:
        lines = summarize_run(run_dir)
    except RunDirectoryError as exc:
        _fail(str(exc))
    for line in lines:
        print(line)


cli_figures.register(app)


def main() -> None:
    """Entry point of the ``abm`` console script."""
    app()
