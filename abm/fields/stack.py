"""The field stack: one Mesa ``PropertyLayer`` per diffusing species, the structural layers
(bone mineral, osteoid, vessel lumen) and derived layers (free RANKL), plus the tissue map.

The layers' ``.data`` arrays (``float64[nx, ny]``, indexed ``[x, y]`` like Mesa grids) are the
canonical buffers: kernels update them in place and they are never rebound.
"""

from __future__ import annotations

import numpy as np
from mesa.discrete_space import PropertyLayer

from abm.bone.geometry import MINERALIZED_FRACTION, initial_mineral_fraction
from abm.cells import kernels
from abm.fields.binding import free_rankl
from abm.scenario.schema import (
    BONE_LAYER,
    FREE_RANKL_LAYER,
    OSTEOID_LAYER,
    TISSUES,
    VESSEL_LAYER,
    Scenario,
)
from abm.vessels.geometry import LUMEN_FRACTION, initial_vessel_lumen

MARROW, MINERALIZED_BONE, VESSEL_LUMEN = (TISSUES.index(name) for name in TISSUES)
"""Tissue codes of the tissue map."""

RELEASED: tuple[str, ...] = ("tgfb", "osteogenic_signal")
"""Species released by processes rather than by the cell-type rate tables (TGF-β from resorbed
matrix; the osteogenic signal of type-H endothelium, whose rate depends on the cell's
surroundings): each has a release buffer in :attr:`FieldStack.released`."""


class FieldStack:
    """All per-voxel layers of a model, by name.

    Concentrations are in each species' scenario ``unit``; ``bone_mineral`` and ``osteoid`` are
    dimensionless volume fractions in 0–1 (their sum, the bone matrix, at most 1);
    ``vessel_lumen`` is 1 in perfused lumen; ``rankl_free`` is free soluble RANKL in pM (from the
    initial totals, then written by the transport process).

    Attributes:
        tissue: ``int8[nx, ny]`` tissue code of each voxel (:data:`MARROW`,
            :data:`MINERALIZED_BONE` where mineral + osteoid ≥ 0.5, :data:`VESSEL_LUMEN`); lumen
            takes precedence over bone. Recomputed by :meth:`update_tissue` and
            :meth:`mineralize`.
        tissue_version: incremented each time the tissue map changes (and by the first
            classification).
        released: per species in :data:`RELEASED`, concentration released into each voxel by
            processes (TGF-β from resorbed matrix, the type-H osteogenic signal) since the last
            transport step,
            which adds it as a source spread over its step (exactly a pulse for one
            backward-Euler step).
    """

    def __init__(self, scenario: Scenario, rng: np.random.Generator):
        shape = scenario.domain.shape
        self.units: dict[str, str] = {}
        self.layers: dict[str, PropertyLayer] = {}
        for name, spec in scenario.fields.items():
            self._add(name, shape, float(spec.initial_value), spec.unit)
        self._add(BONE_LAYER, shape, 0.0, "fraction")
        self[BONE_LAYER][...] = initial_mineral_fraction(scenario.domain, rng)
        self._add(OSTEOID_LAYER, shape, 0.0, "fraction")
        self._add(VESSEL_LAYER, shape, 0.0, "fraction")
        self[VESSEL_LAYER][...] = initial_vessel_lumen(
            scenario.domain, rng, self[BONE_LAYER] >= MINERALIZED_FRACTION
        )
        self._add(FREE_RANKL_LAYER, shape, 0.0, "pM")
        free_rankl(
            self["opg"], self["rankl"], scenario.binding.opg_rankl_dissociation_constant_pM,
            self[FREE_RANKL_LAYER],
        )
        self.tissue = np.zeros(shape, dtype=np.int8)
        self.tissue_version = 0
        self.update_tissue()
        self.released: dict[str, np.ndarray] = {name: np.zeros(shape) for name in RELEASED}

    def _add(self, name: str, shape: tuple[int, int], value: float, unit: str) -> None:
        self.layers[name] = PropertyLayer(name, shape, value, np.float64)
        self.units[name] = unit

    def __getitem__(self, name: str) -> np.ndarray:
        """The canonical data array of a layer."""
        return self.layers[name].data

    @property
    def names(self) -> list[str]:
        """Layer names in field-stack order (:data:`abm.scenario.schema.LAYERS`)."""
        return list(self.layers)

    def update_tissue(self) -> None:
        """Reclassify every voxel from the bone-matrix (mineral + osteoid) and vessel-lumen
        layers."""
        self._tissue_updated(kernels.classify_tissue(
            self[BONE_LAYER], self[OSTEOID_LAYER], self[VESSEL_LAYER], self.tissue,
            MINERALIZED_FRACTION, LUMEN_FRACTION,
        ))

    def mineralize(self, fraction_per_step: float) -> None:
        """Move ``fraction_per_step`` (dimensionless) of every voxel's osteoid into its bone
        mineral, then reclassify it as :meth:`update_tissue` does (one pass over the lattice)."""
        self._tissue_updated(kernels.mineralize(
            self[BONE_LAYER], self[OSTEOID_LAYER], self[VESSEL_LAYER], self.tissue,
            fraction_per_step, MINERALIZED_FRACTION, LUMEN_FRACTION,
        ))

    def _tissue_updated(self, changed: bool) -> None:
        """Count a new version of the tissue map if it changed or was just classified first."""
        if changed or self.tissue_version == 0:
            self.tissue_version += 1

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Copies of every layer (``fields/<name>``) and release buffer (``released/<name>``)."""
        arrays = {f"fields/{name}": layer.data.copy() for name, layer in self.layers.items()}
        arrays.update({f"released/{name}": data.copy() for name, data in self.released.items()})
        return arrays

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Write checkpointed layers and release buffers back into the canonical buffers."""
        for name, layer in self.layers.items():
            layer.data[...] = arrays[f"fields/{name}"]
        for name, data in self.released.items():
            data[...] = arrays[f"released/{name}"]
        self.update_tissue()
