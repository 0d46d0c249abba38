"""Progress of long CLI work: a Rich progress bar on a terminal, nothing in a pipe or a file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["Report", "progress_bar"]

Report = Callable[[str, int, int], None]  # (what is being done, steps done, steps in all)


@contextmanager
def progress_bar(console: Console, title: str) -> Iterator[Report]:
    """A callback that moves a progress bar titled ``title``: drawn on a terminal (on stderr, so the
    command's output stays clean), silent when the console is not a terminal."""
    if not console.is_terminal:
        yield lambda _stage, _done, _total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(title, total=None)

        def report(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{title}: {stage}", completed=done, total=total)

        yield report
