"""One tidy table of a sweep: a row per completed run and recorded time step.

Columns: ``run_id``, ``point``, ``replicate``, ``seed``, one column per varied key (as in the
sweep index), then every column of the runs' ``timeseries.parquet`` (``step``, ``time_h``,
``time_d`` and the metrics, in their own units).
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from abm.batch.index import COMPLETED, INDEX, RUNS, read_index, stored_sweep
from abm.io.atomic import atomic_write_bytes
from abm.io.errors import RunDirectoryError
from abm.io.rundir import RunDirectory

COLLECTED = "collected.parquet"
IDENTITY_COLUMNS = ("run_id", "point", "replicate", "seed")


def collect_sweep(out: Path, dest: Path | None = None) -> tuple[Path, int, int]:
    """Write the tidy table of the completed runs of the sweep in ``out``.

    Args:
        out: a sweep directory.
        dest: the Parquet file to write [default: ``out/collected.parquet``].

    Returns:
        The file written, the number of runs and the number of rows in it.

    Raises:
        RunDirectoryError: not a sweep directory, no completed run, or a run's files are
            unreadable.
    """
    parameters = list(stored_sweep(out).parameters)
    rows = [row for row in read_index(out / INDEX) if row["status"] == COMPLETED]
    if not rows:
        raise RunDirectoryError(out / INDEX, "no completed runs to collect")
    tables = []
    for row in rows:
        series = RunDirectory.open(out / RUNS / row["run_id"]).read_timeseries()
        for position, key in enumerate((*IDENTITY_COLUMNS, *parameters)):
            series = series.add_column(position, key, pa.array([row[key]] * series.num_rows))
        tables.append(series)
    table = pa.concat_tables(tables, promote_options="permissive")
    dest = out / COLLECTED if dest is None else dest
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    atomic_write_bytes(dest, buffer.getvalue())
    return dest, len(rows), table.num_rows
