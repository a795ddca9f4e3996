"""Loading valid scenarios: ``extends`` merging, ``--set`` overrides, paths, units, schema."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from abm.scenario import (
    CELL_TYPES,
    FIELD_SPECIES,
    LoadedScenario,
    Scenario,
    ScenarioError,
    json_schema,
    load_scenario,
)

REPO = Path(__file__).resolve().parent.parent.parent
SCENARIO_DIR = REPO / "scenarios"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.yaml"))
BASE = SCENARIO_DIR / "base.yaml"
POEMS = SCENARIO_DIR / "poems.yaml"

SECTIONS = (
    "description",
    "seed",
    "domain",
    "time",
    "fields",
    "binding",
    "hypoxia",
    "permeability",
    "angiogenesis",
    "bone",
    "cells",
    "systemic",
    "interventions_start_d",
    "interventions",
    "output",
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def child_of(tmp_path: Path, body: str, base: Path = BASE, name: str = "child.yaml") -> Path:
    return write(tmp_path / name, f"extends: {base}\n{body}")


def problems(path: Path, overrides=()) -> list:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    assert info.value.problems
    return info.value.problems


# --------------------------------------------------------------------------- repo scenarios


def test_repo_has_the_expected_scenarios():
    names = {p.name for p in SCENARIOS}
    assert {"base.yaml", "healthy.yaml", "myeloma.yaml", "poems.yaml"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_repo_scenario_loads(path: Path):
    loaded = load_scenario(path)
    assert isinstance(loaded, LoadedScenario)
    assert isinstance(loaded.scenario, Scenario)
    assert loaded.source == path
    assert loaded.overrides == ()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_resolved_yaml_round_trips(path: Path, tmp_path: Path):
    first = load_scenario(path)
    text = first.resolved_yaml()
    data = yaml.safe_load(text)
    assert "extends" not in data
    assert set(data) == set(SECTIONS)
    again = load_scenario(write(tmp_path / "resolved.yaml", text))
    assert again.scenario == first.scenario
    assert again.resolved_yaml() == text


def test_resolved_yaml_is_plain_yaml_without_anchors():
    """base.yaml shares values through anchors; the resolved YAML spells every one out."""
    assert "*periodic" in BASE.read_text(encoding="utf-8")
    text = load_scenario(BASE).resolved_yaml()
    assert "&" not in text and "*" not in text and "<<" not in text
    fields = yaml.safe_load(text)["fields"]
    assert fields["il6"]["boundary"] == fields["oxygen"]["boundary"]
    assert fields["il6"]["boundary"] is not fields["oxygen"]["boundary"]


def test_resolved_yaml_round_trips_with_overrides(tmp_path: Path):
    overrides = ("seed=99", "domain.size_um.0=1000", "output.snapshot_fields=[oxygen, vegf]")
    first = load_scenario(POEMS, overrides)
    again = load_scenario(write(tmp_path / "resolved.yaml", first.resolved_yaml()))
    assert again.scenario == first.scenario


# --------------------------------------------------------------------------- extends


def test_repo_children_keep_everything_they_do_not_change():
    base = load_scenario(BASE).scenario
    poems = load_scenario(POEMS).scenario
    assert poems.cells.plasma_cell.initial_count == 1100
    assert poems.cells.plasma_cell.placement.kind == "foci"
    # Siblings of the changed keys come from base.yaml.
    assert poems.cells.plasma_cell.death_rate_per_day == base.cells.plasma_cell.death_rate_per_day
    assert poems.cells.plasma_cell.rules == base.cells.plasma_cell.rules
    assert (
        poems.cells.plasma_cell.random_motility_um2_per_h
        == base.cells.plasma_cell.random_motility_um2_per_h
    )
    assert poems.cells.stromal_cell == base.cells.stromal_cell
    assert poems.fields == base.fields
    assert poems.time == base.time
    assert poems.domain == base.domain


def test_distant_marrow_is_healthy_marrow_in_the_poems_blood():
    """poems_distant_marrow.yaml changes healthy marrow's extramarrow plasma levels only (the
    description aside): no clone, same cells, fields and rules; the half-lives stay base's."""
    def without_levels(name: str) -> tuple[dict, dict[str, float]]:
        tree = load_scenario(SCENARIO_DIR / name).scenario.model_dump()
        tree.pop("description")
        return tree, {species: pool.pop("extramarrow_plasma_level")
                      for species, pool in tree["systemic"]["plasma"].items()}

    healthy, healthy_levels = without_levels("healthy.yaml")
    distant, distant_levels = without_levels("poems_distant_marrow.yaml")
    assert distant == healthy
    assert distant_levels == {"vegf": 650, "il6": 19, "il1b": 7}
    assert all(distant_levels[k] > v for k, v in healthy_levels.items())


