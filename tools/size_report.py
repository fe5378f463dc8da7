"""Report the modules and functions of ``src/hqml`` that are longer than the project's limits.

Limits (STYLE.md, issue 25): a module at most 400 lines, a function or method at most 80 lines.

How lines are counted
- A module: its physical lines (what ``wc -l`` prints), blank lines and comments included.
- A function or method: from its ``def`` line to its last line (decorators excluded), docstring,
  comments and blank lines included. A nested function counts on its own and inside its parent.
- A command-line command (a function with at least one parameter declared by a
  ``typer.Option(...)`` or ``typer.Argument(...)`` call, as its default or in its
  ``Annotated[...]`` type): only its body after the docstring. The option declarations and the
  help text are the command's interface, one entry per option the user sees, and would only
  move into a parameter object the CLI cannot show; the logic below them has to stay short.

Exceptions live in ``ALLOWED`` below, each with its reason; ``tests/test_sizes.py`` fails on any
module or function over its limit that is not listed, and on any listed entry that is no longer
over the limit (so the list only shrinks).

Usage: ``python tools/size_report.py [--all] [SRC]`` (``--all`` also prints the allowed ones).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

MODULE_LIMIT = 400
FUNCTION_LIMIT = 80

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src" / "hqml"


# "path" (relative to src/hqml) for a module, "path::Qualified.name" for a function -> reason.
ALLOWED: dict[str, str] = {}


@dataclass(frozen=True)
class Oversize:
    """One module or function over its limit."""

    key: str  # "path" or "path::qualname"
    lines: int
    limit: int

    @property
    def kind(self) -> str:
        return "function" if "::" in self.key else "module"


def _is_typer_param_default(node: ast.expr | None) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "typer"
        and node.func.attr in ("Option", "Argument")
    )


def _is_typer_annotation(node: ast.expr | None) -> bool:
    """``Annotated[T, typer.Option(...)]`` (or ``typer.Argument``)."""
    if not isinstance(node, ast.Subscript) or not isinstance(node.slice, ast.Tuple):
        return False
    return any(_is_typer_param_default(e) for e in node.slice.elts[1:])


def _is_command(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    defaults = list(fn.args.defaults) + list(fn.args.kw_defaults)
    args = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
    return any(_is_typer_param_default(d) for d in defaults) or any(
        _is_typer_annotation(a.annotation) for a in args
    )


def function_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The counted length of a function (see the module docstring)."""
    end = fn.end_lineno or fn.lineno
    if not _is_command(fn):
        return end - fn.lineno + 1
    body = fn.body
    has_doc = (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    if has_doc and len(body) > 1:
        body = body[1:]
    return end - body[0].lineno + 1


def _functions(tree: ast.AST, prefix: str = ""):
    """(qualified name, node) for every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{node.name}"
            yield name, node
            yield from _functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def measure(src: Path = SRC) -> list[Oversize]:
    """Every module and function under ``src`` over its limit, allowed or not."""
    out = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        text = path.read_text()
        n = len(text.splitlines())
        if n > MODULE_LIMIT:
            out.append(Oversize(rel, n, MODULE_LIMIT))
        for name, fn in _functions(ast.parse(text, str(path))):
            k = function_lines(fn)
            if k > FUNCTION_LIMIT:
                out.append(Oversize(f"{rel}::{name}", k, FUNCTION_LIMIT))
    return out


def main(argv: list[str]) -> int:
    show_all = "--all" in argv
    args = [a for a in argv if a != "--all"]
    src = Path(args[0]) if args else SRC
    found = measure(src)
    bad = [o for o in found if o.key not in ALLOWED]
    for o in found:
        if o.key in ALLOWED and not show_all:
            continue
        note = f"  (allowed: {ALLOWED[o.key]})" if o.key in ALLOWED else ""
        print(f"{o.kind:8} {o.lines:5} > {o.limit}  {o.key}{note}")
    print(f"{len(bad)} over the limits, {len(found) - len(bad)} allowed", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
