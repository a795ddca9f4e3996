"""Progress of a long run: a rich bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Literal

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

ProgressMode = Literal["auto", "bar", "lines", "off"]

LINE_INTERVAL_S = 10.0
"""Seconds between plain progress lines (plus one line per 10 % of the run)."""


def _format_sim_time(hours: float) -> str:
    return f"{hours / 24.0:.1f} d" if hours >= 48 else f"{hours:g} h"


class _SimTimeColumn(ProgressColumn):
    def __init__(self, step_h: float, total_steps: int):
        super().__init__()
        self.step_h, self.total_steps = step_h, total_steps

    def render(self, task: Task) -> Text:
        now = _format_sim_time(task.completed * self.step_h)
        end = _format_sim_time(self.total_steps * self.step_h)
        return Text(f"t = {now} / {end}")


class _StepRateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text("… steps/s" if speed is None else f"{speed:,.0f} steps/s")


class RunProgress:
    """Report steps ``start_step … total_steps`` of a run to standard error.

    Use as a context manager and call :meth:`update` after every step.
    """

    def __init__(
        self, mode: ProgressMode, *, label: str, start_step: int, total_steps: int, step_h: float
    ):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode = mode
        self.label, self.total, self.step_h = label, total_steps, step_h
        self.start_step = start_step
        self._progress: Progress | None = None
        self._t0 = time.perf_counter()
        self._last_line = self._t0
        self._last_decile = start_step * 10 // max(total_steps, 1)

    def __enter__(self) -> RunProgress:
        self._t0 = self._last_line = time.perf_counter()
        if self.mode == "bar":
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                _SimTimeColumn(self.step_h, self.total),
                _StepRateColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.label, total=self.total, completed=self.start_step
            )
        elif self.mode == "lines":
            self._line(self.start_step)
        return self

    def update(self, step: int) -> None:
        """The run has completed ``step`` steps."""
        if self._progress is not None:
            self._progress.update(self._task, completed=step)
        elif self.mode == "lines":
            now = time.perf_counter()
            decile = step * 10 // max(self.total, 1)
            if decile > self._last_decile or now - self._last_line >= LINE_INTERVAL_S:
                self._last_decile = decile
                self._last_line = now
                self._line(step)

    def _line(self, step: int) -> None:
        elapsed = time.perf_counter() - self._t0
        done = step - self.start_step
        rate = done / elapsed if elapsed > 0 and done > 0 else 0.0
        eta = f"{(self.total - step) / rate:.0f} s" if rate > 0 else "?"
        print(
            f"[{self.label}] step {step}/{self.total}  t = {_format_sim_time(step * self.step_h)}"
            f"  {rate:,.0f} steps/s  ETA {eta}",
            file=sys.stderr,
            flush=True,
        )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
