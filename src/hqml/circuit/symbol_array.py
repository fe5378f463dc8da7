"""Named symbolic arrays: the inputs and weights a circuit declares, indexed into symbols."""

from __future__ import annotations

import math
import numbers
from typing import Any

from .expr import Expr, Symbol


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

    def to_expr(self) -> Symbol:
        """The symbol of a shape-() array (arithmetic on such an array is arithmetic on it)."""
        if self.shape:
            raise TypeError(f"{self.kind} '{self.name}' has shape {self.shape}; index it first")
        return self[()]

    _scalar = to_expr

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
