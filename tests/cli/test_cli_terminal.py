"""What the ``hqml`` command prints on real terminals: help texts reflowed without reST markup,
the demo's drawing folded at gate boundaries and its table readable on a narrow terminal."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from hqml.cli.main import app, plain_help


def test_plain_help_reflows_and_drops_rest_markup():
    doc = """Train the ``config``'s model with
    :func:`run_experiment`; write files.

        Second paragraph
        kept apart."""
    assert plain_help(doc) == (
        "Train the config's model with run_experiment; write files.\n\nSecond paragraph kept apart."
    )


def _commands(group=None, prefix=()):
    group = group or typer.main.get_command(app)
    for name, cmd in sorted(getattr(group, "commands", {}).items()):
        yield (*prefix, name)
        if getattr(cmd, "commands", None):
            yield from _commands(cmd, (*prefix, name))


@pytest.mark.parametrize("path", list(_commands()), ids=" ".join)
def test_help_texts_have_no_source_line_breaks_or_markup(path):
    out = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert "``" not in out.output and ":func:" not in out.output and ":class:" not in out.output


def test_run_help_sentence_on_one_line():
    out = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "250"})
    assert (
        "Train the config's hybrid model and a classical baseline with the same number of"
        " trainable parameters"
    ) in out.output


def test_demo_on_a_narrow_terminal():
    out = CliRunner().invoke(
        app, ["demo", "--qubits", "3", "--layers", "2", "--batch", "4"], env={"COLUMNS": "50"}
    )
    assert out.exit_code == 0, out.output
    wires = [line for line in out.output.splitlines() if re.match(r"q\d: ", line)]
    assert len(wires) >= 6 and len(wires) % 3 == 0  # folded into blocks of 3 wires
    for line in wires:
        assert len(line) <= 50, line
        assert line.count("(") == line.count(")"), line  # no gate cut in two
    for method in ("adjoint", "backprop", "parameter-shift", "finite-diff", "spsa", "best"):
        row = re.search(rf"^\s*{re.escape(method)}\s+\d\.\d+\s.*$", out.output, re.M)
        assert row and "…" not in row.group(0), (method, out.output)  # nothing cut off
