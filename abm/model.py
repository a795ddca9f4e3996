"""The Mesa model: a marrow section whose step is a fixed, named schedule of processes.

``MarrowModel`` is the model's face (Mesa agents, ``model.grid``, ``run_for``); its body is the
cell table (:mod:`abm.cells.table`) and the field stack (:mod:`abm.fields.stack`), which numba
kernels update in place. Mesa time counts steps: ``model.run_for(24)`` runs 24 steps, and
``model.time_h`` is the simulated time in hours (``steps × time.step_h``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import mesa
import numpy as np
from mesa.agentset import AgentSet
from mesa.discrete_space import OrthogonalMooreGrid
from mesa.time import EventGenerator, Priority, Schedule

from abm.cells.agents import AGENT_CLASSES, MarrowCell
from abm.cells.placement import place_initial_cells
from abm.cells.table import CELL_TYPE_CODE, CellTable
from abm.fields.stack import FieldStack
from abm.interventions import Interventions, TreatmentDeaths
from abm.processes.angiogenesis import EndothelialFates, SproutGrowth, TypeHSignalling
from abm.processes.bookkeeping import Bookkeeping
from abm.processes.hypoxia import HifSensing
from abm.processes.migration import RandomMigration
from abm.processes.osteoblasts import Formation, OsteoblastFates
from abm.processes.osteoclasts import OsteoclastFates, Resorption
from abm.processes.permeability import VesselPermeability
from abm.processes.responses import SignalResponses
from abm.processes.transport import Transport
from abm.processes.turnover import CellTurnover
from abm.scenario import load_scenario
from abm.scenario.schema import Scenario
from abm.systemic import SystemicCompartment

PHASES: tuple[str, ...] = (
    "transport",
    "sensing",
    "decisions",
    "actions",
    "bookkeeping",
    "observers",
)
"""The step's phases, in order (DESIGN.md decision 6). Processes register into one of them."""


class Process(Protocol):
    """Anything that can run in a phase of the step."""

    name: str

    def step(self, model: MarrowModel) -> None:
        """Advance this process by one model step."""


