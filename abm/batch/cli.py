"""``abm sweep``: plan, run, collect and analyse batch experiments (docs/batch.md).

User mistakes print one line per problem (``file:line:col: key.path: message`` for sweep
files) and exit with status 2, never with a traceback. Dask, SALib and matplotlib are imported
inside the commands that need them, so ``abm --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from abm.scenario import ScenarioError

USAGE_ERROR = 2
RUNS_FAILED = 1

sweep_app = typer.Typer(
    no_args_is_help=True,
    help="Batch experiments: many runs of one scenario over a design of parameter values.",
)


def _fail(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    raise typer.Exit(USAGE_ERROR)


def _plan(sweep: Path) -> Any:
    from abm.batch.plan import plan_sweep

    try:
        return plan_sweep(sweep)
    except ScenarioError as exc:
        _fail(str(exc))


def format_table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """Right-aligned plain-text columns (numbers shown with up to 6 significant digits)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[j]) for r in cells)) for j, h in enumerate(header)]
    return [
        "  ".join(text.rjust(width) for text, width in zip(line, widths, strict=True))
        for line in (header, *cells)
    ]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@sweep_app.command()
def plan(sweep: Annotated[Path, typer.Argument(help="Sweep YAML file.")]) -> None:
    """Print the runs a sweep would do (count, seeds, parameter values) without running."""
    planned = _plan(sweep)
    spec = planned.sweep.sweep
    print(
        f"{sweep}: {len(planned.runs)} runs = {len(planned.points.values)} points x"
        f" {spec.replicates} replicates ({spec.design.kind} design), {planned.steps} steps"
        f" each, base scenario {spec.scenario}"
    )
    keys = list(spec.parameters)
    rows = [[r.run_id, r.seed, *(r.parameters[k] for k in keys)] for r in planned.runs]
    for line in format_table(["run", "seed", *keys], rows):
        print(line)
