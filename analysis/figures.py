"""Static figures of run directories: time-series panels (replicate mean ± SD band, several
arms overlaid), the field snapshots of a run, and its tissue view.

Every function takes opened :class:`analysis.runs.Run` objects, writes one file in the format
its path names (``.png``, ``.svg`` or ``.pdf``) and returns the path. Import this module only
where matplotlib may be imported (not from ``abm``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar  # noqa: E402

from analysis import tissue  # noqa: E402
from analysis.report import write_table  # noqa: E402
from analysis.runs import Run, UsageError, group_label, replicate_groups  # noqa: E402

PANELS: tuple[tuple[str, str, float], ...] = (
    ("n_plasma_cell", "plasma cells", 1.0),
    ("bone_volume_fraction", "BV/TV (%)", 100.0),
    ("microvessel_density_per_mm2", "microvessel density (/mm²)", 1.0),
    ("serum_vegf_pg_per_mL", "serum VEGF (pg/mL)", 1.0),
    ("plasma_il6_pg_per_mL", "plasma IL-6 (pg/mL)", 1.0),
    ("hypoxic_marrow_fraction", "hypoxic marrow (%)", 100.0),
    ("n_osteoclast_active", "active osteoclasts", 1.0),
    ("n_osteoblast_active", "active osteoblasts", 1.0),
    ("platelets_per_nL", "platelets (10⁹/L)", 1.0),
)
"""Time-series panels: column, axis label, factor from the column's unit to the label's."""

FORMATS = ("png", "svg", "pdf")
DPI = 150
ARM_COLOURS = plt.get_cmap("tab10").colors


def replicate_band(group: Sequence[Run], column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(days, mean, sd)`` of ``column`` over the runs of a replicate group, on the rows every
    run has recorded (sd is 0 for a single run)."""
    n_rows = min(len(run.timeseries["time_d"]) for run in group)
    values = np.array([run.timeseries[column][:n_rows] for run in group], dtype=np.float64)
    return group[0].timeseries["time_d"][:n_rows], values.mean(axis=0), values.std(axis=0)


def draw_series(ax: Axes, groups: Sequence[Sequence[Run]], column: str, factor: float) -> None:
    """One line per replicate group (mean, with a ± SD band when it has several runs)."""
    ax.ticklabel_format(axis="y", useOffset=False)  # slow series: no "+2.2e1" offsets
    for colour, group in zip(ARM_COLOURS, groups, strict=False):
        if column not in group[0].timeseries:
            continue
        days, mean, sd = replicate_band(group, column)
        ax.plot(days, factor * mean, color=colour, label=group_label(group), lw=1.6)
        if len(group) > 1:
            ax.fill_between(days, factor * (mean - sd), factor * (mean + sd), color=colour,
                            alpha=0.25, lw=0)


def plot_timeseries_panels(
    runs: Sequence[Run], out: Path, panels: Sequence[tuple[str, str, float]] = PANELS
) -> Path:
    """Time-series panels (column, axis label, factor; default :data:`PANELS`; those some run
    recorded) for every replicate group of ``runs``, overlaid; saved to ``out``."""
    groups = replicate_groups(runs)
    panels = [p for p in panels if any(p[0] in run.timeseries for run in runs)]
    n_cols = 3
    n_rows = -(-len(panels) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(12, 3 * n_rows), sharex=True,
                             squeeze=False)
    for ax, (column, label, factor) in zip(axes.flat, panels, strict=False):
        draw_series(ax, groups, column, factor)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("simulated time (days)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 4), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _save(fig, out)


def plot_fields(run: Run, index: int, out: Path) -> Path:
    """Every field layer of snapshot ``index`` (bone, osteoid and vessel lumen included), each
    with its own colour bar in its unit; saved to ``out``."""
    store = run.snapshots
    names = [name for name in store.layer_names if name != "cell_type_map"]
    n_cols = 4
    n_rows = -(-len(names) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.4 * n_cols, 3.0 * n_rows),
                             squeeze=False)
    extent = _extent_mm(run)
    for ax, name in zip(axes.flat, names, strict=False):
        image = ax.imshow(store.read(name, index).T, extent=extent, cmap="viridis",
                          interpolation="nearest")
        unit = run.field_unit(name)
        ax.set_title(f"{name} ({unit})" if unit else name, fontsize=10)
        ax.tick_params(labelsize=7)
        fig.colorbar(image, ax=ax, shrink=0.8).ax.tick_params(labelsize=7)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    time_h = float(run.snapshot_times_h()[index])
    fig.suptitle(f"{run.label}: fields at {tissue.time_stamp(time_h)} (axes in mm)")
    fig.tight_layout()
    return _save(fig, out)


