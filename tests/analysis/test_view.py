"""The interactive SolaraViz page (``abm view``): its model, live series and tissue figure.

The page itself is photographed in headless Chromium by ``analysis/screenshot_view.py``
(docs/figures.md)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb

pytest.importorskip("solara", reason="the optional viz dependencies are not installed")


@pytest.fixture
def view(tiny_scenario, monkeypatch):
    from analysis.cli import VIEW_SCENARIO_ENV

    monkeypatch.setenv(VIEW_SCENARIO_ENV, str(tiny_scenario))
    import analysis.view

    return importlib.reload(analysis.view)


def test_sliders_set_the_model_and_series_are_collected(view, tiny_scenario, load):
    base = load(tiny_scenario).scenario.cells.plasma_cell
    model = view.ViewModel(str(tiny_scenario), plasma_cell_initial_count=40,
                           plasma_cell_vegf_secretion_fold=2.5,
                           plasma_cell_division_rate_per_day=0.5, seed=4)
    plasma = model.config.cells.plasma_cell
    assert plasma.secretion_per_h["vegf"] == pytest.approx(2.5 * base.secretion_per_h["vegf"])
    assert plasma.division_rate_per_day == 0.5 and model.config.seed == 4
    assert len(model.agents_of("plasma_cell")) == 40
    model.step()
    model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert list(frame.columns) == list(view.LIVE_SERIES) and len(frame) == 3
    assert frame["plasma cells"].iloc[-1] == len(model.agents_of("plasma_cell"))
    assert frame["BV/TV (%)"].iloc[-1] == pytest.approx(
        100 * model.last_readouts["bone_volume_fraction"])


def test_tissue_figure_draws_the_live_vessels(view, tiny_scenario):
    from analysis import tissue

    model = view.ViewModel(str(tiny_scenario))
    figure = view.tissue_figure(model)
    FigureCanvasAgg(figure).draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3].astype(int)
    red = np.array(to_rgb(tissue.LUMEN_COLOUR)) * 255
    n_lumen = int(np.count_nonzero(model.fields["vessel_lumen"] >= 0.5))
    assert n_lumen > 0
    assert np.count_nonzero(np.abs(pixels - red).sum(axis=2) < 10) >= n_lumen


def test_page_is_a_solara_viz_element(view):
    import reacton.core

    assert isinstance(view.page, reacton.core.Element)


def test_view_of_a_bad_scenario_is_one_line(run_cli, tmp_path):
    result = run_cli(["view", tmp_path / "missing.yaml"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "missing.yaml" in result.stderr