def test_extends_deep_merges_one_nested_key(tmp_path: Path):
    child = child_of(tmp_path, "cells:\n  plasma_cell:\n    initial_count: 7\n")
    base = load_scenario(BASE).scenario.model_dump()
    got = load_scenario(child).scenario.model_dump()
    assert got["cells"]["plasma_cell"]["initial_count"] == 7
    base["cells"]["plasma_cell"]["initial_count"] = 7
    assert got == base


def test_extends_chain_of_three_files(tmp_path: Path):
    mid = write(
        tmp_path / "bases" / "mid.yaml",
        f"extends: {BASE}\n"
        "seed: 5\n"
        "output:\n  snapshot_fields: [oxygen, vegf, il6]\n"
        "cells:\n  plasma_cell:\n    initial_count: 5\n",
    )
    child = write(
        tmp_path / "child.yaml",
        "extends: bases/mid.yaml\n"
        "output:\n  snapshot_fields: [rankl]\n"
        "cells:\n  plasma_cell:\n    death_rate_per_day: 0.1\n",
    )
    s = load_scenario(child).scenario
    assert mid.is_file()
    assert s.seed == 5
    assert s.cells.plasma_cell.initial_count == 5
    assert s.cells.plasma_cell.death_rate_per_day == 0.1
    assert s.cells.plasma_cell.division_rate_per_day == 0.005
    # Lists are replaced, never merged element by element.
    assert s.output.snapshot_fields == ["rankl"]
    assert s.output.snapshot_layer_names() == ["rankl"]


def test_lists_are_replaced_not_merged(tmp_path: Path):
    mid = child_of(
        tmp_path, "output:\n  snapshot_fields: [oxygen, vegf, il6, bone_mineral]\n", name="mid.yaml"
    )
    child = child_of(tmp_path, "output:\n  snapshot_fields: [il6]\n", base=mid)
    assert load_scenario(mid).scenario.output.snapshot_fields == [
        "oxygen",
        "vegf",
        "il6",
        "bone_mineral",
    ]
    assert load_scenario(child).scenario.output.snapshot_fields == ["il6"]


def test_shorter_list_in_child_is_located_in_the_child(tmp_path: Path):
    """A shorter list is not padded from the base, and its problem is in the child's line."""
    short = child_of(tmp_path, "domain:\n  size_um: [1000]\n", name="short.yaml")
    (problem,) = problems(short)
    assert (problem.location.source, problem.location.line) == (str(short), 3)
    assert problem.key_path == "domain.size_um"


def test_extends_is_relative_to_the_extending_file(tmp_path: Path):
    write(tmp_path / "a" / "b" / "base.yaml", BASE.read_text(encoding="utf-8"))
    child = write(tmp_path / "a" / "child.yaml", "extends: b/base.yaml\nseed: 3\n")
    assert load_scenario(child).scenario.seed == 3


def test_extends_switching_kind_replaces_the_union_member(tmp_path: Path):
    """A child of poems.yaml that places plasma cells uniformly must not inherit foci keys."""
    child = child_of(
        tmp_path, "cells:\n  plasma_cell:\n    placement: {kind: uniform}\n", base=POEMS
    )
    placement = load_scenario(child).scenario.cells.plasma_cell.placement
    assert placement.kind == "uniform"


def test_problem_in_a_base_file_is_located_in_that_file(tmp_path: Path):
    mid = child_of(
        tmp_path,
        "cells:\n  osteoclast:\n    death_rate_per_day: -1\n",
        name="mid.yaml",
    )
    child = child_of(tmp_path, "seed: 4\n", base=mid)
    (problem,) = problems(child)
    assert Path(problem.location.source).resolve() == mid.resolve()
    assert (problem.location.line, problem.location.column) == (4, 5)
    assert problem.key_path == "cells.osteoclast.death_rate_per_day"


