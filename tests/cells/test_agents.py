"""Mesa agent views of the cell table: counts, read-through attributes, births and deaths."""

from __future__ import annotations

import numpy as np
import pytest

from abm.cells.agents import AGENT_CLASSES, EndothelialCell, MarrowCell, PlasmaCell, StromalCell
from abm.cells.table import CELL_TYPE_CODE, EMPTY
from abm.fields.stack import VESSEL_LUMEN
from abm.scenario import CELL_TYPES


def test_agent_classes_follow_the_cell_type_codes():
    assert len(AGENT_CLASSES) == len(CELL_TYPES)
    for code, cls in enumerate(AGENT_CLASSES):
        assert issubclass(cls, MarrowCell)
        assert cls.cell_type == CELL_TYPES[code]
        assert CELL_TYPE_CODE[cls.cell_type] == code


def test_initial_agents_match_the_table(make_model, check_consistency):
    model = make_model()
    check_consistency(model)
    assert len(model.agents_of("plasma_cell")) == 150
    assert len(model.agents_of("stromal_cell")) == 100
    assert len(model.agents_of("osteoblast")) == 0
    assert model.agents_by_type[PlasmaCell] is model.agents_of("plasma_cell")
    assert len(model.agents_by_type[StromalCell]) == 100
    # endothelial cells line the lumen of base.yaml's vessels
    n_lumen = int(np.count_nonzero(model.fields.tissue == VESSEL_LUMEN))
    assert len(model.agents_of("endothelial_cell")) == n_lumen > 0
    assert set(model.agents_by_type) == {PlasmaCell, StromalCell, EndothelialCell}
    assert len(model.agents) == 250 + n_lumen
    # unique ids 1..n in slot order
    np.testing.assert_array_equal(model.cells["cell_id"], np.arange(1, 251 + n_lumen))
    for agent in model.agents:
        assert agent.unique_id == model.cells["cell_id"][agent.slot]


def test_attributes_read_through_to_the_table(make_model):
    model = make_model()
    table = model.cells
    agent = next(iter(model.agents_of("stromal_cell")))
    slot = agent.slot
    assert agent.pos == (int(table["x"][slot]), int(table["y"][slot]))
    assert agent.age_h == 0.0
    assert agent.mother_id == -1  # an extra column (registered by cell turnover)
    assert agent.cell_type == "stromal_cell"
    table["age_h"][slot] = 17.5
    table["mother_id"][slot] = 42
    assert agent.age_h == 17.5
    assert agent.mother_id == 42
    assert isinstance(agent.mother_id, int)
    x, y = agent.pos
    assert agent.position_um == ((x + 0.5) * 10.0, (y + 0.5) * 10.0)
    with pytest.raises(AttributeError):
        agent.pos = (0, 0)
    with pytest.raises(AttributeError, match="no_such_column"):
        _ = agent.no_such_column
    assert repr(agent) == f"<StromalCell {agent.unique_id} at {agent.pos}>"


def test_extra_column_added_later_reads_through(make_model):
    model = make_model()
    model.cells.add_column("clone", np.int16, 3, inherited=True, unit="-")
    agent = next(iter(model.agents_of("plasma_cell")))
    assert agent.clone == 3
    model.cells["clone"][agent.slot] = -8
    assert agent.clone == -8


def test_dead_agent_is_removed_and_its_attributes_raise(make_model, check_consistency):
    model = make_model()
    table = model.cells
    agent = next(iter(model.agents_of("plasma_cell")))
    slot, uid = agent.slot, agent.unique_id
    x, y = agent.pos
    table["alive"][slot] = False
    table.occupant[x, y] = EMPTY
    model.sync_agents()
    assert agent.slot == -1
    assert agent not in model.agents
    assert agent not in model.agents_of("plasma_cell")
    assert len(model.agents_of("plasma_cell")) == 149
    assert table["cell_id"][slot] == -1
    assert uid not in {a.unique_id for a in model.agents}
    for name in ("pos", "age_h", "mother_id", "position_um"):
        with pytest.raises(RuntimeError, match="died"):
            getattr(agent, name)
    assert "dead" in repr(agent)
    check_consistency(model)


def test_agents_stay_consistent_through_births_and_deaths(make_model, check_consistency):
    model = make_model()
    seen: dict[int, object] = {a.unique_id: a for a in model.agents}
    max_id = max(seen)
    births = deaths = compactions = 0
    for _ in range(72):
        before = set(model.agents)
        n_slots_before = model.cells.n_slots
        model.step()
        after = set(model.agents)
        born, died = after - before, before - after
        births += len(born)
        deaths += len(died)
        if model.cells.n_slots < n_slots_before:
            compactions += 1
        for agent in died:
            assert agent.slot == -1
            with pytest.raises(RuntimeError):
                _ = agent.pos
        new_ids = sorted(a.unique_id for a in born)
        assert all(i > max_id for i in new_ids)  # ids are never reused
        max_id = max([max_id, *new_ids])
        for agent in born:
            assert agent.unique_id not in seen
            seen[agent.unique_id] = agent
        check_consistency(model)
    assert births > 100 and deaths > 50 and compactions > 0
    assert model.agent_id_counter == max_id + 1


def test_daughters_are_born_next_to_their_mothers_with_their_type(make_model):
    model = make_model()
    table = model.cells
    checked = 0
    for _ in range(10):
        n = table.n_slots
        living_before = table["alive"].copy()
        types_before = table["cell_type"].copy()
        xs, ys = table["x"].copy(), table["y"].copy()
        slot_of_id = {int(c): s for s, c in enumerate(table["cell_id"]) if c >= 0}
        model.step()
        if table.n_slots < n:  # compacted: slots moved, skip this step
            continue
        for d in range(n, table.n_slots):
            if not table["alive"][d]:
                continue
            m = slot_of_id[int(table["mother_id"][d])]
            assert 0 <= m < n and living_before[m]
            assert table["cell_type"][d] == types_before[m]
            dx = (int(table["x"][d]) - int(xs[m]) + 15) % 30 - 15
            dy = (int(table["y"][d]) - int(ys[m]) + 15) % 30 - 15
            # born next to the mother's voxel, then at most one hop in the migration phase
            assert abs(dx) + abs(dy) <= 2
            agent = next(a for a in model.agents if a.slot == d)
            assert agent.mother_id == table["cell_id"][m]  # stable lineage: the mother's id
            assert agent.age_h == model.step_h  # born this step, aged by bookkeeping
            checked += 1
    assert checked > 20
