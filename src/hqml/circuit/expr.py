"""Symbolic parameter expressions.

A gate parameter is an :class:`Expr`: a number, an element of a named input or weight array,
or arithmetic and elementwise functions of those. Expressions are immutable values (equality
by structure, readable ``repr``, JSON round trip) and evaluate batched in torch, so gradients
flow through them to the weights and inputs.

>>> from hqml.circuit.expr import Symbol, sin
>>> a = Symbol("w", "weight", (0,))
>>> e = 2 * sin(a) + 1
>>> e
2.0 * sin(w[0]) + 1.0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import torch

_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "arcsin": torch.arcsin,
    "arccos": torch.arccos,
    "arctan": torch.arctan,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "tanh": torch.tanh,
    "abs": torch.abs,
}
_MATH: dict[str, Callable[[float], float]] = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "arcsin": math.asin,
    "arccos": math.acos,
    "arctan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "abs": abs,
}
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}


def as_expr(value: Any) -> Expr:
    """Turn a number, a 0-d tensor or an expression into an :class:`Expr`.

    Raises:
        TypeError: for anything else (a vector, a string, ...).
    """
    if isinstance(value, Expr):
        return value
    if isinstance(value, SymbolArray):
        return value._scalar()
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


def _format_number(v: float) -> str:
    return repr(float(v))


def _wrap_repr(e: Expr, prec: int) -> str:
    s = repr(e)
    return f"({s})" if e._prec() < prec else s


class SymbolArray:
    """A named symbolic array (an input or a weight); index it to get scalar :class:`Symbol` s.

    >>> x = SymbolArray("x", "input", (4,))
    >>> x[2]
    x[2]
    """

    __slots__ = ("name", "kind", "shape")

    def __init__(self, name: str, kind: str, shape: tuple[int, ...]):
        self.name, self.kind, self.shape = name, kind, tuple(shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar symbol")
        return self.shape[0]

    def __getitem__(self, index: Any) -> Symbol:
        idx = index if isinstance(index, tuple) else (index,)
        if len(idx) != len(self.shape):
            raise IndexError(
                f"{self.kind} '{self.name}' has shape {self.shape}; index it with"
                f" {len(self.shape)} integer(s), got {index!r}"
            )
        norm = []
        for i, n in zip(idx, self.shape, strict=True):
            if not isinstance(i, numbers.Integral):
                raise IndexError(f"{self.kind} '{self.name}': indices must be integers, got {i!r}")
            if not -n <= i < n:
                raise IndexError(f"{self.kind} '{self.name}': index {i} out of range for size {n}")
            norm.append(int(i) % n)
        return Symbol(self.name, self.kind, tuple(norm))

    def __iter__(self):
        if len(self.shape) != 1:
            raise TypeError("only one-dimensional symbolic arrays can be iterated")
        return (self[i] for i in range(self.shape[0]))

    def symbol(self) -> Symbol:
        """The scalar symbol of a shape-() array."""
        return self[()]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SymbolArray) and (self.name, self.kind, self.shape) == (
            other.name,
            other.kind,
            other.shape,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.kind, self.shape))

    def __repr__(self) -> str:
        return f"{self.kind}({self.name!r}, shape={self.shape})"

    # arithmetic on a scalar array behaves like its symbol
    def _scalar(self) -> Symbol:
        if self.shape:
            raise TypeError(f"{self.kind} '{self.name}' has shape {self.shape}; index it first")
        return self[()]

    def __add__(self, o: Any) -> Expr:
        return self._scalar() + o

    __radd__ = __add__

    def __mul__(self, o: Any) -> Expr:
        return self._scalar() * o

    __rmul__ = __mul__

    def __sub__(self, o: Any) -> Expr:
        return self._scalar() - o

    def __rsub__(self, o: Any) -> Expr:
        return o - self._scalar()

    def __truediv__(self, o: Any) -> Expr:
        return self._scalar() / o

    def __neg__(self) -> Expr:
        return -self._scalar()

    def __rtruediv__(self, o: Any) -> Expr:
        return o / self._scalar()

    def __pow__(self, o: Any) -> Expr:
        return self._scalar() ** o

    def __rpow__(self, o: Any) -> Expr:
        return o ** self._scalar()


def normalize_shape(shape: Any) -> tuple[int, ...]:
    """``4`` -> ``(4,)``, ``(2, 4)`` stays, ``()`` is a scalar."""
    if isinstance(shape, numbers.Integral):
        shape = (int(shape),)
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if any(s <= 0 for s in out):
        raise ValueError(f"shape must have positive sizes, got {out}")
    return out
