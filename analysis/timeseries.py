"""Figures of a run's time series (``timeseries.parquet``).

Usage: ``python -m analysis.timeseries RUN_DIR`` writes ``RUN_DIR/plots/timeseries.png`` and
prints its path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from abm.io.errors import RunDirectoryError  # noqa: E402
from abm.io.rundir import RunDirectory  # noqa: E402


def plot_timeseries(run_path: Path) -> Path:
    """Plot living cells per type and BV/TV against simulated time; returns the PNG path."""
    run_dir = RunDirectory.open(run_path)
    table = run_dir.read_timeseries()
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    days = columns["time_d"]
    fig, (cells_ax, bone_ax) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for name, values in columns.items():
        if name.startswith("n_") and values.max() > 0:
            cells_ax.plot(days, values, label=name.removeprefix("n_").replace("_", " "))
    cells_ax.set_ylabel("living cells")
    cells_ax.legend(loc="best", fontsize="small")
    bone_ax.plot(days, 100 * columns["bone_volume_fraction"], color="0.3")
    bone_ax.set_ylabel("BV/TV (%)")
    bone_ax.set_xlabel("simulated time (days)")
    fig.suptitle(run_dir.read_manifest().get("scenario", {}).get("description", ""), fontsize=9)
    fig.tight_layout()
    out = run_dir.plots_dir / "timeseries.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: plot the run directories given as arguments."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m analysis.timeseries RUN_DIR [RUN_DIR ...]", file=sys.stderr)
        return 2
    for arg in args:
        try:
            print(plot_timeseries(Path(arg)))
        except RunDirectoryError as exc:
            print(exc, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
