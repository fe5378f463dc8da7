"""The ``hqml`` command. Each subcommand lives in its own module ``hqml.cli.<name>`` exposing
``register(app)``; modules are imported lazily so a missing optional extra only disables its
own subcommand.
"""

from __future__ import annotations

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


SUBCOMMAND_MODULES = ("demo", "run", "bench", "serve", "jobs", "qubo", "study")


def _register_all() -> None:
    for name in SUBCOMMAND_MODULES:
        try:
            module = import_module(f"hqml.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("hqml.cli"):
                continue  # subcommand not built yet
            raise
        module.register(app)


_register_all()

if __name__ == "__main__":
    app()
