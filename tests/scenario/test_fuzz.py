"""Property tests: no input makes the loader fail with anything but a located ScenarioError."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.scenario import LoadedScenario, ScenarioError, load_scenario

REPO = Path(__file__).resolve().parent.parent.parent
POEMS = REPO / "scenarios" / "poems.yaml"
BASE = REPO / "scenarios" / "base.yaml"

RESOLVED_POEMS: dict = yaml.safe_load(load_scenario(POEMS).resolved_yaml())

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --------------------------------------------------------------------------- strategies

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**63, -(2**63), 10**30, -(10**30)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, 0.5, 1.5, float("nan"), float("inf")]),
    st.text(max_size=20),
    st.sampled_from(["all", "none", "file", "foci", "uniform", "", "yes", "~", "1e3", "pg/mL"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=10), children, max_size=3),
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a node of a plain dict/list tree (the root is ``()``)."""
    out = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            out += _paths(child, (*prefix, index))
    return out


def _get(tree: Any, path: tuple) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _mutate_text(draw, text: str) -> str:
    """Add, remove or change one character."""
    op = draw(st.sampled_from(["add", "remove", "change"]))
    chars = st.characters(codec="utf-8", exclude_categories=("Cs",))
    if op == "remove" and text:
        i = draw(st.integers(0, len(text) - 1))
        return text[:i] + text[i + 1 :]
    if op == "change" and text:
        i = draw(st.integers(0, len(text) - 1))
        return text[:i] + draw(chars) + text[i + 1 :]
    i = draw(st.integers(0, len(text)))
    return text[:i] + draw(chars) + text[i:]


def _apply_one_mutation(draw, tree: dict) -> None:
    paths = _paths(tree)
    inner = [p for p in paths if p]  # everything but the root
    op = draw(
        st.sampled_from(["delete", "rename", "replace_leaf", "replace_any", "wrap", "inject"])
    )
    if op == "inject" or not inner:
        dicts = [p for p in paths if isinstance(_get(tree, p), dict)]
        target = _get(tree, draw(st.sampled_from(dicts)))
        key = draw(st.one_of(st.text(max_size=12), st.sampled_from(["extends", "kind", "path"])))
        target[key] = draw(values)
        return
    if op == "rename":
        keyed = [p for p in inner if isinstance(p[-1], str)]
        path = draw(st.sampled_from(keyed))
        parent = _get(tree, path[:-1])
        new_key = _mutate_text(draw, path[-1])
        parent[new_key] = parent.pop(path[-1])
        return
    if op == "replace_leaf":
        leaves = [p for p in inner if not isinstance(_get(tree, p), dict | list)] or inner
        path = draw(st.sampled_from(leaves))
    else:
        path = draw(st.sampled_from(inner))
    parent = _get(tree, path[:-1])
    if op == "delete":
        del parent[path[-1]]
    elif op == "wrap":
        parent[path[-1]] = [parent[path[-1]]]
    else:
        parent[path[-1]] = draw(values)


@st.composite
def mutated_scenarios(draw) -> dict:
    tree = copy.deepcopy(RESOLVED_POEMS)
    for _ in range(draw(st.integers(1, 4))):
        _apply_one_mutation(draw, tree)
    return tree


# --------------------------------------------------------------------------- checks


def check_outcome(path: Path, overrides=()) -> LoadedScenario | ScenarioError:
    """Load ``path``; only a LoadedScenario or a well-formed ScenarioError is acceptable."""
    try:
        loaded = load_scenario(path, overrides)
    except ScenarioError as exc:
        assert exc.problems, "ScenarioError without problems"
        for problem in exc.problems:
            assert problem.location.line >= 1, str(problem)
            assert problem.location.column >= 1, str(problem)
            assert problem.location.source, str(problem)
            assert problem.message.strip(), str(problem)
        str(exc)
        return exc
    assert isinstance(loaded, LoadedScenario)
    loaded.resolved_yaml()  # a loaded scenario can always be written back
    return loaded


def _dump(tree: Any) -> str | None:
    try:
        return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return None


@FUZZ
@given(tree=mutated_scenarios())
def test_mutated_scenario_loads_or_raises_scenario_error(tree: dict):
    text = _dump(tree)
    if text is None:  # the test's own YAML writer could not represent it
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutated.yaml"
        path.write_text(text, encoding="utf-8")
        outcome = check_outcome(path)
        if isinstance(outcome, LoadedScenario):
            # A mutation that still loads must survive a round trip unchanged.
            again = Path(tmp) / "again.yaml"
            again.write_text(outcome.resolved_yaml(), encoding="utf-8")
            assert load_scenario(again).scenario == outcome.scenario


