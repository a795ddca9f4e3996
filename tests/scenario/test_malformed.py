"""The malformed-scenario corpus: every realistic mistake gives one precise, positioned problem.

Each file in ``malformed/`` states what the loader must report on its first line::

    # expect: [FILE:]LINE[:COL] KEY.PATH MESSAGE-SUBSTRING

``FILE`` (relative to the corpus file) is given when the problem lives in another file, as in an
``extends`` cycle; ``KEY.PATH`` is ``(top level)`` for problems that concern the whole file.
Files that cannot hold a comment (empty, binary) have their expectation in ``SIDE_EXPECTATIONS``.
The first problem reported (in reading order) must match it exactly.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from abm.scenario import ScenarioError, load_scenario

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = HERE / "malformed"
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))

EXPECT_RE = re.compile(
    r"^#\s*expect:\s*"
    r"(?:(?P<file>[^\s:]+\.ya?ml):)?"
    r"(?P<line>\d+)(?::(?P<column>\d+))?\s+"
    r"(?P<key>\(top level\)|\S+)\s+"
    r"(?P<message>.+?)\s*$"
)

SIDE_EXPECTATIONS = {
    "empty.yaml": "# expect: 1:1 (top level) scenario file is empty",
    "binary_garbage.yaml": "# expect: 1:1 (top level) not UTF-8",
}
"""Expectations of corpus files that cannot carry a comment line."""


@dataclass(frozen=True)
class Expectation:
    file: Path
    line: int
    column: int | None
    key_path: str
    message: str


def parse_expectation(path: Path) -> Expectation:
    if path.name in SIDE_EXPECTATIONS:
        first = SIDE_EXPECTATIONS[path.name]
    else:
        first = path.read_text(encoding="utf-8").splitlines()[0]
    match = EXPECT_RE.match(first)
    assert match, f"{path.name}: first line is not a valid '# expect:' comment: {first!r}"
    key = match["key"]
    return Expectation(
        file=(path.parent / match["file"]).resolve() if match["file"] else path,
        line=int(match["line"]),
        column=int(match["column"]) if match["column"] else None,
        key_path="" if key == "(top level)" else key,
        message=match["message"],
    )


CASES = sorted(CORPUS.glob("*.yaml"))


def test_corpus_is_complete():
    assert len(CASES) >= 18
    for name in SIDE_EXPECTATIONS:
        assert (CORPUS / name).is_file(), name
    assert (CORPUS / "empty.yaml").read_bytes() == b""
    with pytest.raises(UnicodeDecodeError):
        (CORPUS / "binary_garbage.yaml").read_bytes().decode("utf-8")
    for path in CASES:
        parse_expectation(path)  # every case states its expectation


def _first_problem(path: Path):
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert exc.problems, "ScenarioError without problems"
        return exc
    pytest.fail(f"{path.name} loaded without any problem")


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_load_reports_expected_problem(path: Path):
    expected = parse_expectation(path)
    exc = _first_problem(path)
    problem = exc.problems[0]
    got = str(problem)
    assert Path(problem.location.source).resolve() == expected.file, got
    assert problem.location.line == expected.line, got
    if expected.column is not None:
        assert problem.location.column == expected.column, got
    assert problem.key_path == expected.key_path, got
    assert expected.message in problem.message, got
    # str() is one line per problem: "file:line:col: key.path: message".
    lines = str(exc).splitlines()
    assert len(lines) == len(exc.problems)
    assert lines[0] == got
    assert got.startswith(
        f"{problem.location.source}:{problem.location.line}:{problem.location.column}: "
        f"{problem.key_path or '(top level)'}: "
    )
    for p in exc.problems:
        assert p.location.line >= 1 and p.location.column >= 1, str(p)
        assert p.message.strip(), str(p)


def _abm(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "abm", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_cli_validate_reports_expected_problem(path: Path):
    expected = parse_expectation(path)
    result = _abm("validate", path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    source = path if expected.file == path else expected.file
    assert f"{source}:{expected.line}:" in result.stderr, result.stderr
    assert f": {expected.key_path or '(top level)'}: " in result.stderr, result.stderr


def test_cli_validate_good_scenarios_exit_0():
    result = _abm("validate", *SCENARIOS)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    output = (result.stdout + result.stderr).lower().splitlines()
    for path in SCENARIOS:
        assert any(path.name in line and "ok" in line for line in output), (path, output)


def test_cli_validate_mixed_files_exit_2_and_report_only_the_bad_one():
    good = REPO / "scenarios" / "poems.yaml"
    bad = CORPUS / "misspelled_nested_key.yaml"
    result = _abm("validate", good, bad)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert f"{bad}:4:3: time.duraton_d: unknown key (did you mean 'duration_d'?)" in result.stderr
    assert str(good) + ":" not in result.stderr


def test_cli_validate_missing_file_exit_2(tmp_path: Path):
    missing = tmp_path / "nope.yaml"
    result = _abm("validate", missing)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert str(missing) in result.stderr


def test_cli_run_invalid_scenario_exit_2_and_no_output_dir(tmp_path: Path):
    bad = CORPUS / "negative_rate.yaml"
    out = tmp_path / "run-out"
    result = _abm("run", bad, "--out", out)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert f"{bad}:5:5: cells.plasma_cell.death_rate_per_day: " in result.stderr
    assert not out.exists()
