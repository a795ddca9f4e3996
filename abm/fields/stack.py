"""The field stack: one Mesa ``PropertyLayer`` per diffusing species plus the bone-mineral layer.

The layers' ``.data`` arrays (``float64[nx, ny]``, indexed ``[x, y]`` like Mesa grids) are the
canonical buffers: kernels update them in place and they are never rebound.
"""

from __future__ import annotations

import numpy as np
from mesa.discrete_space import PropertyLayer

from abm.bone.geometry import initial_mineral_fraction
from abm.scenario.schema import BONE_LAYER, Scenario


class FieldStack:
    """All per-voxel layers of a model, by name.

    Concentrations are in each species' scenario ``unit``; ``bone_mineral`` is a dimensionless
    fraction in 0–1.
    """

    def __init__(self, scenario: Scenario):
        shape = scenario.domain.shape
        self.units: dict[str, str] = {}
        self.layers: dict[str, PropertyLayer] = {}
        for name, spec in scenario.fields.items():
            self.layers[name] = PropertyLayer(name, shape, float(spec.initial_value), np.float64)
            self.units[name] = spec.unit
        bone = PropertyLayer(BONE_LAYER, shape, 0.0, np.float64)
        bone.data[...] = initial_mineral_fraction(scenario.domain)
        self.layers[BONE_LAYER] = bone
        self.units[BONE_LAYER] = "fraction"

    def __getitem__(self, name: str) -> np.ndarray:
        """The canonical data array of a layer."""
        return self.layers[name].data

    @property
    def names(self) -> list[str]:
        """Layer names: species in field-stack order, then ``bone_mineral``."""
        return list(self.layers)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Copies of every layer, keyed ``fields/<name>``."""
        return {f"fields/{name}": layer.data.copy() for name, layer in self.layers.items()}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Write checkpointed layers back into the canonical buffers (in place)."""
        for name, layer in self.layers.items():
            layer.data[...] = arrays[f"fields/{name}"]
