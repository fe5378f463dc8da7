"""Progress bars for long commands that report ``progress(label, done, total)``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def progress_bars(
    console: Any, stage: Callable[[str], str] = lambda label: ""
) -> Iterator[Callable[[str, int, int], None]]:
    """Rich bars (cleared at the end) driven by a ``progress(label, done, total)`` callback: one
    bar per ``stage(label)``, started again when its total changes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(label: str, done: int, total: int) -> None:
            key = stage(label)
            if key not in tasks or bar.tasks[tasks[key]].total != total:
                tasks[key] = bar.add_task(label, total=total)
            bar.update(tasks[key], completed=done, description=label)

        yield update
