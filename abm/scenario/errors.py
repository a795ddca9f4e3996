"""Scenario errors that name the file, line, column and key path of every problem."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Location:
    """Where a value came from: a file position (1-based line and column) or a CLI override."""

    source: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        if self.source.startswith("--set "):
            return self.source
        return f"{self.source}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One problem in a scenario: where, which key, what is wrong."""

    location: Location
    key_path: str
    message: str

    def __str__(self) -> str:
        return _one_line(f"{self.location}: {self.key_path or '(top level)'}: {self.message}")


def _one_line(text: str) -> str:
    """Escape control characters (newlines, form feeds, ...) so a problem prints on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ScenarioError(Exception):
    """A scenario that cannot be used. ``str()`` gives one line per problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
