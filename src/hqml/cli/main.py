"""The ``hqml`` command. Each subcommand lives in its own module ``hqml.cli.<name>`` exposing
``register(app)``; modules are imported lazily so a missing optional extra only disables its
own subcommand.
"""

from __future__ import annotations

import inspect
import re
from importlib import import_module

import typer

from .errors import OneLineErrorGroup

app = typer.Typer(
    cls=OneLineErrorGroup,
    help="hqml: hybrid quantum-classical machine learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """hqml: hybrid quantum-classical machine learning."""


SUBCOMMAND_MODULES = (
    "demo",
    "run",
    "bench",
    "serve",
    "jobs",
    "qubo",
    "study",
    "info",
    "qec",
    "control",
    "scale",
    "compare",
)


def _register_all() -> None:
    for name in SUBCOMMAND_MODULES:
        try:
            module = import_module(f"hqml.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("hqml.cli"):
                continue  # subcommand not built yet
            raise
        module.register(app)


def plain_help(text: str | None) -> str | None:
    """A docstring as help text: paragraphs reflowed (the terminal wraps them, not the source's
    line breaks) and reST roles and literals (``x``, :func:`f`) shown as plain words."""
    if not text:
        return text
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", inspect.cleandoc(text))
    text = re.sub(r"``([^`]+)``", r"\1", text)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def _tidy_help(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        info.help = plain_help(info.help or (info.callback.__doc__ if info.callback else None))
    for group in typer_app.registered_groups:
        sub = group.typer_instance
        if sub is not None:
            sub.info.help = plain_help(sub.info.help)
            _tidy_help(sub)


_register_all()
_tidy_help(app)

if __name__ == "__main__":
    app()
