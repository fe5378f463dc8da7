"""Progress for long commands that report ``progress(label, done, total)``.

On a terminal: rich bars, cleared at the end. Elsewhere (a log file, CI, a pipe), where a live
bar would print nothing until the end: one plain line per stage start, per tenth of its total
and at its end, so a log shows how far a long run got.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def progress_bars(
    console: Any, stage: Callable[[str], str] = lambda label: ""
) -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(label, done, total)`` callback: one bar (or one log line series) per
    ``stage(label)``, started again when its total changes."""
    if not console.is_terminal:
        yield _log_lines(console, stage)
        return
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


def _log_lines(console: Any, stage: Callable[[str], str]) -> Callable[[str, int, int], None]:
    """Plain lines: a stage's first report, each further tenth of its total, and its end."""
    shown: dict[str, tuple[int, int]] = {}  # stage -> (total, last tenth printed)

    def update(label: str, done: int, total: int) -> None:
        key = stage(label)
        tenth = done * 10 // total if total > 0 else 10
        last = shown.get(key)
        if last is not None and last[0] == total and tenth <= last[1]:
            return
        shown[key] = (total, tenth)
        console.print(f"{label}: {done}/{total}", highlight=False, soft_wrap=True)

    return update
