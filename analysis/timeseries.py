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

BLOOD_TESTS = (
    ("serum_vegf_pg_per_mL", "serum VEGF (pg/mL)"),
    ("plasma_vegf_pg_per_mL", "plasma VEGF (pg/mL)"),
    ("plasma_il6_pg_per_mL", "plasma IL-6 (pg/mL)"),
    ("crp_mg_per_L", "CRP (mg/L)"),
    ("platelets_per_nL", "platelets (10⁹/L)"),
)
"""Systemic readouts drawn in the blood-test panel (each relative to its value at t = 0)."""


def plot_timeseries(run_path: Path) -> Path:
    """Plot living cells per type, BV/TV with the microvessel density, and the blood tests
    (each as a fold of its t = 0 value, labelled with its last value) against simulated time;
    returns the PNG path."""
    run_dir = RunDirectory.open(run_path)
    table = run_dir.read_timeseries()
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    days = columns["time_d"]
    fig, (cells_ax, bone_ax, blood_ax) = plt.subplots(3, 1, figsize=(7, 8.5), sharex=True)
    for name, values in columns.items():
        if name.startswith("n_") and values.max() > 0:
            cells_ax.plot(days, values, label=name.removeprefix("n_").replace("_", " "))
    cells_ax.set_ylabel("living cells")
    cells_ax.legend(loc="best", fontsize="small")
    bone_ax.plot(days, 100 * columns["bone_volume_fraction"], color="0.3")
    bone_ax.set_ylabel("BV/TV (%)")
    if "microvessel_density_per_mm2" in columns:
        vessel_ax = bone_ax.twinx()
        vessel_ax.plot(days, columns["microvessel_density_per_mm2"], color="tab:red")
        vessel_ax.set_ylabel("microvessels (/mm²)", color="tab:red")
    for name, label in BLOOD_TESTS:
        if name in columns and columns[name][0] > 0:
            values = columns[name]
            blood_ax.plot(days, values / values[0], label=f"{label}: {values[-1]:.3g}")
    blood_ax.set_ylabel("blood tests (× day 0)")
    blood_ax.set_xlabel("simulated time (days)")
    if blood_ax.lines:
        blood_ax.legend(loc="best", fontsize="small")
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
