"""The ``abm`` command line: run, branch, validate, schema, info, sweep (from
:mod:`abm.batch.cli`), and the commands that installed packages add through the
:data:`COMMAND_PLUGINS` entry points (this project's :mod:`analysis` adds plot, animate, view and
validate-model: they draw or report, which the simulator itself never does).

User mistakes (a bad scenario, an existing or corrupt run directory) print one line per problem
to standard error and exit with status 2; they never show a traceback.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer

from abm.batch.cli import sweep_app
from abm.cli_common import INTERRUPTED, USAGE_ERROR, ProgressOption, fail, progress_mode
from abm.scenario import ScenarioError, json_schema, load_scenario

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Agent-based simulator of the bone-marrow microenvironment (POEMS, myeloma, healthy).",
)



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
    progress: ProgressOption = "auto",
) -> None:
    """Run a scenario and write a run directory; prints the directory's path last."""
    from abm.cells.placement import PlacementError
    from abm.io.errors import RunDirectoryError
    from abm.runner import resume_run, start_run

    progress_mode(progress)
    if overwrite and resume:
        fail("--overwrite and --resume exclude each other")
    overrides = [*(set_ or []), *([f"seed={seed}"] if seed is not None else [])]
    out = out if out is not None else Path("runs") / scenario.stem
    try:
        loaded = load_scenario(scenario, overrides)
        if resume:
            path = resume_run(out, expected=loaded, steps=steps, progress=progress)
        else:
            path = start_run(loaded, out, overwrite=overwrite, steps=steps, progress=progress)
    except ScenarioError as exc:
        fail(str(exc))
    except PlacementError as exc:
        fail(f"{scenario}: {exc.key_path}: {exc}")
    except RunDirectoryError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        print(
            f"interrupted; continue with: abm run {scenario} --out {out} --resume",
            file=sys.stderr,
        )
        raise typer.Exit(INTERRUPTED) from None
    print(path)


def _parse_time(text: str, option: str, step_h: float) -> int:
    """Steps in a time given as ``<number>d`` or ``<number>h`` (a whole number of steps)."""
    import re

    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([dh])\s*", text)
    if not match:
        fail(f"{option}: {text!r} is not a time such as 365d or 48h")
    hours = float(match.group(1)) * (24.0 if match.group(2) == "d" else 1.0)
    steps = hours / step_h
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        fail(f"{option}: {text} is not a whole number of {step_h:g} h steps")
    return round(steps)


@app.command()
def branch(
    run_dir: Annotated[Path, typer.Argument(help="The parent run directory (untreated).")],
    at: Annotated[str, typer.Option("--at", help="Branch time, e.g. 365d or 48h: a checkpoint"
                                    " of the parent.")],
    arm: Annotated[list[Path], typer.Option("--arm", help="Arm scenario file (repeatable).")],
    for_: Annotated[
        str | None,
        typer.Option("--for", help="How long each arm runs past the branch [default: the arm"
                     " file's duration]."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder of the arms' run directories [default: the"
                     " parent's folder]."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override in every arm: key.path=value (repeatable)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing arm directories.")] = False,
    progress: ProgressOption = "auto",
) -> None:
    """Start treatment arms from the identical state of a run at a checkpoint; each arm is its
    own run directory, <parent>@<time>_<arm>, named in the order given; prints each path."""
    from abm.io.errors import RunDirectoryError
    from abm.io.rundir import RunDirectory
    from abm.runner import branch_run

    progress_mode(progress)
    try:
        parent = load_scenario(RunDirectory.open(run_dir).path / RunDirectory.SCENARIO)
        arms = [load_scenario(path, set_ or []) for path in arm]
    except (ScenarioError, RunDirectoryError) as exc:
        fail(str(exc))
    step_h = parent.scenario.time.step_h
    at_step = _parse_time(at, "--at", step_h)
    steps_after = None if for_ is None else _parse_time(for_, "--for", step_h)
    folder = out if out is not None else run_dir.parent
    for loaded in arms:
        target = folder / f"{run_dir.name}@{at.strip()}_{loaded.source.stem}"
        try:
            path = branch_run(
                run_dir, at_step, loaded, target, steps_after=steps_after,
                overwrite=overwrite, progress=progress,
            )
        except (ScenarioError, RunDirectoryError) as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            print(f"interrupted; continue with: abm run {target / RunDirectory.SCENARIO}"
                  f" --out {target} --resume", file=sys.stderr)
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
        fail(str(exc))
    for line in lines:
        print(line)


COMMAND_PLUGINS = "abm.commands"
"""Entry-point group through which an installed package adds commands: each entry point names a
function that takes the ``abm`` Typer app and registers its commands on it (``analysis`` declares
``analysis.cli:register`` in pyproject.toml)."""

app.add_typer(sweep_app, name="sweep")
for _plugin in entry_points(group=COMMAND_PLUGINS):
    _plugin.load()(app)


def main() -> None:
    """Entry point of the ``abm`` console script."""
    app()
