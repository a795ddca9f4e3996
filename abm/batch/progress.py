"""Progress of a sweep over its runs: a rich bar on a terminal, plain periodic lines otherwise
(every 10 % of the runs or every ``LINE_INTERVAL_S``), as :mod:`abm.observers.progress` does
for the steps of one run."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from abm.observers.progress import LINE_INTERVAL_S, ProgressMode


class SweepProgress:
    """Report finished runs ``done … total`` on standard error; use as a context manager and
    call :meth:`update` after every finished run."""

    def __init__(self, mode: ProgressMode, *, label: str, done: int, total: int):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode, self.label, self.total = mode, label, total
        self.done = self.failed = 0
        self.start_done = done
        self._progress: Progress | None = None
        self._t0 = self._last_line = time.perf_counter()
        self._last_decile = done * 10 // max(total, 1)

    def __enter__(self) -> SweepProgress:
        self._t0 = self._last_line = time.perf_counter()
        if self.mode == "bar":
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("runs, {task.fields[failed]} failed"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.label, total=self.total, completed=self.start_done, failed=0
            )
        elif self.mode == "lines":
            self._line()
        return self

    def update(self, *, failed: bool) -> None:
        """One more run finished (``failed`` or completed)."""
        self.done += 1
        self.failed += int(failed)
        finished = self.start_done + self.done
        if self._progress is not None:
            self._progress.update(self._task, completed=finished, failed=self.failed)
        elif self.mode == "lines":
            now = time.perf_counter()
            decile = finished * 10 // max(self.total, 1)
            if decile > self._last_decile or now - self._last_line >= LINE_INTERVAL_S:
                self._last_decile, self._last_line = decile, now
                self._line()

    def _line(self) -> None:
        elapsed = time.perf_counter() - self._t0
        rate = self.done / elapsed if elapsed > 0 and self.done else 0.0
        left = self.total - self.start_done - self.done
        eta = f"{left / rate:.0f} s" if rate > 0 else "?"
        print(
            f"[{self.label}] {self.start_done + self.done}/{self.total} runs"
            f" ({self.failed} failed)  ETA {eta}",
            file=sys.stderr,
            flush=True,
        )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