def test_child_value_overrides_base_position(tmp_path: Path):
    """The problem points at the child's line, not at the base line the child replaced."""
    child = child_of(tmp_path, "time:\n  record_interval_h: 2.5\n")
    (problem,) = problems(child)
    assert str(problem.location) == f"{child}:3:3"
    assert problem.key_path == "time.record_interval_h"


def test_all_problems_are_reported_in_reading_order(tmp_path: Path):
    child = child_of(
        tmp_path,
        "seed: -3\n"
        "cells:\n"
        "  plasma_cell:\n"
        "    death_rate_per_day: -1\n"
        "  stroma_cell: {}\n"
        "fields:\n"
        "  vegf:\n"
        "    unit: ng/mL\n",
    )
    found = problems(child)
    assert [(p.location.line, p.key_path) for p in found] == [
        (2, "seed"),
        (5, "cells.plasma_cell.death_rate_per_day"),
        (6, "cells.stroma_cell"),
        (9, "fields.vegf.unit"),
    ]
    assert "did you mean 'stromal_cell'" in found[2].message
    text_lines = str(ScenarioError(found)).splitlines()
    assert text_lines[0] == f"{child}:2:1: seed: {found[0].message}"


def test_aliased_mappings_merge_independently(tmp_path: Path):
    """base.yaml aliases one mapping (``&protein_tissues``, ``&periodic``) into many species; a
    child changing it for one species leaves the others as they were."""
    child = child_of(
        tmp_path,
        "fields:\n"
        "  il6:\n"
        "    diffusion_multiplier: {mineralized_bone: 0.5}\n"
        "    boundary: {x_min: {kind: no_flux}, x_max: {kind: no_flux}}\n",
    )
    base, got = load_scenario(BASE).scenario, load_scenario(child).scenario
    assert got.fields.il6.diffusion_multiplier.mineralized_bone == 0.5
    assert got.fields.il6.boundary.x_min.kind == got.fields.il6.boundary.x_max.kind == "no_flux"
    assert got.fields.il6.boundary.y_min.kind == "periodic"
    for name in FIELD_SPECIES:
        if name != "il6":
            assert getattr(got.fields, name) == getattr(base.fields, name), name


def test_anchored_values_keep_their_type(tmp_path: Path):
    """An anchored ``false`` is still a boolean (ruamel loads it as an int subclass)."""
    child = child_of(
        tmp_path,
        "output:\n  snapshot_cell_map: &off false\n"
        "fields:\n  vegf: {solver: &s {mode: implicit, substeps: 2, relative_tolerance: 1.0e-6}}\n"
        "  il6: {solver: {<<: *s, substeps: 3}}\n  il1b: {solver: *s}\n",
    )
    s = load_scenario(child).scenario
    assert s.output.snapshot_cell_map is False
    assert (s.fields.vegf.solver.substeps, s.fields.il6.solver.substeps) == (2, 3)
    assert s.fields.il1b.solver == s.fields.vegf.solver
    assert s.fields.il6.solver.relative_tolerance == 1e-6
    assert load_scenario(BASE, ["output.snapshot_cell_map=&f false"]).scenario.output == (
        s.output
    )


def test_missing_and_directory_files(tmp_path: Path):
    (problem,) = problems(tmp_path / "nope.yaml")
    assert str(problem.location) == f"{tmp_path / 'nope.yaml'}:1:1"
    assert "not found" in problem.message
    (problem,) = problems(tmp_path)
    assert "directory" in problem.message


# --------------------------------------------------------------------------- --set overrides