def draw_tissue_panel(
    ax: Axes,
    image: np.ndarray,
    voxel_um: float,
    title: str | None = None,
    stamp: str | None = None,
):
    """Show a tissue-view image on ``ax`` with a scale bar (and a title and a time stamp);
    returns the image artist, whose data can be replaced for the next frame."""
    artist = ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    width_um = image.shape[1] * voxel_um
    bar_um = tissue.nice_scale_bar_um(width_um)
    label = f"{bar_um / 1000:g} mm" if bar_um >= 1000 else f"{bar_um:g} µm"
    ax.add_artist(AnchoredSizeBar(
        ax.transData, bar_um / voxel_um, label, "lower right", pad=0.4, color="white",
        frameon=False, size_vertical=max(image.shape[0] / 120, 1), sep=4,
        fontproperties={"size": 12},
    ))
    if title:
        ax.set_title(title, fontsize=17)
    text = None
    if stamp is not None:
        text = ax.text(0.02, 0.97, stamp, transform=ax.transAxes, ha="left", va="top",
                       color="white", fontsize=15,
                       bbox={"facecolor": "black", "alpha": 0.5, "lw": 0, "pad": 3})
    return artist, text


def tissue_legend_handles(show: Sequence[str]) -> list[Patch]:
    """Legend patches for the shown structure layers."""
    return [Patch(facecolor=colour, edgecolor="0.5", label=label)
            for label, colour in tissue.legend_entries(show)]


def heat_colorbar(fig, ax_or_cax, heat: tissue.HeatScale, unit: str, **kwargs):
    """A colour bar of the heat map's fixed scale."""
    norm = (matplotlib.colors.LogNorm if heat.log else matplotlib.colors.Normalize)(
        heat.vmin, heat.vmax
    )
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=heat.colormap)
    bar = fig.colorbar(mappable, cax=ax_or_cax, **kwargs)
    bar.set_label(f"{heat.field} ({unit})" if unit else heat.field, fontsize=13)
    bar.ax.tick_params(labelsize=11)
    bar.solids.set_alpha(heat.alpha)
    return bar


def plot_tissue(
    run: Run, index: int, out: Path, show: Sequence[str], heat_field: str | None = None
) -> Path:
    """The tissue view of snapshot ``index`` with scale bar, time stamp and legend (and the heat
    map of ``heat_field`` on the snapshot's :func:`analysis.tissue.heat_scale_for`); saved to
    ``out``."""
    needed = [name for layer in show for name in tissue.SNAPSHOT_LAYERS_NEEDED[layer]]
    layers = run.layers([*needed, *([heat_field] if heat_field else [])], index)
    heat = (tissue.heat_scale_for(heat_field, *tissue.percentile_range(layers[heat_field]))
            if heat_field else None)
    fig, ax = plt.subplots(figsize=(9, 7.2))
    time_h = float(run.snapshot_times_h()[index])
    draw_tissue_panel(ax, tissue.compose(layers, show, heat), run.voxel_um, run.label,
                      tissue.time_stamp(time_h))
    ax.legend(handles=tissue_legend_handles(show), loc="upper left", bbox_to_anchor=(1.02, 1),
              frameon=False, fontsize=12)
    if heat is not None:
        heat_colorbar(fig, None, heat, run.field_unit(heat_field), ax=ax, location="bottom",
                      shrink=0.6, pad=0.03)
    fig.tight_layout()
    return _save(fig, out)


def plot_runs(paths: Sequence[str | Path], out_dir: Path | None, fmt: str) -> list[Path]:
    """All figures of ``abm plot``: the time-series panels of every run (replicates pooled) and,
    per run, its last snapshot's fields and tissue view (with the VEGF heat map when recorded)
    and its metrics table (:func:`analysis.report.write_table`). Files go to ``out_dir``
    (default: the first run's ``plots/``); returns their paths."""
    if fmt not in FORMATS:
        raise UsageError(f"--format: must be one of {', '.join(FORMATS)}, not {fmt!r}")
    runs = [Run.open(path) for path in paths]
    for run in runs:
        run.snapshots  # noqa: B018 - every run must have snapshots: fail before drawing
    out_dir = Path(out_dir) if out_dir is not None else runs[0].run_dir.plots_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [plot_timeseries_panels(runs, out_dir / f"timeseries.{fmt}")]
    for run in runs:
        name = run.path.name
        heat = "vegf" if "vegf" in run.snapshots.layer_names else None
        written.append(plot_fields(run, -1, out_dir / f"fields_{name}.{fmt}"))
        written.append(plot_tissue(run, -1, out_dir / f"tissue_{name}.{fmt}",
                                   tissue.STRUCTURE_LAYERS, heat))
        written.append(write_table(run, out_dir / f"metrics_{name}.csv"))
    return written


def _extent_mm(run: Run) -> tuple[float, float, float, float]:
    nx, ny = run.snapshots.shape
    return (0.0, nx * run.voxel_um / 1000, ny * run.voxel_um / 1000, 0.0)


def _save(fig, out: Path) -> Path:
    out = Path(out)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out
