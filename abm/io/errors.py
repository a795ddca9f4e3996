"""User-facing errors raised when a run directory or one of its files is unusable."""

from __future__ import annotations

import os


class RunDirectoryError(Exception):
    """A run directory, or a file inside it, is missing, malformed or must not be touched.

    The error is meant to be shown to the user as is: ``str(error)`` is exactly one line,
    ``"<path>: <problem>"`` (for example
    ``runs/x/manifest.json: not valid JSON (line 3, column 5)``). Line breaks and runs of
    whitespace inside ``problem`` (e.g. from a wrapped library message) are collapsed to
    single spaces. The CLI prints it and exits with status 2 instead of showing a traceback.

    Attributes:
        path: The file or directory the problem is about, as given by the caller.
        problem: One-line description of what is wrong with ``path``.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = " ".join(problem.split())
        shown_path = self.path.replace("\r", " ").replace("\n", " ")
        super().__init__(f"{shown_path}: {self.problem}")