@pytest.mark.parametrize(
    ("override", "getter", "expected"),
    [
        ("seed=42", lambda s: s.seed, 42),
        ("time.step_h=0.5", lambda s: s.time.step_h, 0.5),
        ("cells.plasma_cell.initial_count=5", lambda s: s.cells.plasma_cell.initial_count, 5),
        ("fields.vegf.half_life_h=null", lambda s: s.fields.vegf.half_life_h, None),
        ("description=a run from the CLI", lambda s: s.description, "a run from the CLI"),
        (
            "output.snapshot_fields=[oxygen, vegf]",
            lambda s: s.output.snapshot_fields,
            ["oxygen", "vegf"],
        ),
        ("domain.size_um.0=1000", lambda s: s.domain.size_um, (1000.0, 2000.0)),
        ("domain.size_um=[500, 300]", lambda s: s.domain.size_um, (500.0, 300.0)),
        (
            "cells.plasma_cell.placement={kind: foci, n_foci: 2, radius_um: 50}",
            lambda s: (s.cells.plasma_cell.placement.kind, s.cells.plasma_cell.placement.n_foci),
            ("foci", 2),
        ),
        (
            "cells.plasma_cell.placement={kind: uniform}",
            lambda s: s.cells.plasma_cell.placement.kind,
            "uniform",
        ),
    ],
)
def test_set_overrides(override: str, getter, expected):
    loaded = load_scenario(POEMS, [override])
    assert getter(loaded.scenario) == expected
    assert loaded.overrides == (override,)


def test_set_override_types_are_yaml():
    s = load_scenario(BASE, ["seed=42", "time.step_h=0.5"]).scenario
    assert type(s.seed) is int
    assert type(s.time.step_h) is float


def test_set_override_aliases_are_copies():
    """An alias in a ``--set`` value copies its anchor: a later override of one place does not
    change the others."""
    edges = "{x_min: &e {kind: periodic}, x_max: *e, y_min: *e, y_max: *e}"
    s = load_scenario(
        BASE,
        [
            f"fields.il6.boundary={edges}",
            "fields.il6.boundary.x_min.kind=no_flux",
            "fields.il6.boundary.x_max.kind=no_flux",
        ],
    ).scenario
    boundary = s.fields.il6.boundary
    assert (boundary.x_min.kind, boundary.x_max.kind) == ("no_flux", "no_flux")
    assert (boundary.y_min.kind, boundary.y_max.kind) == ("periodic", "periodic")


def test_recursive_alias_in_set_value_is_a_problem():
    (problem,) = problems(BASE, ["systemic=&x {b: *x}"])
    assert str(problem.location) == "--set systemic=&x {b: *x}"
    assert "recursive alias" in problem.message


def test_set_overrides_apply_in_order_and_keep_siblings():
    s = load_scenario(BASE, ["seed=1", "seed=2", "domain.size_um.0=1000"]).scenario
    assert s.seed == 2
    assert s.domain.size_um == (1000.0, 2000.0)
    assert s.domain.voxel_um == 10
    assert s.domain.shape == (100, 200)


@pytest.mark.parametrize(
    "override",
    [
        "seed",  # no '='
        "=3",  # no key
        "seed.x=1",  # a path into a scalar
        "domain.size_um.0.5=1",  # a path into a list element that is a scalar
        "domain.size_um.2=1",  # index past the end of the list
        "interventions.pill.kind=drug",  # a path through a key that does not exist
        "domain..voxel_um=5",  # empty key part
        "seed=[1",  # value that is not YAML
    ],
)
def test_bad_set_override_is_a_located_problem(override: str):
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASE, [override])
    (problem,) = info.value.problems
    assert problem.location.source.startswith("--set")
    assert str(problem.location) == f"--set {override}"
    assert str(info.value).startswith(f"--set {override}: ")
    assert problem.message


def test_misspelled_set_key_suggests_the_right_one():
    (problem,) = problems(BASE, ["time.duraton_d=30"])
    assert str(problem.location) == "--set time.duraton_d=30"
    assert problem.key_path == "time.duraton_d"
    assert "did you mean 'duration_d'" in problem.message


def test_misspelled_set_cell_type_suggests_the_right_one():
    (problem,) = problems(BASE, ["cells.osteoblasts.initial_count=3"])
    assert problem.location.source.startswith("--set")
    assert problem.key_path.startswith("cells.osteoblasts")
    assert "did you mean 'osteoblast'" in problem.message


def test_invalid_set_value_is_located_at_the_override():
    (problem,) = problems(BASE, ["cells.plasma_cell.death_rate_per_day=-1"])
    assert str(problem.location) == "--set cells.plasma_cell.death_rate_per_day=-1"
    assert problem.key_path == "cells.plasma_cell.death_rate_per_day"


