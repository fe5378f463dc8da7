"""Parameter expressions: parsed QASM nodes -> hqml :class:`Expr`, and hqml ``Expr`` -> QASM text.

Reading folds constants (``pi/2`` becomes a number) and keeps symbols (QASM 3 inputs) symbolic.
Writing spells numbers with full ``repr`` precision, powers as ``**`` (QASM 3), and the
functions OpenQASM lacks through ones it has (``sinh(x) = (exp(x) - exp(-x))/2``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..expr import BinOp, Const, Expr, Function, Neg, Symbol, apply_function, as_expr
from .errors import QasmError, QasmExportError
from .statements import Node

CONSTANTS = {
    "pi": math.pi,
    "π": math.pi,
    "tau": 2 * math.pi,
    "τ": 2 * math.pi,
    "euler": math.e,
    "ℇ": math.e,
}
_FUNCTIONS = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "exp": "exp",
    "ln": "log",
    "log": "log",
    "sqrt": "sqrt",
    "arcsin": "arcsin",
    "arccos": "arccos",
    "arctan": "arctan",
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
}


def evaluate(node: Node, lookup: Callable[[str, int], Expr], line: int, version: int) -> Expr:
    """The hqml expression of a parsed node; ``lookup(name, line)`` resolves identifiers.

    Raises:
        QasmError: unknown function, division by zero, a math domain error, ``^`` in QASM 3.
    """
    kind = node[0]
    try:
        if kind == "num":
            return Const(node[1])
        if kind == "id":
            if node[1] in CONSTANTS:
                return Const(CONSTANTS[node[1]])
            return lookup(node[1], node[2])
        if kind == "neg":
            return -evaluate(node[1], lookup, line, version)
        if kind == "bin":
            op, a, b = (
                node[1],
                evaluate(node[2], lookup, line, version),
                evaluate(node[3], lookup, line, version),
            )
            if op == "^" and version >= 3:
                raise QasmError("'^' is bitwise xor in OpenQASM 3; write powers as a ** b", node[4])
            if op == "%":
                if not (isinstance(a, Const) and isinstance(b, Const)):
                    raise QasmError("'%' needs constant operands", node[4])
                return Const(math.fmod(a.value, b.value))
            return {
                "+": a.__add__,
                "-": a.__sub__,
                "*": a.__mul__,
                "/": a.__truediv__,
                "**": a.__pow__,
                "^": a.__pow__,
            }[op](b)
        if kind == "call":
            name, args, at = node[1], node[2], node[3]
            vals = [evaluate(a, lookup, line, version) for a in args]
            if name == "pow" and len(vals) == 2:
                return vals[0] ** vals[1]
            if name not in _FUNCTIONS:
                known = ", ".join(sorted(_FUNCTIONS))
                raise QasmError(f"unknown function '{name}' (known: {known}, pow)", at)
            if len(vals) != 1:
                raise QasmError(f"function '{name}' takes one argument, got {len(vals)}", at)
            return apply_function(_FUNCTIONS[name], vals[0])
    except ZeroDivisionError:
        raise QasmError("division by zero in a parameter expression", line) from None
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, QasmError):
            raise
        raise QasmError(f"invalid parameter expression ({exc})", line) from None
    raise QasmError(f"bad expression node {kind!r}", line)  # pragma: no cover - parser invariant


def format_number(v: float) -> str:
    """A float as an OpenQASM real literal (always with a '.' so QASM 2 parsers accept it)."""
    if not math.isfinite(v):
        raise QasmExportError(f"cannot write the non-finite parameter value {v!r} in OpenQASM")
    s = repr(float(v))
    mantissa, _, exponent = s.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + ("e" + exponent if exponent else "")


_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}


def to_qasm(e: Expr, name: Callable[[Symbol], str]) -> str:
    """OpenQASM 3 text of ``e`` (plain numbers for constant expressions, as QASM 2 needs)."""
    text, _ = _emit(e, name)
    return text


def _emit(e: Expr, name: Callable[[Symbol], str]) -> tuple[str, int]:
    """``(text, precedence)``; atoms have precedence 10, unary minus 3."""
    if isinstance(e, Const):
        s = format_number(e.value)
        return s, (3 if s.startswith("-") else 10)
    if isinstance(e, Symbol):
        return name(e), 10
    if isinstance(e, Neg):
        inner, p = _emit(e.arg, name)
        return "-" + (inner if p > 3 else f"({inner})"), 3
    if isinstance(e, BinOp):
        p = _PREC[e.op]
        left, lp = _emit(e.left, name)
        right, rp = _emit(e.right, name)
        if e.op == "**":  # right-associative, binds tighter than unary minus
            left = left if lp > p else f"({left})"
            right = right if rp >= p else f"({right})"
            return f"{left}**{right}", p
        left = left if lp >= p else f"({left})"
        right = right if rp > p or (rp == p and e.op in "+*") else f"({right})"
        return f"{left} {e.op} {right}", p
    if isinstance(e, Function):
        x = e.arg
        rewrites: dict[str, Callable[[Expr], Expr]] = {
            "sinh": lambda a: (apply_function("exp", a) - apply_function("exp", -a)) / 2,
            "cosh": lambda a: (apply_function("exp", a) + apply_function("exp", -a)) / 2,
            "tanh": lambda a: 1 - 2 / (apply_function("exp", 2 * a) + 1),
            "abs": lambda a: apply_function("sqrt", as_expr(a) ** 2),
        }
        if e.fn in rewrites:
            return _emit(rewrites[e.fn](x), name)
        inner, _ = _emit(x, name)
        return f"{e.fn}({inner})", 10  # QASM 3 spells the natural log 'log'
    raise QasmExportError(f"cannot write the expression {e!r} in OpenQASM")
