"""Load scenario files: strict YAML with positions, ``extends`` deep merge, ``--set`` overrides.

Every problem becomes a :class:`~abm.scenario.errors.Problem` that names the file, line, column and
key path it comes from; :func:`load_scenario` raises them together as one
:class:`~abm.scenario.errors.ScenarioError`.
"""

from __future__ import annotations

import copy
import io
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from abm.scenario.errors import Location, Problem, ScenarioError, did_you_mean
from abm.scenario.schema import Scenario, cross_section_errors

KeyPath = tuple[str | int, ...]
Positions = dict[KeyPath, Location]

EXTENDS = "extends"
FILE_PATH_KEYS: tuple[KeyPath, ...] = (("domain", "initial_bone", "path"),)
"""Keys holding file paths, resolved against the directory of the file that sets them."""


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and where it came from."""

    scenario: Scenario
    source: Path
    overrides: tuple[str, ...]

    def resolved_yaml(self) -> str:
        """The complete resolved scenario as YAML (loadable on its own; no ``extends``)."""
        return dump_yaml(self.scenario.model_dump(mode="json"))


def load_scenario(path: str | Path, overrides: typing.Sequence[str] = ()) -> LoadedScenario:
    """Load, merge, override and validate a scenario file.

    Raises:
        ScenarioError: with one :class:`Problem` per thing wrong, each naming file:line:col.
    """
    return ScenarioSource(path).load(overrides)


class ScenarioSource:
    """A scenario file read once (``extends`` merged), from which many sets of ``--set``
    overrides can be validated cheaply (reading the YAML costs ~100 ms, validating ~2 ms).

    Raises:
        ScenarioError: when the file (or a base it extends) cannot be read.
    """

    def __init__(self, path: str | Path):
        self.source = Path(path)
        self._tree, self._positions = _load_with_extends(self.source, chain=())

    def load(self, overrides: typing.Sequence[str] = ()) -> LoadedScenario:
        """The scenario with ``overrides`` applied, validated (see :func:`load_scenario`)."""
        tree, positions = copy.deepcopy(self._tree), dict(self._positions)
        problems = _apply_overrides(tree, positions, overrides)
        if problems:
            raise ScenarioError(problems)
        _resolve_file_paths(tree, positions)
        scenario = validate_tree(tree, positions, default=Location(str(self.source)))
        return LoadedScenario(scenario=scenario, source=self.source, overrides=tuple(overrides))


def validate_tree(tree: dict, positions: Positions, default: Location) -> Scenario:
    """Validate a merged scenario tree, mapping every pydantic error to a positioned Problem."""
    scenario = validate_model(Scenario, tree, positions, default)
    problems = [
        Problem(_locate(loc, positions, default), _dotted(loc), message)
        for loc, message in cross_section_errors(scenario)
    ]
    if problems:
        raise ScenarioError(problems)
    return scenario


def validate_model[M: BaseModel](
    model: type[M], tree: Any, positions: Positions, default: Location
) -> M:
    """Validate ``tree`` (read by :func:`read_yaml`) as ``model``, strictly; every pydantic
    error becomes a Problem at the position of its key (``default`` when it has none).

    Raises:
        ScenarioError: one Problem per error, in reading order.
    """
    try:
        # Strict JSON-mode validation: YAML's types stand as written (no "10" -> 10.0, no
        # true -> 1); values YAML has but JSON lacks (dates, binary) arrive as text.
        return model.model_validate_json(json.dumps(tree, default=str), strict=True)
    except ValidationError as exc:
        problems = [
            _problem_from_pydantic(err, tree, positions, default, model) for err in exc.errors()
        ]
        raise ScenarioError(sorted(problems, key=_reading_order)) from None


def _reading_order(problem: Problem) -> tuple:
    where = problem.location
    return (where.source.startswith("--set "), where.source, where.line, where.column)


def dump_yaml(tree: Any) -> str:
    """Serialize plain data as block-style YAML 1.2."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.sort_base_mapping_type_on_output = False
    buffer = io.StringIO()
    yaml.dump(tree, buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- reading files


def read_yaml(path: Path) -> tuple[Any, Positions]:
    """Parse one YAML file into plain Python data plus the position of every key.

    Raises:
        ScenarioError: file missing or unreadable, not UTF-8, YAML syntax error, duplicate key.
    """
    where = Location(str(path))
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Problem(where, "", "file not found")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(where, "", "is a directory, not a scenario file")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(where, "", f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw[: exc.start].decode("utf-8", "replace"))
        raise ScenarioError(
            [Problem(Location(str(path), line, col), "", "not UTF-8 text (binary file?)")]
        ) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(str(path), mark.line + 1, mark.column + 1) if mark else where
        message = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ScenarioError([Problem(loc, "", f"YAML syntax error: {message}")]) from None
    except ReaderError as exc:
        line, col = _line_col(text[: exc.position])
        raise ScenarioError(
            [
                Problem(
                    Location(str(path), line, col),
                    "",
                    f"character {exc.character!r} is not allowed in YAML (binary file?)",
                )
            ]
        ) from None
    except (YAMLError, ValueError) as exc:  # ruamel raises ValueError on scalars like "._"
        raise ScenarioError([Problem(where, "", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(where, "", "YAML nested too deeply")]) from None
    positions: Positions = {}
    try:
        return _plain(document, (), Location(str(path)), positions), positions
    except RecursionError:
        raise ScenarioError([Problem(where, "", "YAML nested too deeply")]) from None


def _position(lookup: Any, key: Any, fallback: Location) -> Location:
    """1-based position of a mapping key or sequence item, or ``fallback`` when it has none."""
    try:
        line, col = lookup(key)
    except (KeyError, TypeError, IndexError):
        return fallback
    return Location(fallback.source, line + 1, col + 1)


def _line_col(prefix: str) -> tuple[int, int]:
    """1-based line and column of the character that follows ``prefix``."""
    return prefix.count("\n") + 1, len(prefix) - (prefix.rfind("\n") + 1) + 1


def _plain(node: Any, path: KeyPath, where: Location, positions: Positions) -> Any:
    """Convert ruamel round-trip nodes to dict/list/scalars, recording key positions.

    ``where`` is the position of ``node`` itself; keys without a position of their own (merged
    in from an anchor with ``<<``) take it. Every alias becomes a copy of its anchor's value, so
    no two places of the result share a mapping or list (a recursive alias recurses until
    :class:`RecursionError`).
    """
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            child = (*path, str(key))
            positions[child] = _position(node.lc.key, key, where)
            out[str(key)] = _plain(value, child, positions[child], positions)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for index, value in enumerate(node):
            child = (*path, index)
            positions[child] = _position(node.lc.item, index, where)
            out_list.append(_plain(value, child, positions[child], positions))
        return out_list
    if isinstance(node, ScalarBoolean):  # an anchored true/false: an int subclass, not a bool
        return bool(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


# --------------------------------------------------------------------------- extends


def _load_with_extends(path: Path, chain: tuple[Path, ...]) -> tuple[dict, Positions]:
    tree, positions = read_yaml(path)
    where = Location(str(path))
    if tree is None:
        raise ScenarioError([Problem(where, "", "scenario file is empty")])
    if not isinstance(tree, dict):
        kind = "a list" if isinstance(tree, list) else f"a {type(tree).__name__} value"
        raise ScenarioError(
            [Problem(where, "", f"the top level must be a mapping of sections, found {kind}")]
        )
    if EXTENDS not in tree:
        return tree, positions
    base_name = tree.pop(EXTENDS)
    ext_loc = positions.pop((EXTENDS,))
    if not isinstance(base_name, str) or not base_name:
        raise ScenarioError([Problem(ext_loc, EXTENDS, "must be the path of a base scenario")])
    base_path = (path.parent / base_name).resolve()
    here = path.resolve()
    if base_path in (*chain, here):
        cycle = " -> ".join(p.name for p in (*chain, here, base_path))
        raise ScenarioError([Problem(ext_loc, EXTENDS, f"extends cycle: {cycle}")])
    if base_path.is_dir():
        raise ScenarioError([Problem(ext_loc, EXTENDS, f"{base_name} is a directory, not a file")])
    if not base_path.is_file():
        raise ScenarioError(
            [Problem(ext_loc, EXTENDS, f"base scenario not found: {base_name} ({base_path})")]
        )
    base_tree, base_positions = _load_with_extends(base_path, (*chain, here))
    merged, replaced = _deep_merge(base_tree, tree, ())
    kept = {
        key: where
        for key, where in base_positions.items()
        if not any(key[: len(r)] == r for r in replaced)
    }
    return merged, {**kept, **positions}


def _deep_merge(base: dict, override: dict, path: KeyPath) -> tuple[dict, list[KeyPath]]:
    """Merge ``override`` into ``base``: mappings merge key by key, except that a mapping whose
    ``kind`` differs from the base's replaces it (a different variant, with different keys);
    lists and scalars replace. Returns the merged tree and the key paths that were replaced."""
    merged = dict(base)
    replaced: list[KeyPath] = []
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and old.get("kind") == value.get(
            "kind", old.get("kind")
        ):
            merged[key], deeper = _deep_merge(old, value, (*path, key))
            replaced.extend(deeper)
        else:
            merged[key] = value
            replaced.append((*path, key))
    return merged, replaced


# --------------------------------------------------------------------------- --set overrides


def _apply_overrides(tree: dict, positions: Positions, overrides: typing.Sequence[str]) -> list:
    """Apply ``key.path=value`` overrides in place (value parsed as YAML)."""
    problems = []
    for text in overrides:
        where = Location(f"--set {text}")
        key_text, sep, value_text = text.partition("=")
        if not sep or not key_text.strip():
            problems.append(Problem(where, key_text, "expected KEY.PATH=VALUE"))
            continue
        parts: list[str | int] = []
        node: Any = tree
        for part in key_text.strip().split("."):
            is_index = isinstance(node, list) and part.isascii() and part.isdigit()
            key: str | int = int(part) if is_index else part
            parts.append(key)
            node = node.get(key) if isinstance(node, dict) else _item(node, key)
        try:
            value = _parse_value(value_text)
        except (YAMLError, ValueError):  # ruamel raises ValueError on scalars like "._"
            problems.append(Problem(where, key_text, f"cannot parse value {value_text!r}"))
            continue
        except RecursionError:
            message = f"value {value_text!r} nested too deeply (recursive alias?)"
            problems.append(Problem(where, key_text, message))
            continue
        if parts[0] == EXTENDS:
            problems.append(Problem(where, EXTENDS, "can only be used inside a scenario file"))
            continue
        parent = _walk(tree, parts[:-1])
        last = parts[-1]
        if isinstance(parent, dict) and isinstance(last, str):
            parent[last] = value
        elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
            parent[last] = value
        else:
            problems.append(_unreachable_override(where, tree, parts))
            continue
        key_path = tuple(parts)
        for known in [k for k in positions if k[: len(key_path)] == key_path]:
            del positions[known]
        positions[key_path] = where
    return problems


def _parse_value(text: str) -> Any:
    """A ``--set`` value as plain data, read like a scenario file (see :func:`_plain`).

    Raises:
        YAMLError, ValueError: not valid YAML.
        RecursionError: nested too deeply, or a recursive alias.
    """
    return _plain(YAML(typ="rt").load(text), (), Location("--set"), {})


def _unreachable_override(where: Location, tree: dict, parts: list[str | int]) -> Problem:
    """Explain the first part of an override path that does not exist in the scenario."""
    for depth in range(1, len(parts)):
        node = _walk(tree, parts[:depth])
        if isinstance(node, dict) or (isinstance(node, list) and depth < len(parts) - 1):
            continue
        missing = parts[:depth]
        if node is None:
            allowed = [k for k in _allowed_keys(tuple(missing[:-1]), tree) if k != EXTENDS]
            hint = did_you_mean(str(missing[-1]), allowed)
            return Problem(where, _dotted(tuple(missing)), f"unknown key{hint}")
        if isinstance(node, list):
            index = parts[depth]
            message = f"has {len(node)} items; index {index} is out of range"
            return Problem(where, _dotted(tuple(missing)), message)
        message = f"is a single value ({node!r}), not a section"
        return Problem(where, _dotted(tuple(missing)), message)
    return Problem(where, _dotted(tuple(parts)), "does not name a key of this scenario")


def _item(node: Any, key: str | int) -> Any:
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        return node[key]
    return None


def _walk(tree: Any, parts: typing.Sequence[str | int]) -> Any:
    node = tree
    for key in parts:
        node = node.get(key) if isinstance(node, dict) else _item(node, key)
    return node


# --------------------------------------------------------------------------- file paths


def _resolve_file_paths(tree: dict, positions: Positions) -> None:
    """Make relative paths absolute against the directory of the file that set them."""
    for key_path in FILE_PATH_KEYS:
        parent = _walk(tree, key_path[:-1])
        value = parent.get(key_path[-1]) if isinstance(parent, dict) else None
        if not isinstance(value, str) or "\0" in value:
            continue  # not a path; validation reports it
        where = positions.get(key_path)
        if where is None or where.source.startswith("--set "):
            base = Path.cwd()
        else:
            base = Path(where.source).parent
        parent[key_path[-1]] = str((base / parent[key_path[-1]]).resolve())


# --------------------------------------------------------------------------- pydantic errors


def _problem_from_pydantic(
    err: dict, tree: dict, positions: Positions, default: Location, root: type[BaseModel]
):
    loc = _data_loc(err["loc"], tree)
    where = _locate(loc, positions, default)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1], tree, root)
        hint = did_you_mean(str(loc[-1]), allowed)
        if not hint and allowed:
            hint = f" (valid keys: {', '.join(sorted(allowed))})"
        return Problem(where, _dotted(loc), f"unknown key{hint}")
    if kind == "missing" and loc and isinstance(loc[-1], int):
        where = _locate(loc[:-1], positions, default)
        return Problem(where, _dotted(loc[:-1]), f"too few items (item {loc[-1] + 1} is missing)")
    if kind == "missing":
        return Problem(where, _dotted(loc), "required key is missing")
    if kind == "value_error":  # our own validators already say what the value was
        return Problem(where, _dotted(loc), err["msg"].removeprefix("Value error, "))
    message = err["msg"]
    for json_word, yaml_word in _YAML_WORDS.items():
        message = message.replace(json_word, yaml_word)
    value = err.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        message = f"{message} (got {value!r})"
    return Problem(where, _dotted(loc), message)


_YAML_WORDS = {
    "an object": "a mapping (key: value lines)",
    "a valid dictionary": "a mapping (key: value lines)",
    "a valid array": "a list",
    "a valid tuple": "a list",
}
"""Pydantic's JSON-mode wording, in the words of a YAML file."""


def _data_loc(loc: tuple, tree: Any) -> KeyPath:
    """Drop pydantic's union-branch tags from an error location, keeping real keys."""
    out: list[str | int] = []
    node = tree
    for element in loc:
        if isinstance(node, dict) and element in node:
            node = node[element]
        elif isinstance(node, list) and isinstance(element, int) and element < len(node):
            node = node[element]
        elif isinstance(element, str) and (
            not isinstance(node, dict) or node.get("kind") == element
        ):
            continue  # a tag naming the union member pydantic tried, not a key
        else:
            node = None
        out.append(element)
    return tuple(out)


def _locate(loc: KeyPath, positions: Positions, default: Location) -> Location:
    """Position of the deepest key of ``loc`` (or of its nearest ancestor) that has one."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in positions:
            return positions[loc[:end]]
    return default


def _dotted(loc: KeyPath) -> str:
    return ".".join(str(part) for part in loc)


def _allowed_keys(parent: KeyPath, tree: Any, root: type[BaseModel] = Scenario) -> list[str]:
    """Keys the schema ``root`` accepts at ``parent`` (used for "did you mean" hints)."""
    annotation: Any = root
    node = tree
    for key in parent:
        model = _model_of(annotation, node)
        if model is not None and isinstance(key, str) and key in model.model_fields:
            annotation = model.model_fields[key].annotation
        else:
            args = typing.get_args(_strip(annotation))
            annotation = args[-1] if args else None
        node = node.get(key) if isinstance(node, dict) else _item(node, key)
    model = _model_of(annotation, node)
    keys = list(model.model_fields) if model is not None else []
    if parent == () and model is Scenario:
        keys.append(EXTENDS)
    return keys


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _model_of(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The pydantic model behind an annotation; for a union, the member matching ``kind``."""
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [_model_of(arg, node) for arg in typing.get_args(annotation)]
        members = [m for m in members if m is not None]
        kind = node.get("kind") if isinstance(node, dict) else None
        for member in members:
            field = member.model_fields.get("kind")
            if field is not None and kind in typing.get_args(field.annotation):
                return member
        return members[0] if len(members) == 1 else None
    return None
