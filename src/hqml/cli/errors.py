"""One-line errors for the ``hqml`` command.

Every failure of a subcommand (a bad option, a bad config, a missing extra, a library's own
exception) ends as one line on stderr, ``error: ...``, and a non-zero exit status; the full
traceback is there for developers with ``HQML_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

try:  # typer >= 0.20 vendors click; older releases use click itself
    from typer._click import exceptions as _click_exc
except ImportError:  # pragma: no cover
    from click import exceptions as _click_exc

# Exceptions whose message is written for users: printed as is. Anything else also names its type.
_USER_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    LookupError,
    ImportError,
    OSError,
    MemoryError,
    RuntimeError,
    TimeoutError,
)


def one_line(text: str) -> str:
    """``text`` with its lines joined: a message becomes a single terminal line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr (no rich markup: brackets stay) and exit with ``code``."""
    typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(code)


def writable_folder(path: Any, option: str = "--out") -> None:
    """Create ``path`` and check it takes files, before any long work writes there."""
    probe = path / ".hqml-write-check"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise typer.BadParameter(f"cannot write to {option} {path}: {e.strerror or e}") from None


def describe(exc: BaseException) -> str:
    """The one-line message for an exception that escaped a subcommand."""
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = str(exc.args[0])  # KeyError's str() adds quotes
    else:
        text = str(exc)
    text = one_line(text) or type(exc).__name__
    if not isinstance(exc, _USER_ERRORS) or type(exc) in (RuntimeError, KeyError, TypeError):
        text = f"{type(exc).__name__}: {text} (HQML_DEBUG=1 shows the traceback)"
    return text


def _usage_line(exc: Any) -> str:
    msg = one_line(exc.format_message())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, _click_exc.UsageError) and ctx is not None:
        msg += f" (see '{ctx.command_path} --help')"
    return msg


class OneLineErrorGroup(TyperGroup):
    """The top-level ``hqml`` group: usage errors and uncaught exceptions become one line."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click_exc.ClickException as e:
            if type(e).__name__ != "NoArgsIsHelpError":  # that one has printed the help
                typer.echo(f"error: {_usage_line(e)}", err=True)
            sys.exit(e.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        except Exception as e:  # noqa: BLE001 (the point: no traceback for users)
            if os.environ.get("HQML_DEBUG"):
                raise
            typer.echo(f"error: {describe(e)}", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)
