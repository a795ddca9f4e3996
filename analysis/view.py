"""The interactive view: a Mesa ``SolaraViz`` page of a live model — its tissue view and live
time series, with sliders for a few key parameters of the plasma-cell clone.

Served by ``abm view SCENARIO`` (which runs ``solara run analysis.view`` with the scenario's path in
the environment variable ``ABM_VIEW_SCENARIO``). Needs the optional ``viz`` dependencies
(``pip install -e ".[viz]"``). Imports solara, Mesa's visualization and matplotlib at import
time: only the ``view`` command (and tests) import this module. The tissue view is drawn by
:mod:`analysis.tissue`, exactly as in figures and movies.
"""

from __future__ import annotations

import os

import numpy as np
import solara
from matplotlib.figure import Figure
from mesa.datacollection import DataCollector
from mesa.visualization import Slider, SolaraViz, make_plot_component

from abm.model import MarrowModel
from abm.observers.snapshots import cell_type_map
from abm.observers.timeseries import readouts
from abm.scenario import load_scenario
from analysis import tissue
from analysis.cli import VIEW_SCENARIO_ENV
from analysis.figures import draw_tissue_panel, heat_colorbar, tissue_legend_handles

HEAT_FIELD = "vegf"
"""Field drawn as the tissue view's heat map."""

LIVE_SERIES: dict[str, tuple[str, float]] = {
    "serum VEGF (pg/mL)": ("serum_vegf_pg_per_mL", 1.0),
    "microvessel density (/mm²)": ("microvessel_density_per_mm2", 1.0),
    "BV/TV (%)": ("bone_volume_fraction", 100.0),
    "plasma cells": ("n_plasma_cell", 1.0),
}
"""Live time series: plot label -> (time-series column, factor to the label's unit), one
readout row per step."""


class ViewModel(MarrowModel):
    """A :class:`MarrowModel` of a scenario file with the sliders' overrides, collecting the
    :data:`LIVE_SERIES` in a Mesa ``DataCollector`` after every step."""

    def __init__(
        self,
        scenario_path: str = "scenarios/poems.yaml",
        plasma_cell_initial_count: int | None = None,
        plasma_cell_vegf_secretion_fold: float = 1.0,
        plasma_cell_division_rate_per_day: float | None = None,
        seed: int | None = None,
        rng=None,
    ):
        """The scenario at ``scenario_path`` with its plasma cells' initial count, VEGF
        secretion (× the scenario's), division rate (per day) and seed replaced (None: the
        scenario's own)."""
        base = load_scenario(scenario_path).scenario.cells.plasma_cell.secretion_per_h
        overrides = [
            "cells.plasma_cell.secretion_per_h.vegf="
            f"{base.get('vegf', 0.0) * plasma_cell_vegf_secretion_fold!r}",
        ]
        if plasma_cell_initial_count is not None:
            overrides.append(f"cells.plasma_cell.initial_count={int(plasma_cell_initial_count)}")
        if plasma_cell_division_rate_per_day is not None:
            overrides.append(
                f"cells.plasma_cell.division_rate_per_day={plasma_cell_division_rate_per_day!r}"
            )
        if seed is not None:
            overrides.append(f"seed={int(seed)}")
        scenario = load_scenario(scenario_path, overrides).scenario
        super().__init__(scenario, rng=rng)
        self.heat_range = (np.inf, 0.0)
        self.datacollector = DataCollector(
            model_reporters={label: _reporter(*series) for label, series in LIVE_SERIES.items()}
        )
        self.last_readouts = readouts(self)
        self.datacollector.collect(self)

    def step(self) -> None:
        """One model step, then the readouts of the new state."""
        super().step()
        self.last_readouts = readouts(self)
        self.datacollector.collect(self)


def _reporter(column: str, factor: float):
    return lambda model: factor * model.last_readouts[column]


def _plain_axis(ax) -> None:
    """Plot values as they are (no offset like "1e-7 + 0.22" on slowly changing series)."""
    ax.ticklabel_format(axis="y", useOffset=False)


def scenario_defaults(path: str) -> dict[str, float]:
    """The slider defaults: the scenario's own plasma-cell count, division rate and seed."""
    scenario = load_scenario(path).scenario
    plasma = scenario.cells.plasma_cell
    return {"count": plasma.initial_count, "division": plasma.division_rate_per_day,
            "seed": scenario.seed}


def tissue_figure(model: ViewModel) -> Figure:
    """The tissue view of the model now, with legend and the VEGF heat map (its scale spans
    every percentile range seen so far, so it only widens)."""
    layers = {name: model.fields[name] for name in ("bone_mineral", "osteoid", "vessel_lumen")}
    layers["cell_type_map"] = cell_type_map(model)
    layers[HEAT_FIELD] = model.fields[HEAT_FIELD]
    low, high = tissue.percentile_range(layers[HEAT_FIELD])
    model.heat_range = (min(model.heat_range[0], low), max(model.heat_range[1], high))
    heat = tissue.heat_scale_for(HEAT_FIELD, *model.heat_range)
    fig = Figure(figsize=(8.5, 6.4))
    ax = fig.add_axes((0.02, 0.12, 0.66, 0.84))
    image = tissue.compose(layers, tissue.STRUCTURE_LAYERS, heat)
    draw_tissue_panel(ax, image, model.config.domain.voxel_um, None,
                      tissue.time_stamp(model.time_h))
    fig.legend(handles=tissue_legend_handles(tissue.STRUCTURE_LAYERS), loc="upper left",
               bbox_to_anchor=(0.69, 0.96), frameon=False, fontsize=11)
    cax = fig.add_axes((0.71, 0.2, 0.26, 0.03))
    heat_colorbar(fig, cax, heat, model.fields.units[HEAT_FIELD], orientation="horizontal")
    return fig


def TissueView(model: ViewModel):
    """Page component: the tissue view (redrawn after every rendered step)."""
    return solara.FigureMatplotlib(tissue_figure(model), format="png")


def make_page(path: str):
    """The SolaraViz page of the scenario file ``path``."""
    defaults = scenario_defaults(path)
    model_params = {
        "scenario_path": path,
        "plasma_cell_initial_count": Slider(
            "plasma cells", int(defaults["count"]), 0, 5000, 100
        ),
        "plasma_cell_vegf_secretion_fold": Slider(
            "VEGF secretion ×", 1.0, 0.0, 5.0, 0.25
        ),
        "plasma_cell_division_rate_per_day": Slider(
            "divisions /day", float(defaults["division"]), 0.0, 0.05, 0.001
        ),
        "seed": Slider("seed", int(defaults["seed"]), 0, 99, 1),
    }
    model = ViewModel(path, defaults["count"], 1.0, defaults["division"], defaults["seed"])
    components = [TissueView, *(make_plot_component(label, post_process=_plain_axis)
                                for label in LIVE_SERIES)]
    return SolaraViz(model, components=components, model_params=model_params,
                     name=f"marrow-abm: {os.path.basename(path)}", play_interval=50)


page = make_page(os.environ.get(VIEW_SCENARIO_ENV, "scenarios/poems.yaml"))
