"""Scenario files: schema, strict YAML loading, units."""

from abm.scenario.errors import Location, Problem, ScenarioError
from abm.scenario.loader import LoadedScenario, ScenarioSource, load_scenario
from abm.scenario.schema import BONE_LAYER, CELL_TYPES, FIELD_SPECIES, Scenario, json_schema

__all__ = [
    "BONE_LAYER",
    "CELL_TYPES",
    "FIELD_SPECIES",
    "LoadedScenario",
    "Location",
    "Problem",
    "Scenario",
    "ScenarioError",
    "ScenarioSource",
    "json_schema",
    "load_scenario",
]
