"""The elementwise functions of expressions (``hqml.sin`` ...) and the JSON reader of expressions.

Each function maps a tensor elementwise and an expression (or a number) to an expression, so
that ``hqml.sin(w[0])`` builds a gate parameter and ``hqml.sin(tensor)`` computes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .expr import _BINARY, _FUNCTIONS, BinOp, Const, Expr, Function, Neg, Symbol, apply_function


def _make_function(fn: str) -> Callable[[Any], Any]:
    def f(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            return _FUNCTIONS[fn](x)
        return apply_function(fn, x)

    f.__name__ = fn
    f.__doc__ = f"Elementwise {fn} of an expression (or of a tensor, which passes to torch)."
    return f


sin = _make_function("sin")
cos = _make_function("cos")
tan = _make_function("tan")
exp = _make_function("exp")
log = _make_function("log")
sqrt = _make_function("sqrt")
arcsin = _make_function("arcsin")
arccos = _make_function("arccos")
arctan = _make_function("arctan")
sinh = _make_function("sinh")
cosh = _make_function("cosh")
tanh = _make_function("tanh")


def expr_from_json(data: Any) -> Expr:
    """Inverse of :meth:`Expr.to_json`."""
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return Const(float(data))
    if not isinstance(data, dict):
        raise ValueError(f"bad expression JSON: {data!r}")
    if "sym" in data:
        return Symbol(data["sym"], data["kind"], tuple(data.get("index", ())))
    op, args = data.get("op"), [expr_from_json(a) for a in data.get("args", ())]
    if op == "neg" and len(args) == 1:
        return Neg(args[0])
    if op in _BINARY and len(args) == 2:
        return BinOp(op, args[0], args[1])
    if op in _FUNCTIONS and len(args) == 1:
        return Function(op, args[0])
    raise ValueError(f"bad expression JSON: unknown operation {op!r}")
