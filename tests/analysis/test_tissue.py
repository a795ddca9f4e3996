"""The tissue-view composite: exact colours where each layer was placed."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from analysis import tissue
from analysis.runs import UsageError
from tests.analysis.synthetic import PLASMA_CELL_XY, synthetic_layers


def rgb255(colour: str) -> list[int]:
    return [round(c * 255) for c in to_rgb(colour)]


def test_each_layer_has_its_colour_at_its_voxels():
    layers = synthetic_layers(0, 1.0)
    image = tissue.compose(layers, tissue.STRUCTURE_LAYERS)
    assert image.shape == (30, 40, 3) and image.dtype == np.uint8  # rows = y, columns = x
    assert image[10, 25].tolist() == rgb255(tissue.LUMEN_COLOUR)  # lumen over its endothelium
    assert image[3, 4].tolist() == rgb255(tissue.BONE_COLOUR)
    x, y = PLASMA_CELL_XY
    assert image[y, x].tolist() == rgb255(tissue.CELL_COLOURS["plasma_cell"])
    assert image[0, 39].tolist() == rgb255(tissue.MARROW_COLOUR)


def test_without_the_vessel_layer_the_endothelium_shows():
    image = tissue.compose(synthetic_layers(0, 1.0), ["cells"])
    assert image[10, 25].tolist() == rgb255(tissue.CELL_COLOURS["endothelial_cell"])
    assert image[3, 4].tolist() == rgb255(tissue.MARROW_COLOUR)  # no bone drawn


def test_osteoid_and_partial_mineral_blend_by_volume():
    layers = synthetic_layers(0, 1.0)
    layers["bone_mineral"][:] = 0.5
    layers["osteoid"][:] = 0.5
    image = tissue.compose(layers, ["bone"])
    assert image[0, 39].tolist() == rgb255(tissue.OSTEOID_COLOUR)  # the rest of the voxel
    layers["osteoid"][:] = 0.0
    half = (np.array(to_rgb(tissue.MARROW_COLOUR)) + np.array(to_rgb(tissue.BONE_COLOUR))) / 2
    np.testing.assert_allclose(tissue.compose(layers, ["bone"])[0, 39], half * 255, atol=1)


def test_heat_map_blends_over_marrow_on_a_fixed_scale():
    layers = synthetic_layers(2, 1.0)  # uniform VEGF 200
    heat = tissue.HeatScale("vegf", 0.0, 400.0, alpha=0.5)
    marrow = np.array(to_rgb(tissue.MARROW_COLOUR))
    mid = heat.colours(np.array([200.0]))[0]
    expected = marrow + 0.5 * (mid - marrow)
    np.testing.assert_allclose(tissue.compose(layers, [], heat)[0, 39], expected * 255, atol=1)


def test_layer_names_are_checked():
    fields = ["oxygen", "vegf"]
    assert tissue.split_layers(["bone", "cells", "vegf"], fields) == (["bone", "cells"], "vegf")
    with pytest.raises(UsageError, match="unknown layer 'bloodflow'"):
        tissue.split_layers(["bone", "bloodflow"], fields)
    with pytest.raises(UsageError, match="only one field"):
        tissue.split_layers(["vegf", "oxygen"], fields)


def test_scale_bar_and_time_stamp():
    assert tissue.nice_scale_bar_um(2000.0) == 200.0
    assert tissue.nice_scale_bar_um(5000.0) == 1000.0
    assert tissue.nice_scale_bar_um(300.0) == 50.0
    assert tissue.time_stamp(18.0) == "18 h"
    assert tissue.time_stamp(24.0 * 84) == "day 84"


def test_heat_scale_turns_logarithmic_over_wide_ranges():
    wide = tissue.heat_scale_for("vegf", 200.0, 10000.0)
    assert wide.log and (wide.vmin, wide.vmax) == (200.0, 10000.0)
    np.testing.assert_allclose(wide.fraction(np.array([100.0, 200.0, 2000.0, 5e4])),
                               [0.0, 0.0, np.log10(10) / np.log10(50), 1.0])
    narrow = tissue.heat_scale_for("oxygen", 10.0, 30.0)
    assert not narrow.log and (narrow.vmin, narrow.vmax) == (0.0, 30.0)
    assert narrow.fraction(np.array([15.0]))[0] == 0.5
    assert not tissue.heat_scale_for("vegf", 0.0, 500.0).log  # a zero floor stays linear