def test_set_replacing_a_subtree_drops_its_file_positions():
    (problem,) = problems(BASE, ["domain.size_um=[0, 10]"])
    assert str(problem.location) == "--set domain.size_um=[0, 10]"
    assert problem.key_path.startswith("domain.size_um")


def test_set_extends_is_not_a_confusing_suggestion():
    """``extends`` is only valid in files; the message must not suggest 'extends' itself."""
    (problem,) = problems(BASE, ["extends=poems.yaml"])
    assert problem.location.source.startswith("--set")
    assert "did you mean 'extends'" not in problem.message


def test_set_problems_come_after_file_problems(tmp_path: Path):
    child = child_of(tmp_path, "seed: -1\n")
    found = problems(child, ["time.duraton_d=3"])
    assert [p.location.source.startswith("--set") for p in found] == [False, True]


# --------------------------------------------------------------------------- file paths


def bone_file(body_path: str) -> str:
    return f"domain:\n  initial_bone:\n    kind: file\n    path: {body_path}\n"


def save_bone(path: Path, shape: tuple[int, int] = (200, 200)) -> Path:
    """A valid mineral-fraction array for base.yaml's 200 x 200 lattice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.zeros(shape, dtype=np.uint8))
    return path


def test_relative_bone_path_is_relative_to_the_file_that_sets_it(tmp_path: Path):
    bone_npy = save_bone(tmp_path / "bases" / "bone.npy")
    save_bone(tmp_path / "runs" / "bone.npy")  # a decoy next to the child
    child_of(tmp_path / "bases", bone_file("bone.npy"), name="bone_base.yaml")
    child = write(tmp_path / "runs" / "child.yaml", "extends: ../bases/bone_base.yaml\nseed: 2\n")
    bone = load_scenario(child).scenario.domain.initial_bone
    assert bone.kind == "file"
    assert Path(bone.path) == bone_npy.resolve()


def test_bone_path_set_by_the_child_is_relative_to_the_child(tmp_path: Path):
    save_bone(tmp_path / "bases" / "bone.npy")
    mine = save_bone(tmp_path / "runs" / "data" / "mine.npy")
    child_of(tmp_path / "bases", bone_file("bone.npy"), name="bone_base.yaml")
    child = write(
        tmp_path / "runs" / "child.yaml",
        "extends: ../bases/bone_base.yaml\ndomain:\n  initial_bone:\n    path: data/mine.npy\n",
    )
    bone = load_scenario(child).scenario.domain.initial_bone
    assert Path(bone.path) == mine.resolve()


def test_absolute_bone_path_is_kept(tmp_path: Path):
    target = save_bone(tmp_path / "elsewhere" / "bone.npy").resolve()
    child = child_of(tmp_path / "runs", bone_file(str(target)))
    assert Path(load_scenario(child).scenario.domain.initial_bone.path) == target


def test_bone_path_from_set_is_relative_to_cwd(tmp_path: Path, monkeypatch):
    bone_npy = save_bone(tmp_path / "cli" / "bone.npy")
    monkeypatch.chdir(tmp_path)
    s = load_scenario(BASE, ["domain.initial_bone={kind: file, path: cli/bone.npy}"]).scenario
    assert Path(s.domain.initial_bone.path) == bone_npy.resolve()


def test_resolved_bone_path_survives_round_trip(tmp_path: Path):
    save_bone(tmp_path / "bases" / "bone.npy")
    child = child_of(tmp_path / "bases", bone_file("bone.npy"))
    first = load_scenario(child)
    moved = write(tmp_path / "other" / "dir" / "resolved.yaml", first.resolved_yaml())
    assert load_scenario(moved).scenario == first.scenario


def test_missing_bone_file_is_located_where_the_path_is_set(tmp_path: Path):
    child = child_of(tmp_path / "runs", bone_file("nothere.npy"))
    (problem,) = problems(child)
    assert Path(problem.location.source) == child
    assert problem.location.line in (3, 5)  # the initial_bone mapping or its path
    assert problem.key_path.startswith("domain.initial_bone")
    assert str((tmp_path / "runs" / "nothere.npy").resolve()) in problem.message


def test_bone_file_of_the_wrong_shape_is_a_problem(tmp_path: Path):
    save_bone(tmp_path / "bone.npy", shape=(100, 200))
    child = child_of(tmp_path, bone_file("bone.npy"))
    (problem,) = problems(child)
    assert problem.key_path.startswith("domain.initial_bone")
    assert "shape" in problem.message


def test_bone_image_of_the_wrong_shape_is_a_located_problem(tmp_path: Path):
    from PIL import Image

    Image.new("L", (200, 100)).save(tmp_path / "section.png")
    child = child_of(tmp_path, bone_file("section.png"))
    (problem,) = problems(child)
    assert problem.key_path.startswith("domain.initial_bone")
    assert Path(problem.location.source) == child
    assert "section.png: shape (200, 100) differs from the lattice shape (200, 200)" in (
        problem.message
    )


# --------------------------------------------------------------------------- internal units


def test_time_in_steps():
    t = load_scenario(BASE).scenario.time
    assert t.duration_steps == 365 * 24
    assert t.record_every_steps == 24
    assert t.snapshot_every_steps == 168
    assert t.checkpoint_every_steps == 720
    assert all(
        type(n) is int
        for n in (
            t.duration_steps,
            t.record_every_steps,
            t.snapshot_every_steps,
            t.checkpoint_every_steps,
        )
    )


def test_time_in_steps_follows_the_step():
    t = load_scenario(BASE, ["time.step_h=0.5", "time.duration_d=2"]).scenario.time
    assert t.duration_steps == 96
    assert t.record_every_steps == 48
    assert t.snapshot_every_steps == 336


def test_decay_rate_is_ln2_over_half_life():
    fields = load_scenario(BASE).scenario.fields
    vegf = fields.vegf
    assert vegf.decay_rate_per_h == math.log(2) / vegf.half_life_h
    assert vegf.decay_rate_per_h == pytest.approx(0.918, rel=1e-3)  # REFERENCE 1.3
    assert fields.oxygen.half_life_h is None
    assert fields.oxygen.decay_rate_per_h == 0.0
    for _, spec in fields.items():
        if spec.half_life_h is not None:
            assert spec.decay_rate_per_h == pytest.approx(math.log(2) / spec.half_life_h)


def test_domain_shape():
    s = load_scenario(BASE).scenario
    assert s.domain.shape == (200, 200)
    assert s.n_voxels == 40_000
    assert s.domain.voxel_area_um2 == 100.0
    s = load_scenario(BASE, ["domain.size_um=[1000, 500]", "domain.voxel_um=20"]).scenario
    assert s.domain.shape == (50, 25)
    assert all(type(n) is int for n in s.domain.shape)


def test_sections_keep_model_order():
    s = load_scenario(POEMS).scenario
    assert [name for name, _ in s.fields.items()] == list(FIELD_SPECIES)
    assert [name for name, _ in s.cells.items()] == list(CELL_TYPES)


# --------------------------------------------------------------------------- JSON schema


def test_json_schema_is_valid_json_with_every_section():
    schema = json_schema()
    again = json.loads(json.dumps(schema))
    assert again == schema
    assert set(SECTIONS) | {"extends"} <= set(schema["properties"])
    assert set(Scenario.model_fields) <= set(schema["properties"])
    assert schema["properties"]["extends"]["type"] == "string"
    assert schema["additionalProperties"] is False
    assert "$schema" in schema


@pytest.mark.parametrize(
    ("override", "key", "message"),
    [
        ("seed=true", "seed", "valid integer (got True)"),
        ("cells.osteoblast.initial_count=true", "cells.osteoblast.initial_count", "valid integer"),
        ("domain.voxel_um='10'", "domain.voxel_um", "valid number (got '10')"),
        ("domain.size_um.5=1", "domain.size_um", "index 5 is out of range"),
        ("seed.x=1", "seed", "is a single value (1), not a section"),
    ],
)
def test_types_are_strict_and_override_paths_explained(override: str, key: str, message: str):
    with pytest.raises(ScenarioError) as info:
        load_scenario(POEMS, [override])
    (problem,) = info.value.problems
    assert problem.key_path == key
    assert message in problem.message


def test_extends_naming_a_directory_says_so(tmp_path: Path):
    child = tmp_path / "child.yaml"
    child.write_text("extends: .\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    assert "is a directory" in info.value.problems[0].message
