"""Stage progress for the CLI: a rich progress bar on a terminal, one summary line per stage otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tidings.pipeline import Reporter, StageProgress

if TYPE_CHECKING:
    from rich.progress import Progress


class LineReporter(Reporter):
    """One line per finished stage on stderr: what a log file or CI wants."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def done(self, name: str, summary: str) -> None:
        if not self.quiet:
            print(f"{name}: {summary}", file=sys.stderr, flush=True)


class _Bar(StageProgress):
    def __init__(self, progress: Progress, task) -> None:
        self.progress, self.task = progress, task

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)


class BarReporter(LineReporter):
    """A progress bar per stage while it runs, then its summary line."""

    def __init__(self) -> None:
        from rich.console import Console  # rich only for a terminal: a run in a log pays nothing for it

        super().__init__()
        self.console = Console(stderr=True)

    @contextmanager
    def stage(self, name: str, total: int) -> Iterator[StageProgress]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn(f"{name:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            yield _Bar(progress, progress.add_task(name, total=max(total, 1)))

    def done(self, name: str, summary: str) -> None:
        self.console.print(f"[bold]{name}[/bold]: {summary}", highlight=False)


def reporter_for(quiet: bool) -> Reporter:
    if quiet:
        return LineReporter(quiet=True)
    return BarReporter() if sys.stderr.isatty() else LineReporter()