@settings(FUZZ, max_examples=100)
@given(tree=mutated_scenarios())
def test_mutated_scenario_as_child_of_base(tree: dict):
    """The same mutations in a file that ``extends`` base.yaml (exercises the merge)."""
    tree = {"extends": str(BASE), **tree}
    text = _dump(tree)
    if text is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "child.yaml"
        path.write_text(text, encoding="utf-8")
        check_outcome(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_raise_only_scenario_error(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.yaml"
        path.write_bytes(data)
        outcome = check_outcome(path)
        assert isinstance(outcome, ScenarioError)  # random bytes are never a valid scenario


yaml_ish = st.text(
    alphabet=st.sampled_from(list("abcdefgxyz_019.-+:#[]{},&*!|>'\"%@` \t\n\r\\?~")),
    max_size=200,
)


@FUZZ
@given(text=st.one_of(st.text(max_size=200), yaml_ish))
def test_random_text_raises_only_scenario_error(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.yaml"
        path.write_text(text, encoding="utf-8")
        check_outcome(path)


@FUZZ
@given(
    key=st.one_of(
        st.text(max_size=30),
        st.sampled_from(["seed", "domain.size_um.0", "cells.plasma_cell", "time", "a..b", "."]),
    ),
    value=st.text(max_size=30),
    sep=st.sampled_from(["=", ""]),
)
def test_random_set_override_raises_only_scenario_error(key: str, value: str, sep: str):
    check_outcome(BASE, [f"{key}{sep}{value}"])


# --------------------------------------------------------------------------- known crashers

B = f"extends: {BASE}\n"
EDGE_CASES = {
    "merge_key_from_anchor": B
    + "_defaults: &rates\n  death_rate_per_day: 0.1\n"
    + "cells:\n  plasma_cell:\n    <<: *rates\n",
    "merge_key_between_cell_types": B
    + "cells:\n  plasma_cell: &pc\n    initial_count: 5\n  stromal_cell:\n    <<: *pc\n",
    "omap_tag": B + "systemic: !!omap [a: 1]\n",
    "deeply_nested_flow_list": B + "description: " + "[" * 400 + "]" * 400 + "\n",
    "deeply_nested_block_mapping": B
    + "systemic:\n"
    + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(600)),
    "nul_byte_in_bone_path": B + 'domain:\n  initial_bone: {kind: file, path: "a\\0b.npy"}\n',
    "nul_byte_in_unused_bone_path": B + 'domain:\n  initial_bone: {kind: none, path: "\\0"}\n',
    "recursive_alias": B + "systemic: &x {b: *x}\n",
    "complex_key": B + "? [a, b]\n: 2\n",
    "null_key": B + "~: 2\n",
    "custom_tag": B + "time: !hours {step_h: 1}\n",
    "binary_tag": B + "description: !!binary aGVsbG8=\n",
    "timestamp": B + "description: 2024-01-01\n",
    "bom": "\ufeff" + B + "seed: 3\n",
    "control_character": B + "description: a\x01b\n",
    "second_document": B + "---\nseed: 2\n",
    "dot_underscore_scalar": "._",  # ruamel's float constructor raises ValueError on it
}


@pytest.mark.parametrize("text", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_yaml_edge_cases_raise_only_scenario_error(text: str, tmp_path: Path):
    path = tmp_path / "edge.yaml"
    path.write_text(text, encoding="utf-8")
    check_outcome(path)


@pytest.mark.parametrize(
    "override",
    [
        "domain.size_um.\u00b2=1",  # '²'.isdigit() is True but int('²') fails
        'domain.initial_bone={kind: file, path: "a\\0b"}',
        "seed=\x01",
        "domain.size_um.\u0663=1",  # an Arabic-Indic digit
        "seed=._",  # ruamel's float constructor raises ValueError on it
    ],
)
def test_set_edge_cases_raise_only_scenario_error(override: str):
    check_outcome(BASE, [override])


@pytest.mark.parametrize(
    ("text", "overrides"),
    [
        (B + '"simu\\nlation": 1\n', ()),
        (B + 'cells:\n  "plasma_cell\\r": {}\n', ()),
        (B, ("cells.plasma\ncell.initial_count=3",)),
    ],
    ids=["newline_in_top_level_key", "carriage_return_in_nested_key", "newline_in_set_key"],
)
def test_every_problem_prints_as_one_line(text: str, overrides, tmp_path: Path):
    """``str(ScenarioError)`` is one line per problem even when a key holds a line break."""
    path = tmp_path / "keys.yaml"
    path.write_text(text, encoding="utf-8")
    outcome = check_outcome(path, overrides)
    assert isinstance(outcome, ScenarioError)
    assert len(str(outcome).splitlines()) == len(outcome.problems), str(outcome)
