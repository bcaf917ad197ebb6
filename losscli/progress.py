"""A progress bar on stderr for long reads, driven by the engine's ``on_batch`` callback.

Shown only when stderr is a terminal (not ``TERM=dumb``), the run was not asked to be quiet,
and the pass is still running after ``LOSSCLI_PROGRESS_DELAY`` seconds (default 0.5): short
runs never flash a bar, so "large enough to matter" needs no guess about sizes. The bar
counts rows of the known total (Parquet, Feather, NPY), else bytes of the input size (CSV,
TSV, NDJSON files; standard input redirected from a file), else rows with their rate. It
writes to stderr only, never redirects stdout, and erases itself when done.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DEFAULT_DELAY = 0.5


def progress_wanted(enabled: bool = True) -> bool:
    """Whether a bar may be shown at all: asked for, and stderr is a real terminal."""
    if not enabled or os.environ.get("TERM") == "dumb":
        return False
    stream = sys.stderr
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get("LOSSCLI_PROGRESS_DELAY", DEFAULT_DELAY)))
    except ValueError:
        return DEFAULT_DELAY


class ProgressBar:
    """``on_batch(rows_done)`` for :func:`losscli.api.evaluate`; call :meth:`close` at the
    end (also on errors: it erases the bar before the message is printed)."""

    def __init__(self, inputs: Any = None, label: str = "evaluating") -> None:
        self._label = label
        self._started = time.monotonic()
        self._delay = _delay()
        self._progress: Any = None
        self._task: Any = None
        # Without the inputs (check, compare) the bar counts rows with their rate.
        self.total_rows: int | None = None if inputs is None else inputs.num_rows
        source = None if inputs is None else inputs.roles["pred"].source
        self._bytes = getattr(source, "bytes_read", None)
        self.total_bytes: int | None = getattr(source, "size", None)
        if self.total_rows is not None:
            self.unit = "rows"
        elif self._bytes is not None and self.total_bytes:
            self.unit = "bytes"
        else:
            self.unit = "count"

    def __call__(self, rows_done: int) -> None:
        if self._progress is None:
            if time.monotonic() - self._started < self._delay:
                return
            self._start()
        if self.unit == "bytes":
            assert self._bytes is not None
            self._progress.update(self._task, completed=self._bytes(), rows=rows_done)
        else:
            self._progress.update(self._task, completed=rows_done, rows=rows_done)

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            ProgressColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.text import Text

        class RowRate(ProgressColumn):
            """Rows per second over the whole run so far."""

            def render(self, task: Any) -> Text:
                elapsed = time.monotonic() - task.fields["started"]  # since the pass began
                rows = task.fields.get("rows", 0)
                rate = f"{_si(rows / elapsed)} rows/s" if elapsed > 0 and rows else ""
                return Text(rate, style="progress.data.speed")

        rows = TextColumn("{task.fields[rows]:,} rows")
        columns: tuple[Any, ...]
        if self.unit == "rows":
            columns = (TextColumn("{task.description}"), BarColumn(),
                       TextColumn("{task.completed:,}/{task.total:,} rows"), RowRate(),
                       TimeRemainingColumn(), TimeElapsedColumn())
        elif self.unit == "bytes":
            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), rows, TimeRemainingColumn())
        else:
            columns = (SpinnerColumn(), TextColumn("{task.description}"), rows, RowRate(),
                       TimeElapsedColumn())
        self._progress = Progress(
            *columns, console=Console(file=sys.stderr), transient=True,
            redirect_stdout=False, redirect_stderr=False,
        )
        total = {"rows": self.total_rows, "bytes": self.total_bytes}.get(self.unit)
        self._task = self._progress.add_task(self._label, total=total, rows=0,
                                             started=self._started)
        self._progress.start()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _si(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


def make_progress(inputs: Any, enabled: bool, label: str = "evaluating") -> ProgressBar | None:
    """A bar for ``inputs`` when :func:`progress_wanted`, else None (no callback at all)."""
    return ProgressBar(inputs, label) if progress_wanted(enabled) else None


@contextmanager
def progress_bar(inputs: Any, enabled: bool, label: str = "evaluating"
                 ) -> Iterator[ProgressBar | None]:
    """``with progress_bar(...) as bar``: pass ``bar`` as ``on_batch``; the bar is erased on
    leaving, also on an error, before its message is printed."""
    bar = make_progress(inputs, enabled, label)
    try:
        yield bar
    finally:
        if bar is not None:
            bar.close()
