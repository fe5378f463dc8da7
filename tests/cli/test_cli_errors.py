"""Every ``hqml`` command, given bad arguments, fails with one line (``error: ...``) and a
non-zero exit status: no traceback, no usage block, no progress bar after the error, and install
hints keep their brackets.

The walk covers every command the CLI registers: a command without its own cases below still
gets the generic bad option, and a new command added to the CLI shows up here by itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hqml.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
BELL = str(ROOT / "examples" / "bell.json")
DIGITS = str(ROOT / "examples" / "digits_hybrid.toml")


def _leaf_commands(group=None, prefix=()):
    group = group or typer.main.get_command(app)
    for name, cmd in sorted(getattr(group, "commands", {}).items()):
        if getattr(cmd, "commands", None):
            yield from _leaf_commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name)


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cfg")
    (d / "escape.toml").write_text('name = "../../etc"\n[training]\nepochs = 1\n')
    (d / "broken.toml").write_text("name = \n")
    (d / "unknown.toml").write_text("[model]\nqubits = 4\n")
    return d


def cases(configs: Path) -> dict[tuple[str, ...], list[list[str]]]:
    """Bad arguments per command, each expected to end in one error line."""
    return {
        ("demo",): [["--qubits", "0"], ["--qubits", "x"], ["--batch", "0"], ["--layers", "-1"]],
        ("run",): [
            ["missing.toml"],
            [DIGITS, "--seed", "-1"],
            [DIGITS, "--epochs", "0"],
            [str(configs / "escape.toml")],
            [str(configs / "broken.toml")],
            [str(configs / "unknown.toml")],
        ],
        ("bench",): [
            ["--threads", "0"],
            ["--quick", "-w", "W99"],
            ["--quick", "-w", "W2", "-f", "nope"],
            ["--device", "tpu"],
        ],
        ("qubo",): [
            ["maxcut", "--size", "0"],
            ["maxcut", "--size", "5"],
            ["nope"],
            ["file"],
            ["file", "--bqm-file", str(ROOT / "README.md")],
            ["maxcut", "--solver", "zz"],
        ],
        ("study",): [["missing.toml"], [DIGITS, "--set", "nonsense"]],
        ("jobs", "submit"): [
            ["missing.json"],
            [BELL, "-o", "QQ"],
            [BELL, "-o", "x*ZZ"],
            [BELL],
        ],  # the last: no token
        ("jobs", "status"): [["abc"]],
        ("jobs", "result"): [["abc"], ["abc", "--wait", "soon"]],
        ("jobs", "cancel"): [["abc"]],
        ("jobs", "list"): [["--limit", "x"], []],
    }


def assert_one_line_error(result, args):
    assert result.exit_code not in (0, None), (args, result.output)
    out = result.output
    assert "Traceback" not in out, (args, out)
    lines = [line for line in out.strip().splitlines() if line.strip()]
    assert len(lines) == 1, (args, out)
    assert lines[0].startswith("error: "), (args, out)
    return lines[0]


@pytest.fixture
def runner(monkeypatch, tmp_path):
    monkeypatch.delenv("HQML_TOKEN", raising=False)
    monkeypatch.delenv("HQML_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)  # nothing a failing command might write lands in the checkout
    return CliRunner()


def test_every_command_refuses_bad_arguments_in_one_line(runner, configs, tmp_path):
    table = cases(configs)
    commands = list(_leaf_commands())
    assert {("run",), ("demo",), ("jobs", "submit"), ("qubo",)} <= set(commands)
    walked = 0
    for path in commands:
        for args in [["--no-such-option"], *table.get(path, [])]:
            result = runner.invoke(app, [*path, *args])
            line = assert_one_line_error(result, [*path, *args])
            walked += 1
            if args == ["--no-such-option"]:
                assert "No such option" in line and f"{' '.join(path)} --help" in line
    assert walked >= len(commands) + sum(map(len, table.values()))
    assert not list(tmp_path.iterdir()), "a refused command wrote files"


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["run", DIGITS, "--seed", "-1"],
            "error: invalid config: seed: Input should be greater than or equal to 0 (got -1)",
        ),
        (["qubo", "maxcut", "--size", "0"], "must be at least 4 for maxcut, got 0"),
        (
            ["jobs", "submit", BELL, "-o", "QQ"],
            "'QQ': Pauli string 'QQ' may contain only I, X, Y, Z (e.g. ZZI or 0.5*XIX)",
        ),
    ],
)
def test_messages_name_the_problem(runner, args, expected):
    line = assert_one_line_error(runner.invoke(app, args), args)
    assert expected in line


def test_run_name_cannot_leave_the_output_folder(runner, configs, tmp_path):
    line = assert_one_line_error(runner.invoke(app, ["run", str(configs / "escape.toml")]), "")
    assert line == (
        "error: invalid config: name: '../../etc' names the run's folder; use 1 to"
        " 100 letters, digits, '_', '-' or '.' (a folder name, not a path)"
    )
    assert not (tmp_path.parent.parent / "etc").exists()


def test_missing_extras_keep_the_brackets_of_the_install_hint(runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "networkx", None)
    monkeypatch.setitem(sys.modules, "dimod", None)
    line = assert_one_line_error(runner.invoke(app, ["qubo", "maxcut"]), "qubo")
    assert line.endswith("needs dimod; pip install 'hqml[optimize]' (see 'root qubo --help')")
    monkeypatch.delitem(sys.modules, "dimod")
    line = assert_one_line_error(runner.invoke(app, ["qubo", "maxcut"]), "qubo")
    assert "generating a MaxCut graph needs networkx; pip install 'hqml[optimize]'" in line
    monkeypatch.setitem(sys.modules, "ray", None)
    result = runner.invoke(app, ["study", DIGITS, "--set", "training.learning_rate=0.1,0.2"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    # the header line, then the error: no progress bar drawn after it
    assert lines[-1] == (
        "error: hyperparameter search needs ray[tune]; pip install 'hqml[runtime]'"
    ), result.output
    assert "trials" not in lines[-1] and "━" not in result.output.split("error:")[1]


def test_uncaught_exception_is_one_line_and_debug_shows_traceback(runner, monkeypatch):
    from hqml.cli import demo

    def broken(*a, **k):
        raise RuntimeError("first line\nsecond line")

    monkeypatch.setattr(demo, "expval", broken)
    result = runner.invoke(app, ["demo", "--qubits", "2", "--layers", "1", "--batch", "2"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "error: RuntimeError: first line second line (HQML_DEBUG=1 shows the traceback)"
    )
    monkeypatch.setenv("HQML_DEBUG", "1")
    result = runner.invoke(app, ["demo", "--qubits", "2", "--layers", "1", "--batch", "2"])
    assert isinstance(result.exception, RuntimeError)  # raised for the developer


def test_success_and_help_exit_zero(runner):
    assert runner.invoke(app, ["--help"]).exit_code == 0
    assert runner.invoke(app, ["jobs", "--help"]).exit_code == 0
    result = runner.invoke(app, ["demo", "--qubits", "2", "--layers", "1", "--batch", "4"])
    assert result.exit_code == 0 and "adjoint" in result.output
