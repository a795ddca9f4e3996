"""What every ``abm`` command shares: the exit statuses, the one-line failure and the
``--progress`` option."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn, get_args

import typer

from abm.observers.progress import ProgressMode

USAGE_ERROR = 2
"""Exit status of a user mistake (bad input), reported in one line without a traceback."""

INTERRUPTED = 130
"""Exit status after Ctrl-C."""

ProgressOption = Annotated[
    str, typer.Option(help="auto (bar on a terminal, lines otherwise), bar, lines or off.")
]
"""The ``--progress`` option of the commands that run for a while."""


def fail(message: str) -> NoReturn:
    """Print ``message`` (one line) to standard error and exit with :data:`USAGE_ERROR`."""
    print(message, file=sys.stderr)
    raise typer.Exit(USAGE_ERROR)


def progress_mode(value: str) -> ProgressMode:
    """``--progress`` checked: one of auto, bar, lines or off (else :func:`fail`)."""
    modes = get_args(ProgressMode)
    if value not in modes:
        fail(f"--progress: must be {', '.join(modes[:-1])} or {modes[-1]}, not {value!r}")
    return value
