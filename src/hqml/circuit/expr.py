"""Symbolic parameter expressions.

A gate parameter is an :class:`Expr`: a number, an element of a named input or weight array,
or arithmetic and elementwise functions of those. Expressions are immutable values (equality
by structure, readable ``repr``, JSON round trip) and evaluate batched in torch, so gradients
flow through them to the weights and inputs.

>>> from hqml.circuit import Symbol, sin
>>> a = Symbol("w", "weight", (0,))
>>> e = 2 * sin(a) + 1
>>> e
2.0 * sin(w[0]) + 1.0
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import torch

# the elementwise functions, on numbers (math) and on tensors (torch's function of the same name)
_MATH: dict[str, Callable[[float], float]] = {
    **{f: getattr(math, f) for f in ("sin", "cos", "tan", "exp", "log", "sqrt", "sinh", "cosh")},
    "tanh": math.tanh, "arcsin": math.asin, "arccos": math.acos, "arctan": math.atan, "abs": abs,
}  # fmt: skip
_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    f: getattr(torch, f) for f in _MATH
}
# operator's functions (not lambdas): a compiled parameter program calls them with no Python
# frame of this module (circuit.params)
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}


@runtime_checkable
class ToExpr(Protocol):
    """What stands for one expression without being one (a shape-() ``SymbolArray``)."""

    def to_expr(self) -> Expr: ...


def as_expr(value: Any) -> Expr:
    """Turn a number, a 0-d tensor or an expression into an :class:`Expr`.

    Raises:
        TypeError: for anything else (a vector, a string, ...).
    """
    if isinstance(value, Expr):
        return value
    if isinstance(value, ToExpr):
        return value.to_expr()
    if isinstance(value, bool):
        raise TypeError(f"a gate parameter must be a number or expression, got {value!r}")
    if isinstance(value, numbers.Real):
        return Const(float(value))
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        if value.requires_grad:
            raise TypeError(
                "a gate parameter that requires grad would be frozen to a number; "
                "declare it with c.weight(name) and pass its value in weights="
            )
        return Const(float(value.reshape(()).item()))
    if hasattr(value, "shape") and getattr(value, "size", 2) == 1:  # numpy scalar / 1-element array
        return Const(float(value))
    raise TypeError(
        f"a gate parameter must be a number, a symbol or an expression, got {type(value).__name__}"
        " (index a symbolic array first, e.g. x[0])"
    )


class Expr:
    """Base class of parameter expressions (immutable)."""

    __slots__ = ()

    # --- arithmetic -------------------------------------------------------------------------
    def __add__(self, other: Any) -> Expr:
        return _binary("+", self, other)

    def __radd__(self, other: Any) -> Expr:
        return _binary("+", other, self)

    def __sub__(self, other: Any) -> Expr:
        return _binary("-", self, other)

    def __rsub__(self, other: Any) -> Expr:
        return _binary("-", other, self)

    def __mul__(self, other: Any) -> Expr:
        return _binary("*", self, other)

    def __rmul__(self, other: Any) -> Expr:
        return _binary("*", other, self)

    def __truediv__(self, other: Any) -> Expr:
        return _binary("/", self, other)

    def __rtruediv__(self, other: Any) -> Expr:
        return _binary("/", other, self)

    def __pow__(self, other: Any) -> Expr:
        return _binary("**", self, other)

    def __rpow__(self, other: Any) -> Expr:
        return _binary("**", other, self)

    def __neg__(self) -> Expr:
        if isinstance(self, Const):
            return Const(-self.value)
        return Neg(self)

    def __pos__(self) -> Expr:
        return self

    # --- protocol ---------------------------------------------------------------------------
    def evaluate(self, env: Callable[[Symbol], Any], memo: dict[int, Any] | None = None) -> Any:
        """Evaluate with ``env(symbol)`` giving each symbol's value (tensor or float).

        ``memo`` (keyed by node identity) shares the values of common sub-expressions between
        calls, e.g. across all gate parameters of a circuit.
        """
        raise NotImplementedError

    def symbols(self) -> set[Symbol]:
        """The symbols this expression depends on."""
        raise NotImplementedError

    def substitute(self, values: Mapping[Symbol, float]) -> Expr:
        """Replace the given symbols by numbers, folding constants."""
        raise NotImplementedError

    def to_json(self) -> Any:
        raise NotImplementedError

    @property
    def is_constant(self) -> bool:
        return not self.symbols()

    def __float__(self) -> float:
        if not isinstance(self, Const):
            raise TypeError(f"expression {self!r} has unbound symbols; bind them first")
        return self.value

    def _prec(self) -> int:
        return 10

    def __eq__(self, other: object) -> bool:
        if isinstance(other, numbers.Real) and isinstance(self, Const):
            return self.value == float(other)
        return type(self) is type(other) and self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def _key(self) -> tuple:
        raise NotImplementedError


class Const(Expr):
    __slots__ = ("value",)

    def __init__(self, value: float):
        object.__setattr__(self, "value", float(value))

    def __setattr__(self, *_: Any) -> None:
        raise AttributeError("expressions are immutable")

    def __reduce__(self) -> tuple:
        return (Const, (self.value,))

    def evaluate(self, env: Callable[[Symbol], Any], memo: dict[int, Any] | None = None) -> Any:
        return self.value

    def symbols(self) -> set[Symbol]:
        return set()

    def substitute(self, values: Mapping[Symbol, float]) -> Expr:
        return self

    def to_json(self) -> Any:
        return self.value

    def _key(self) -> tuple:
        return (self.value,)

    def _prec(self) -> int:
        return 10 if self.value >= 0 else 3

    def __repr__(self) -> str:
        return _format_number(self.value)


class Symbol(Expr):
    """One scalar element of a named input or weight array: ``x[2]``, ``w[1, 3]``."""

    __slots__ = ("name", "kind", "index")

    def __init__(self, name: str, kind: str, index: tuple[int, ...] = ()):
        if kind not in ("input", "weight"):
            raise ValueError(f"symbol kind must be 'input' or 'weight', got {kind!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "index", tuple(int(i) for i in index))

    def __setattr__(self, *_: Any) -> None:
        raise AttributeError("expressions are immutable")

    def __reduce__(self) -> tuple:
        return (Symbol, (self.name, self.kind, self.index))

    def evaluate(self, env: Callable[[Symbol], Any], memo: dict[int, Any] | None = None) -> Any:
        return env(self)

    def symbols(self) -> set[Symbol]:
        return {self}

    def substitute(self, values: Mapping[Symbol, float]) -> Expr:
        return Const(values[self]) if self in values else self

    def to_json(self) -> Any:
        return {"sym": self.name, "kind": self.kind, "index": list(self.index)}

    def _key(self) -> tuple:
        return (self.name, self.kind, self.index)

    def __repr__(self) -> str:
        if not self.index:
            return self.name
        return f"{self.name}[{', '.join(map(str, self.index))}]"


class Neg(Expr):
    __slots__ = ("arg",)

    def __init__(self, arg: Expr):
        object.__setattr__(self, "arg", arg)

    def __setattr__(self, *_: Any) -> None:
        raise AttributeError("expressions are immutable")

    def __reduce__(self) -> tuple:
        return (Neg, (self.arg,))

    def evaluate(self, env: Callable[[Symbol], Any], memo: dict[int, Any] | None = None) -> Any:
        if memo is not None and id(self) in memo:
            return memo[id(self)]
        value = -self.arg.evaluate(env, memo)
        if memo is not None:
            memo[id(self)] = value
        return value

    def symbols(self) -> set[Symbol]:
        return self.arg.symbols()

    def substitute(self, values: Mapping[Symbol, float]) -> Expr:
        return -self.arg.substitute(values)

    def to_json(self) -> Any:
        return {"op": "neg", "args": [self.arg.to_json()]}

    def _key(self) -> tuple:
        return (self.arg,)

    def _prec(self) -> int:
        return 3

    def __repr__(self) -> str:
        return "-" + _wrap_repr(self.arg, 3)


class BinOp(Expr):
    __slots__ = ("op", "left", "right")

    def __init__(self, op: str, left: Expr, right: Expr):
        if op not in _BINARY:
            raise ValueError(f"unknown operator {op!r}")
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "left", left)
        object.__setattr__(self, "right", right)

    def __setattr__(self, *_: Any) -> None:
        raise AttributeError("expressions are immutable")

    def __reduce__(self) -> tuple:
        return (BinOp, (self.op, self.left, self.right))

    def evaluate(self, env: Callable[[Symbol], Any], memo: dict[int, Any] | None = None) -> Any:
        if memo is not None and id(self) in memo:
            return memo[id(self)]
        value = _BINARY[self.op](self.left.evaluate(env, memo), self.right.evaluate(env, memo))
        if memo is not None:
            memo[id(self)] = value
        return value

    def symbols(self) -> set[Symbol]:
        return self.left.symbols() | self.right.symbols()

    def substitute(self, values: Mapping[Symbol, float]) -> Expr:
        return _binary(self.op, self.left.substitute(values), self.right.substitute(values))

    def to_json(self) -> Any:
        return {"op": self.op, "args": [self.left.to_json(), self.right.to_json()]}

    def _key(self) -> tuple:
        return (self.op, self.left, self.right)

    def _prec(self) -> int:
        return _PRECEDENCE[self.op]

    def __repr__(self) -> str:
        p = _PRECEDENCE[self.op]
        if self.op == "**":
            return f"{_wrap_repr(self.left, p + 1)}**{_wrap_repr(self.right, p)}"
        right_p = p + 1 if self.op in "-/" else p
        return f"{_wrap_repr(self.left, p)} {self.op} {_wrap_repr(self.right, right_p)}"


class Function(Expr):
    __slots__ = ("fn", "arg")

    def __init__(self, fn: str, arg: Expr):
        if fn not in _FUNCTIONS:
            raise ValueError(f"unknown function {fn!r}; known: {', '.join(_FUNCTIONS)}")
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "arg", arg)

    def __setattr__(self, *_: Any) -> None:
        raise AttributeError("expressions are immutable")

    def __reduce__(self) -> tuple:
        return (Function, (self.fn, self.arg))

    def evaluate(self, env: Callable[[Symbol], Any], memo: dict[int, Any] | None = None) -> Any:
        if memo is not None and id(self) in memo:
            return memo[id(self)]
        arg = self.arg.evaluate(env, memo)
        value = _FUNCTIONS[self.fn](arg) if isinstance(arg, torch.Tensor) else _MATH[self.fn](arg)
        if memo is not None:
            memo[id(self)] = value
        return value

    def symbols(self) -> set[Symbol]:
        return self.arg.symbols()

    def substitute(self, values: Mapping[Symbol, float]) -> Expr:
        return apply_function(self.fn, self.arg.substitute(values))

    def to_json(self) -> Any:
        return {"op": self.fn, "args": [self.arg.to_json()]}

    def _key(self) -> tuple:
        return (self.fn, self.arg)

    def __repr__(self) -> str:
        return f"{self.fn}({self.arg!r})"


def _binary(op: str, a: Any, b: Any) -> Expr:
    a, b = as_expr(a), as_expr(b)
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(_BINARY[op](a.value, b.value))
    return BinOp(op, a, b)


def apply_function(fn: str, arg: Any) -> Expr:
    """``fn(arg)`` as an expression; folds constants."""
    arg = as_expr(arg)
    if isinstance(arg, Const):
        return Const(_MATH[fn](arg.value))
    return Function(fn, arg)


def _format_number(v: float) -> str:
    return repr(float(v))


def _wrap_repr(e: Expr, prec: int) -> str:
    s = repr(e)
    return f"({s})" if e._prec() < prec else s
