"""The tissue view: one snapshot drawn as an RGB image — bone in bone-white, osteoid, vessel
lumen in red, one colour per cell type, and an optional semi-transparent heat map of a field —
plus the scale bar, time stamp and legend that go with it.

Snapshots are indexed ``[x, y]``; images are ``uint8[ny, nx, 3]`` with row = y from the top,
column = x (as the model reads image files). Drawing order: marrow, the heat map blended over
it, bone and osteoid by their volume fractions, the cells, then vessel lumen (the endothelium
lining it is drawn as the vessel; endothelial cells off the lumen, i.e. unperfused sprouts,
keep their own colour).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_rgb

from analysis.metrics import CELL_TYPE_CODE, LUMEN_THRESHOLD
from analysis.runs import UsageError

STRUCTURE_LAYERS: tuple[str, ...] = ("bone", "vessels", "cells")
"""Tissue-view layers that are not fields: bone + osteoid, vessel lumen, the cell-type map."""

SNAPSHOT_LAYERS_NEEDED: dict[str, tuple[str, ...]] = {
    "bone": ("bone_mineral", "osteoid"),
    "vessels": ("vessel_lumen",),
    "cells": ("cell_type_map",),
}
"""Snapshot layers each structure layer is drawn from."""

MARROW_COLOUR = "#17181f"
BONE_COLOUR = "#f3ecd8"
OSTEOID_COLOUR = "#ffa040"
LUMEN_COLOUR = "#e0202e"

CELL_COLOURS: dict[str, str] = {
    "stromal_cell": "#9aa5b8",
    "plasma_cell": "#ff4fd8",
    "osteoblast": "#3fa7ff",
    "osteoclast": "#ffd23f",
    "endothelial_cell": "#ff9aa2",
}
"""Colour of each cell type."""

HEAT_COLORMAP = "viridis"
HEAT_ALPHA = 0.6
"""Colormap and opacity of the field heat map."""

LABELS = {
    "bone": "bone",
    "osteoid": "osteoid",
    "vessels": "perfused vessel",
    "plasma_cell": "plasma cells",
    "stromal_cell": "stromal cells",
    "osteoblast": "osteoblasts",
    "osteoclast": "osteoclasts",
    "endothelial_cell": "endothelial sprouts",
}


def _rgb(colour: str) -> np.ndarray:
    return np.array(to_rgb(colour), dtype=np.float32)


HEAT_PERCENTILES = (0.5, 99.5)
"""A heat map's scale spans the lowest 0.5th to the highest 99.5th percentile of the field over
every snapshot drawn (a few hot voxels next to secreting cells would otherwise darken
everything else)."""

LOG_SCALE_MIN_RATIO = 30.0
"""A heat map is drawn on a log scale when its upper end is at least this many times its lower
end (e.g. VEGF: ~200 pg/mL in healthy marrow, ~10 000 in a POEMS focus)."""


@dataclass(frozen=True)
class HeatScale:
    """A field drawn as a heat map with a fixed colour scale (in the field's unit), linear from
    ``vmin`` or logarithmic from ``vmin`` > 0 to ``vmax``."""

    field: str
    vmin: float
    vmax: float
    log: bool = False
    colormap: str = HEAT_COLORMAP
    alpha: float = HEAT_ALPHA

    def fraction(self, values: np.ndarray) -> np.ndarray:
        """Position of ``values`` on the scale, 0 at ``vmin`` and 1 at ``vmax`` (clipped)."""
        values = np.asarray(values, dtype=np.float64)
        if self.log:
            low, high = np.log10(self.vmin), np.log10(self.vmax)
            values = np.log10(np.maximum(values, self.vmin))
        else:
            low, high = self.vmin, self.vmax
        return np.clip((values - low) / (high - low if high > low else 1.0), 0.0, 1.0)

    def colours(self, values: np.ndarray) -> np.ndarray:
        """``float32[..., 3]`` colours of ``values`` on this scale."""
        lut = colormaps[self.colormap].resampled(256)(np.arange(256))[:, :3].astype(np.float32)
        return lut[np.minimum((self.fraction(values) * 256).astype(np.int32), 255)]


def percentile_range(values: np.ndarray) -> tuple[float, float]:
    """The :data:`HEAT_PERCENTILES` of one snapshot of a field."""
    low, high = np.percentile(values, HEAT_PERCENTILES)
    return float(low), float(high)


def heat_scale_for(field: str, low: float, high: float, colormap: str = HEAT_COLORMAP):
    """The fixed scale of ``field`` over values from ``low`` to ``high`` (the extreme
    :func:`percentile_range` ends over every frame and run): logarithmic from ``low`` when
    ``high / low`` ≥ :data:`LOG_SCALE_MIN_RATIO`, else linear from 0."""
    high = high if high > 0 else 1.0
    if low > 0 and high / low >= LOG_SCALE_MIN_RATIO:
        return HeatScale(field, low, high, log=True, colormap=colormap)
    return HeatScale(field, 0.0, high, colormap=colormap)


def compose(
    layers: Mapping[str, np.ndarray],
    show: Sequence[str],
    heat: HeatScale | None = None,
) -> np.ndarray:
    """``uint8[ny, nx, 3]``: the tissue view of one snapshot.

    Args:
        layers: Snapshot arrays indexed ``[x, y]``: those of :data:`SNAPSHOT_LAYERS_NEEDED` for
            each shown structure layer, and ``heat.field`` when a heat map is drawn.
        show: Structure layers to draw (a subset of :data:`STRUCTURE_LAYERS`).
        heat: Field drawn as a heat map over the marrow (None: none).
    """
    shape = next(iter(layers.values())).shape
    image = np.empty((*shape, 3), dtype=np.float32)
    image[:] = _rgb(MARROW_COLOUR)
    if heat is not None:
        image += heat.alpha * (heat.colours(layers[heat.field]) - image)
    if "bone" in show:
        mineral = np.clip(layers["bone_mineral"], 0.0, 1.0).astype(np.float32)[..., None]
        osteoid = np.clip(layers["osteoid"], 0.0, 1.0).astype(np.float32)[..., None]
        image += mineral * (_rgb(BONE_COLOUR) - image)
        image += np.minimum(osteoid / np.maximum(1.0 - mineral, 1e-6), 1.0) * (
            _rgb(OSTEOID_COLOUR) - image
        )
    if "cells" in show:
        cells = layers["cell_type_map"]
        for name, colour in CELL_COLOURS.items():
            image[cells == CELL_TYPE_CODE[name]] = _rgb(colour)
    if "vessels" in show:
        image[layers["vessel_lumen"] >= LUMEN_THRESHOLD] = _rgb(LUMEN_COLOUR)
    return np.ascontiguousarray(np.rint(image * 255).astype(np.uint8).transpose(1, 0, 2))


def legend_entries(show: Sequence[str]) -> list[tuple[str, str]]:
    """``(label, colour)`` of everything the shown layers draw, in legend order."""
    entries = []
    if "bone" in show:
        entries += [(LABELS["bone"], BONE_COLOUR), (LABELS["osteoid"], OSTEOID_COLOUR)]
    if "vessels" in show:
        entries.append((LABELS["vessels"], LUMEN_COLOUR))
    if "cells" in show:
        entries += [(LABELS[name], colour) for name, colour in CELL_COLOURS.items()]
    return entries


def nice_scale_bar_um(width_um: float) -> float:
    """A round length (1, 2 or 5 × 10^k µm) of about a fifth of ``width_um``."""
    target = width_um / 5.0
    power = 10.0 ** np.floor(np.log10(target))
    return float(max(m * power for m in (1, 2, 5) if m * power <= target))


def time_stamp(time_h: float) -> str:
    """``"day 12"`` (or ``"18 h"`` in the first two days) for a simulated time in hours."""
    return f"{time_h:g} h" if time_h < 48 else f"day {time_h / 24:.0f}"


def unknown_layer_message(name: str, fields: Sequence[str]) -> str:
    """The one-line complaint about an unknown tissue-view layer ``name``."""
    return (
        f"unknown layer {name!r} (choose from {', '.join(STRUCTURE_LAYERS)} or one field: "
        f"{', '.join(fields)})"
    )


def heat_fields(snapshot_layers: Sequence[str]) -> list[str]:
    """The snapshot layers that can be drawn as a heat map (every field but the structure
    layers' sources)."""
    sources = {name for names in SNAPSHOT_LAYERS_NEEDED.values() for name in names}
    return [name for name in snapshot_layers if name not in sources]


def split_layers(names: Sequence[str], fields: Sequence[str]) -> tuple[list[str], str | None]:
    """``(structure layers, heat-map field)`` from a list such as ``bone,vessels,cells,vegf``.

    Raises:
        UsageError: (one-line message) for an unknown name, several fields, or no layer.
    """
    structure, heat = [], None
    for name in names:
        if name in STRUCTURE_LAYERS:
            structure.append(name)
        elif name in fields:
            if heat is not None:
                raise UsageError(f"layers {heat!r} and {name!r}: only one field can be a heat map")
            heat = name
        else:
            raise UsageError(unknown_layer_message(name, fields))
    if not structure and heat is None:
        raise UsageError("no layer to draw")
    return structure, heat
