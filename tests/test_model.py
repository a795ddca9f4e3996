"""MarrowModel: construction, schedule, Mesa grid view, determinism and checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pytest
from mesa.discrete_space import OrthogonalMooreGrid

from abm.cells.agents import PlasmaCell, StromalCell
from abm.cells.table import CELL_TYPE_CODE
from abm.fields.stack import MARROW, VESSEL_LUMEN
from abm.model import PHASES, MarrowModel
from abm.scenario import BONE_LAYER, FIELD_SPECIES
from abm.scenario.schema import FREE_RANKL_LAYER, LAYERS, OSTEOID_LAYER, VESSEL_LAYER


class Recorder:
    """A process that appends its name to a shared log."""

    def __init__(self, name, log, probe=None):
        self.name = name
        self.log = log
        self.probe = probe

    def step(self, model):
        self.log.append(self.name if self.probe is None else (self.name, self.probe(model)))


# ----------------------------------------------------------------------------- construction


def test_from_scenario_builds_the_tiny_model(make_model, tiny_scenario, load):
    model = make_model()
    scenario = load(tiny_scenario).scenario
    assert model.config == scenario
    assert model.step_h == 1.0
    assert model.steps == 0 and model.time_h == 0.0
    assert model.cells.shape == (30, 30)
    # one endothelial cell lines every lumen voxel of base.yaml's procedural vessels
    n_lumen = int(np.count_nonzero(model.fields.tissue == VESSEL_LUMEN))
    np.testing.assert_array_equal(model.cells.count_by_type(), [150, 100, 0, 0, n_lumen])
    assert model.fields.names == [
        *FIELD_SPECIES, BONE_LAYER, OSTEOID_LAYER, VESSEL_LAYER, FREE_RANKL_LAYER
    ]
    assert model.fields.names == list(LAYERS)
    for name in FIELD_SPECIES:
        spec = getattr(scenario.fields, name)
        assert model.fields[name].shape == (30, 30)
        assert np.all(model.fields[name] == spec.initial_value)
    assert np.all(model.fields[BONE_LAYER] == 0.0)
    # base.yaml's procedural vessels: some lumen (0/1), the rest marrow; cells only on marrow
    lumen = model.fields[VESSEL_LAYER]
    assert set(np.unique(lumen).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(model.fields.tissue == VESSEL_LUMEN, lumen == 1.0)
    np.testing.assert_array_equal(model.fields.tissue == MARROW, lumen == 0.0)
    living = model.cells.living_slots()
    xs, ys = model.cells["x"][living], model.cells["y"][living]
    endothelial = model.cells["cell_type"][living] == CELL_TYPE_CODE["endothelial_cell"]
    assert np.all(model.fields.tissue[xs, ys] == np.where(endothelial, VESSEL_LUMEN, MARROW))
    assert model.schedule_summary() == {
        "transport": ["interventions", "transport", "systemic"],
        "sensing": ["hif_sensing", "signal_responses", "vessel_permeability", "type_h_signalling"],
        "decisions": [
            "cell_turnover", "treatment_deaths", "osteoclast_fates", "osteoblast_fates",
            "endothelial_fates",
        ],
        "actions": ["random_migration", "resorption", "formation", "sprout_growth"],
        "bookkeeping": ["bookkeeping"],
        "observers": [],
    }
    assert [p.name for p in model.processes()] == [
        "interventions", "transport", "systemic", "hif_sensing", "signal_responses",
        "vessel_permeability", "type_h_signalling", "cell_turnover", "treatment_deaths",
        "osteoclast_fates", "osteoblast_fates", "endothelial_fates", "random_migration",
        "resorption", "formation", "sprout_growth", "bookkeeping",
    ]
    assert "mother_id" in model.cells.columns


def test_agent_counts_match_the_table_over_many_steps(make_model, check_consistency):
    model = make_model()
    counts = []
    for _ in range(12):
        model.run_for(8)
        check_consistency(model)
        counts.append(model.cells.count_by_type().tolist())
        assert len(model.agents_of("plasma_cell")) == counts[-1][0]
        assert len(model.agents_by_type[PlasmaCell]) == counts[-1][0]
        assert len(model.agents_by_type[StromalCell]) == counts[-1][1]
        assert len(model.agents_of("osteoclast")) == 0
    assert model.steps == 96
    assert len({c[0] for c in counts}) > 5  # the plasma-cell count does change


@pytest.mark.parametrize(("step_h", "n"), [(1.0, 24), (2.0, 24), (0.5, 7)])
def test_run_for_advances_steps_and_time(make_model, step_h, n):
    # motility 10 µm²/h keeps the hop probability <= 1 with 2 h steps
    model = make_model([f"time.step_h={step_h}", "cells.plasma_cell.random_motility_um2_per_h=10"])
    assert model.step_h == step_h
    model.run_for(n)
    assert model.steps == n
    assert model.time_h == pytest.approx(n * step_h)
    assert model.time == n
    model.run_for(n)
    assert model.steps == 2 * n
    assert model.time_h == pytest.approx(2 * n * step_h)


def test_step_advances_one_step(make_model):
    model = make_model()
    model.step()
    model.step()
    assert model.steps == 2 and model.time_h == 2.0


# ----------------------------------------------------------------------------- schedule


def test_phases_run_in_order(make_model):
    model = make_model()
    log = []
    # register in reverse phase order: execution must still follow PHASES
    for phase in reversed(PHASES):
        model.register(phase, Recorder(f"rec_{phase}", log))
    model.register("sensing", Recorder("rec_sensing_2", log))
    model.run_for(3)
    one_step = ["rec_transport", "rec_sensing", "rec_sensing_2", "rec_decisions",
                "rec_actions", "rec_bookkeeping", "rec_observers"]
    assert log == one_step * 3
    summary = model.schedule_summary()
    assert list(summary) == list(PHASES)
    assert summary["decisions"] == [
        "cell_turnover", "treatment_deaths", "osteoclast_fates", "osteoblast_fates",
        "endothelial_fates", "rec_decisions",
    ]
    assert summary["sensing"] == [
        "hif_sensing", "signal_responses", "vessel_permeability", "type_h_signalling",
        "rec_sensing", "rec_sensing_2",
    ]
    assert summary["transport"] == ["interventions", "transport", "systemic", "rec_transport"]
    assert [p.name for p in model.processes()] == [
        "interventions", "transport", "systemic", "rec_transport", "hif_sensing",
        "signal_responses", "vessel_permeability", "type_h_signalling",
        "rec_sensing", "rec_sensing_2", "cell_turnover", "treatment_deaths",
        "osteoclast_fates", "osteoblast_fates",
        "endothelial_fates", "rec_decisions", "random_migration", "resorption", "formation",
        "sprout_growth", "rec_actions", "bookkeeping", "rec_bookkeeping",
        "rec_observers",
    ]


def test_builtin_processes_run_in_their_phases(make_model):
    """Probe the model after each phase: births appear in decisions, moves in actions, agents
    and ages are updated in bookkeeping."""
    model = make_model()
    model.run_for(2)
    log = []

    def probe(m):
        table = m.cells
        alive = table["alive"]
        return (
            table.n_slots,
            len(m.agents),
            int(alive.sum()),
            table["x"].tobytes() + table["y"].tobytes(),
            float(table["age_h"][alive].sum()),
        )

    for phase in PHASES:
        model.register(phase, Recorder(f"probe_{phase}", log, probe=probe))
    model.step()
    got = {name.removeprefix("probe_"): value for name, value in log}
    n_agents_before = got["transport"][1]
    assert got["sensing"] == got["transport"]
    n, agents, alive, xy, ages = got["decisions"]
    assert n > got["transport"][0]  # turnover appended daughters ...
    assert alive != agents == n_agents_before  # ... and killed cells, agents not yet synced
    assert got["actions"][:3] == got["decisions"][:3]
    assert got["actions"][3] != xy  # migration moved cells
    assert got["actions"][4] == ages
    n_b, agents_b, alive_b, _, ages_b = got["bookkeeping"]
    assert agents_b == alive_b == alive  # bookkeeping synced the agents
    assert ages_b == pytest.approx(ages + alive * model.step_h)  # and aged every living cell
    assert got["observers"] == got["bookkeeping"]
    assert model.steps == 3


def test_register_rejects_unknown_phase_and_duplicate_names(make_model):
    model = make_model()
    before = model.schedule_summary()
    with pytest.raises(ValueError, match="unknown phase"):
        model.register("diffusion", Recorder("x", []))
    with pytest.raises(ValueError, match="already registered"):
        model.register("observers", Recorder("bookkeeping", []))
    model.register("transport", Recorder("mine", []))
    with pytest.raises(ValueError, match="mine"):
        model.register("sensing", Recorder("mine", []))
    after = model.schedule_summary()
    assert before["transport"] == ["interventions", "transport", "systemic"]
    assert after == {**before, "transport": ["interventions", "transport", "systemic", "mine"]}


# ----------------------------------------------------------------------------- Mesa grid


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
def test_grid_is_a_live_mesa_view(make_model, boundary):
    model = make_model([f"domain.boundary={boundary}"])
    grid = model.grid
    assert isinstance(grid, OrthogonalMooreGrid)
    assert grid.dimensions == (30, 30)
    assert grid.torus is (boundary == "periodic")
    for name in model.fields.names:
        layer = getattr(grid, name)
        assert np.shares_memory(layer.data, model.fields[name]), name
    model.fields["vegf"][3, 4] = 123.0
    assert grid[(3, 4)].vegf == 123.0
    grid.vegf.data[5, 6] = -1.0
    assert model.fields["vegf"][5, 6] == -1.0

    def check_cells():
        occupied = 0
        for agent in model.agents:
            assert agent in grid[agent.pos].agents
            assert len(grid[agent.pos].agents) == 1
        for cell in grid.all_cells:
            occupied += len(cell.agents)
            for agent in cell.agents:
                assert agent.pos == cell.coordinate
        assert occupied == len(model.agents)

    check_cells()
    positions = {a.unique_id: a.pos for a in model.agents}
    model.run_for(10)
    assert model.grid is grid  # same object, re-synchronized
    moved = sum(
        1 for a in model.agents if a.unique_id in positions and a.pos != positions[a.unique_id]
    )
    assert moved > 0
    check_cells()
    for name in model.fields.names:
        assert np.shares_memory(getattr(grid, name).data, model.fields[name])


def test_grid_reflects_agents_after_load_state(make_model):
    """A grid built before ``load_state`` must show the loaded agents (here: a step-0 state,
    so the step counter does not change)."""
    model = make_model()
    arrays, meta = model.state()
    fresh = MarrowModel(model.config, _place_initial_cells=False)
    assert sum(len(c.agents) for c in fresh.grid.all_cells) == 0
    fresh.load_state(arrays, meta)
    assert len(fresh.agents) == len(model.agents) > 250  # plasma, stromal and endothelial cells
    grid = fresh.grid
    assert sum(len(c.agents) for c in grid.all_cells) == len(model.agents)
    for agent in fresh.agents:
        assert agent in grid[agent.pos].agents


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_table_different_seed_different(
    make_model, model_arrays, assert_arrays_equal
):
    a, b = make_model(), make_model()
    c = make_model(["seed=2"])
    d = make_model(rng=2)
    for m in (a, b, c, d):
        m.run_for(60)
    assert_arrays_equal(model_arrays(a), model_arrays(b))
    assert [x.unique_id for x in a.agents] == [x.unique_id for x in b.agents]
    assert a.agent_id_counter == b.agent_id_counter
    assert_arrays_equal(model_arrays(c), model_arrays(d))  # rng= overrides the scenario's seed
    arrays_a, arrays_c = model_arrays(a), model_arrays(c)
    assert not np.array_equal(arrays_a["cells/occupant"], arrays_c["cells/occupant"])


# ----------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("first_steps", [0, 37, 48])
def test_state_load_state_round_trip(make_model, model_arrays, assert_arrays_equal, first_steps):
    model = make_model()
    if first_steps:
        model.run_for(first_steps)
    arrays, meta = model.state()
    assert meta["step"] == first_steps
    assert {k for k in arrays if k.startswith("cells/")} == {
        f"cells/{c}" for c in model.cells.columns
    }
    assert {k for k in arrays if k.startswith("fields/")} == {
        f"fields/{n}" for n in model.fields.names
    }
    copy = MarrowModel(model.config, _place_initial_cells=False)
    assert len(copy.agents) == 0
    copy.load_state(arrays, meta)
    assert copy.steps == model.steps and copy.time_h == model.time_h
    assert_arrays_equal(model_arrays(copy), model_arrays(model))
    assert sorted(a.unique_id for a in copy.agents) == sorted(a.unique_id for a in model.agents)
    assert copy.agent_id_counter == model.agent_id_counter
    for m in (model, copy):
        m.run_for(50)
    assert copy.steps == model.steps == first_steps + 50
    assert_arrays_equal(model_arrays(copy), model_arrays(model))
    ids = {a.unique_id: a.pos for a in model.agents}
    assert {a.unique_id: a.pos for a in copy.agents} == ids
    assert [a.unique_id for a in copy.agents_of("plasma_cell")] == [
        a.unique_id for a in model.agents_of("plasma_cell")
    ]
    # the state is a copy: running on did not change it
    assert meta["step"] == first_steps
    again = MarrowModel(model.config, _place_initial_cells=False)
    again.load_state(arrays, meta)
    assert again.steps == first_steps


def test_load_state_restores_agent_ids_after_deaths(make_model, check_consistency):
    model = make_model()
    model.run_for(30)
    arrays, meta = model.state()
    copy = MarrowModel(model.config, _place_initial_cells=False)
    copy.load_state(arrays, meta)
    check_consistency(copy)
    np.testing.assert_array_equal(copy.cells["cell_id"], model.cells["cell_id"])
    ids = sorted(a.unique_id for a in copy.agents)
    assert ids == sorted(a.unique_id for a in model.agents)
    # cells have died and been born: renumbering the loaded agents 1..n would be caught
    assert ids != list(range(1, len(ids) + 1))


def test_load_state_into_a_model_with_cells_raises(make_model):
    model = make_model()
    arrays, meta = model.state()
    with pytest.raises(RuntimeError):
        make_model().load_state(arrays, meta)


def test_state_survives_a_json_round_trip_of_meta(make_model, model_arrays, assert_arrays_equal):
    """Checkpoints store ``meta`` as JSON: the RNG states must survive it."""
    import json

    model = make_model()
    model.run_for(20)
    arrays, meta = model.state()
    meta = json.loads(json.dumps(meta))
    copy = MarrowModel(model.config, _place_initial_cells=False)
    copy.load_state(arrays, meta)
    model.run_for(20)
    copy.run_for(20)
    assert_arrays_equal(model_arrays(copy), model_arrays(model))
