"""Progress outside a terminal: plain log lines, not a live bar that prints nothing."""

from __future__ import annotations

import io

from rich.console import Console

from hqml.cli.progress import progress_bars


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=terminal, width=120), buf


def test_a_log_gets_a_line_per_stage_start_tenth_and_end():
    console, buf = _console(terminal=False)
    stage = lambda label: "train" if "training" in label else "eval"  # noqa: E731
    with progress_bars(console, stage) as progress:
        for step in range(1, 101):
            progress("d=3 training", step, 100)
        progress("d=3 p=0.001", 1, 3)
        progress("d=3 p=0.003", 2, 3)
        progress("d=3 p=0.003", 2, 3)  # a repeat adds nothing
        progress("d=3 p=0.005", 3, 3)
    lines = buf.getvalue().splitlines()
    training = [ln for ln in lines if "training" in ln]
    assert training == [f"d=3 training: {k}/100" for k in (1, *range(10, 101, 10))]
    assert [ln for ln in lines if "training" not in ln] == [
        "d=3 p=0.001: 1/3",
        "d=3 p=0.003: 2/3",
        "d=3 p=0.005: 3/3",
    ]


def test_a_new_total_starts_the_stage_again():
    console, buf = _console(terminal=False)
    with progress_bars(console) as progress:
        progress("points", 2, 2)
        progress("points", 1, 5)
    assert buf.getvalue().splitlines() == ["points: 2/2", "points: 1/5"]


def test_a_terminal_gets_a_transient_bar_and_no_log_lines():
    console, buf = _console(terminal=True)
    with progress_bars(console) as progress:
        progress("points", 1, 2)
    assert "points: 1/2" not in buf.getvalue()
