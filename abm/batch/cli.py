"""``abm sweep``: plan, run, collect and analyse batch experiments (docs/batch.md).

User mistakes print one line per problem (``file:line:col: key.path: message`` for sweep
files) and exit with status 2, never with a traceback. Dask, SALib and matplotlib are imported
inside the commands that need them, so ``abm --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from abm.cli_common import INTERRUPTED, ProgressOption, fail, progress_mode
from abm.scenario import ScenarioError

RUNS_FAILED = 1

sweep_app = typer.Typer(
    no_args_is_help=True,
    help="Batch experiments: many runs of one scenario over a design of parameter values.",
)


def _plan(sweep: Path) -> Any:
    from abm.batch.plan import plan_sweep

    try:
        return plan_sweep(sweep)
    except ScenarioError as exc:
        fail(str(exc))


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
    fewest, most = planned.steps[0], planned.steps[-1]
    steps = f"{fewest}" if fewest == most else f"{fewest}-{most}"
    print(
        f"{sweep}: {len(planned.runs)} runs = {len(planned.points.values)} points x"
        f" {spec.replicates} replicates ({spec.design.kind} design), {steps} steps"
        f" each, base scenario {spec.scenario}"
    )
    keys = list(spec.parameters)
    rows = [[r.run_id, r.seed, *(r.parameters[k] for k in keys)] for r in planned.runs]
    for line in format_table(["run", "seed", *keys], rows):
        print(line)


@sweep_app.command()
def run(
    sweep: Annotated[Path, typer.Argument(help="Sweep YAML file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Sweep directory.")],
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Local workers [default: one per core] or SLURM/PBS jobs."),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Address of an existing Dask scheduler (tcp://host:port).")
    ] = None,
    cluster: Annotated[
        str | None, typer.Option(help="Start the workers as jobs of a batch system: slurm or pbs.")
    ] = None,
    cluster_option: Annotated[
        list[str] | None,
        typer.Option(help="dask-jobqueue job option key=value, e.g. walltime=02:00:00."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="With --cluster: print the job script, submit nothing.")
    ] = False,
    progress: ProgressOption = "auto",
) -> None:
    """Run a sweep on Dask; re-running skips completed runs and retries failed ones.

    Prints the sweep directory last; exits with status 1 if any run failed.
    """
    from abm.batch.clusters import (
        ClusterError,
        jobqueue_cluster,
        parse_cluster_options,
        sweep_client,
    )
    from abm.batch.execute import run_sweep
    from abm.batch.index import claim_directory
    from abm.io.errors import RunDirectoryError

    progress_mode(progress)
    if cluster not in (None, "slurm", "pbs"):
        fail(f"--cluster: must be slurm or pbs, not {cluster!r}")
    if scheduler is not None and (cluster is not None or workers is not None):
        fail("--scheduler uses the workers it has: no --cluster or --workers with it")
    if (cluster_option or dry_run) and cluster is None:
        fail("--cluster-option and --dry-run need --cluster slurm or pbs")
    planned = _plan(sweep)
    try:
        options = parse_cluster_options(cluster_option or [])
        if dry_run:
            with jobqueue_cluster(cluster, options) as job_cluster:
                print(job_cluster.job_script())
            return
        claim_directory(planned, out)  # refuse a different sweep before starting a cluster
        with sweep_client(
            workers=workers, scheduler=scheduler, cluster=cluster, cluster_options=options
        ) as client:
            index = run_sweep(planned, out, client, progress=progress)
    except (ClusterError, RunDirectoryError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        print(f"interrupted; run the same command again to continue {out}", file=sys.stderr)
        raise typer.Exit(INTERRUPTED) from None
    counts = index.counts()
    retry = "; run the same command again to retry the failed ones" if counts["failed"] else ""
    print(
        f"{len(planned.runs)} runs: {counts['completed']} completed, {counts['failed']} failed"
        f" (index: {index.path}){retry}",
        file=sys.stderr,
    )
    print(out)
    if counts["failed"]:
        raise typer.Exit(RUNS_FAILED)


@sweep_app.command()
def collect(
    sweep_dir: Annotated[Path, typer.Argument(help="Sweep directory (the --out of run).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="[default: SWEEP_DIR/collected.parquet]")
    ] = None,
) -> None:
    """Write one tidy Parquet table: a row per completed run and recorded time step, with the
    run's parameters, replicate and seed beside its time series."""
    from abm.batch.collect import collect_sweep
    from abm.io.errors import RunDirectoryError

    try:
        path, n_runs, n_rows = collect_sweep(sweep_dir, out)
    except RunDirectoryError as exc:
        fail(str(exc))
    print(f"{n_runs} runs, {n_rows} rows", file=sys.stderr)
    print(path)


@sweep_app.command()
def sensitivity(
    sweep_dir: Annotated[Path, typer.Argument(help="Sweep directory of a sobol or morris sweep.")],
    metric: Annotated[
        str, typer.Option(help="Time-series column, e.g. serum_vegf_pg_per_mL (its last value).")
    ],
    figure: Annotated[
        Path | None,
        typer.Option(help="PNG to write [default: SWEEP_DIR/plots/sensitivity_<metric>.png]."),
    ] = None,
) -> None:
    """Print Sobol or Morris indices (SALib, as the design) of a metric and draw them."""
    from abm.batch.sensitivity import plot_indices, sweep_sensitivity
    from abm.io.errors import RunDirectoryError

    try:
        indices = sweep_sensitivity(sweep_dir, metric)
    except RunDirectoryError as exc:
        fail(str(exc))
    columns = list(indices.values)
    rows = [
        [name, *(indices.values[c][j] for c in columns)]
        for j, name in enumerate(indices.parameters)
    ]
    print(f"{indices.method} indices of {metric}:")
    for line in format_table(["parameter", *columns], rows):
        print(line)
    default = sweep_dir / "plots" / f"sensitivity_{metric}.png"
    print(plot_indices(indices, default if figure is None else figure))