class MarrowModel(mesa.Model):
    """An agent-based model of a 2-D bone-marrow section.

    Args:
        scenario: a validated scenario (see :func:`abm.scenario.load_scenario`).
        rng: seed or generator for ``model.rng``; defaults to ``scenario.seed``.

    Attributes:
        config: the scenario this model was built from.
        interventions: drug and radiation courses (:mod:`abm.interventions`).
        treatment: their effects during the current step (neutral without interventions).
        step_h: model step, hours.
        cells: the struct-of-arrays cell table.
        fields: the field stack (Mesa PropertyLayers).
    """

    def __init__(
        self, scenario: Scenario, *, rng: Any = None, _place_initial_cells: bool = True
    ):
        super().__init__(rng=scenario.seed if rng is None else rng)
        self.config = scenario
        self.step_h = scenario.time.step_h
        self.cells = CellTable(scenario.domain.shape, capacity=_initial_capacity(scenario))
        self.fields = FieldStack(scenario, self.rng)
        self._phases: dict[str, list[Process]] = {phase: [] for phase in PHASES}
        self._agent_by_slot: list[MarrowCell | None] = []
        self._grid: OrthogonalMooreGrid | None = None
        self._grid_agents: list[MarrowCell] = []
        self._grid_synced_step = -1
        self.interventions = Interventions(self)
        self.treatment = self.interventions.effects
        self.register("transport", self.interventions)
        transport = Transport(self)
        self.register("transport", transport)
        self.register("transport", SystemicCompartment(self, transport))
        self.register("sensing", HifSensing(self))
        self.register("sensing", SignalResponses(self))
        self.register("sensing", VesselPermeability(self))
        self.register("sensing", TypeHSignalling(self))
        self.register("decisions", CellTurnover(self))
        self.register("decisions", TreatmentDeaths(self.interventions, scenario.domain.shape))
        self.register("decisions", OsteoclastFates(self))
        self.register("decisions", OsteoblastFates(self))
        self.register("decisions", EndothelialFates(self))
        self.register("actions", RandomMigration(self))
        self.register("actions", Resorption(self))
        self.register("actions", Formation(self))
        self.register("actions", SproutGrowth(self))
        self.register("bookkeeping", Bookkeeping())
        if _place_initial_cells:
            place_initial_cells(self.cells, self.fields.tissue, scenario, self.rng)
            for process in self.processes():
                if hasattr(process, "initialize_cells"):
                    process.initialize_cells(self)
            self.sync_agents()

    @classmethod
    def from_scenario(
        cls, path: str | Path, overrides: Sequence[str] = (), **kwargs: Any
    ) -> MarrowModel:
        """Build a model from a scenario file (``overrides`` as ``key.path=value`` strings)."""
        return cls(load_scenario(path, overrides).scenario, **kwargs)

    # ------------------------------------------------------------------ schedule

    def register(self, phase: str, process: Process) -> None:
        """Add a process at the end of a phase."""
        if phase not in self._phases:
            raise ValueError(f"unknown phase {phase!r}; phases: {', '.join(PHASES)}")
        if any(p.name == process.name for p in self.processes()):
            raise ValueError(f"a process named {process.name!r} is already registered")
        self._phases[phase].append(process)

    def processes(self) -> list[Process]:
        """All registered processes, in execution order."""
        return [p for phase in PHASES for p in self._phases[phase]]

    def schedule_summary(self) -> dict[str, list[str]]:
        """Process names by phase, in execution order."""
        return {phase: [p.name for p in self._phases[phase]] for phase in PHASES}

    def step(self) -> None:
        """Advance one step: run every phase's processes in order."""
        for process in self.processes():
            process.step(self)

    @property
    def time_h(self) -> float:
        """Simulated time, hours."""
        return self.steps * self.step_h

    # ------------------------------------------------------------------ agents

    def sync_agents(self) -> None:
        """Create agents for new cells and remove the agents of dead ones."""
        table = self.cells
        alive, cell_id, cell_type = table["alive"], table["cell_id"], table["cell_type"]
        self._agent_by_slot.extend([None] * (table.n_slots - len(self._agent_by_slot)))
        for slot in np.flatnonzero(~alive & (cell_id >= 0)):
            agent = self._agent_by_slot[slot]
            agent.slot = -1
            agent.remove()
            self._agent_by_slot[slot] = None
            cell_id[slot] = -1
        for slot in np.flatnonzero(alive & (cell_id < 0)):
            agent = AGENT_CLASSES[cell_type[slot]](self, int(slot))
            cell_id[slot] = agent.unique_id
            self._agent_by_slot[slot] = agent

    def compact_cells(self) -> None:
        """Drop dead rows from the cell table and re-point the agents at their new slots."""
        new_slot_of = self.cells.compact()
        agents = [None] * self.cells.n_slots
        for old, new in enumerate(new_slot_of):
            if new >= 0:
                agent = self._agent_by_slot[old]
                agent.slot = int(new)
                agents[new] = agent
        self._agent_by_slot = agents

    def agents_of(self, cell_type: str) -> AgentSet:
        """The living agents of one cell type (by scenario name, e.g. ``"plasma_cell"``)."""
        cls = AGENT_CLASSES[CELL_TYPE_CODE[cell_type]]
        return self.agents_by_type.get(cls, AgentSet([], random=self.random))

    @property
    def grid(self) -> OrthogonalMooreGrid:
        """A Mesa grid view of the section: its property layers are the live fields, and each
        Mesa ``Cell`` lists the agent in that voxel.

        Built on first access (Mesa creates one Python object per voxel: about 15 µs each) and
        re-synchronized with the cell table whenever the model has stepped since. Nothing in the
        simulation itself uses it.
        """
        if self._grid is None:
            self._grid = OrthogonalMooreGrid(
                self.config.domain.shape,
                torus=self.config.domain.boundary == "periodic",
                capacity=1,
                random=self.random,
            )
            for layer in self.fields.layers.values():
                self._grid.add_property_layer(layer)
        if self._grid_synced_step != self.steps:
            for agent in self._grid_agents:
                self._grid[agent._grid_pos].remove_agent(agent)
            self._grid_agents = list(self.agents)
            for agent in self._grid_agents:
                agent._grid_pos = agent.pos
                self._grid[agent._grid_pos].add_agent(agent)
            self._grid_synced_step = self.steps
        return self._grid

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Everything needed to continue this run exactly: ``(arrays, meta)``."""
        arrays = {**self.cells.state_arrays(), **self.fields.state_arrays()}
        for process in self.processes():
            if hasattr(process, "state_arrays"):
                for key, value in process.state_arrays().items():
                    arrays[f"process/{process.name}/{key}"] = value
        version, internal, gauss = self.random.getstate()
        meta = {
            "step": self.steps,
            "rng": self.rng.bit_generator.state,
            "python_random": [version, list(internal), gauss],
            "agent_id_counter": self.agent_id_counter,
        }
        return arrays, meta

    def load_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Continue from :meth:`state` output. The model must be freshly built from the same
        scenario with ``_place_initial_cells=False`` and the same processes registered."""
        if len(self.agents):
            raise RuntimeError("load_state needs a model without cells")
        self.cells.load_state(arrays)
        self.fields.load_state(arrays)
        for process in self.processes():
            if hasattr(process, "load_state"):
                prefix = f"process/{process.name}/"
                process.load_state(
                    {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}
                )
        self.rng.bit_generator.state = meta["rng"]
        version, internal, gauss = meta["python_random"]
        self.random.setstate((version, tuple(internal), gauss))
        stored_ids = self.cells["cell_id"].copy()
        self.cells["cell_id"][:] = -1
        self.sync_agents()
        for slot in self.cells.living_slots():
            self._agent_by_slot[slot].unique_id = int(stored_ids[slot])
        self.cells["cell_id"][:] = stored_ids
        self.agent_id_counter = int(meta["agent_id_counter"])
        self._set_step(int(meta["step"]))
        self.interventions.schedule(self)  # the doses still to come, as events
        self._grid_synced_step = -1  # the grid view, if built, must pick up the loaded agents

    def _set_step(self, step: int) -> None:
        """Move Mesa's clock to ``step`` and re-anchor its recurring step event after it."""
        self.steps = step
        self.time = float(step)
        self._default_schedule.stop()
        self._default_schedule = EventGenerator(
            self, self._do_step, Schedule(interval=1.0, start=self.time + 1.0), Priority.HIGH
        ).start()


def _initial_capacity(scenario: Scenario) -> int:
    """Rows to allocate up front: twice the initial cells (division headroom)."""
    return 2 * sum(spec.initial_count for _, spec in scenario.cells.items()) + 1024
