"""An :class:`Operation` (a gate on wires with parameter expressions) and the circuit's list of
them, which tells its circuit of every change (``owner._touch()``: compiled forms are dropped)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .expr import Expr, Symbol
from .gate_types import Gate


@dataclass(frozen=True)
class Operation:
    """A gate applied to wires with parameter expressions."""

    gate: Gate
    wires: tuple[int, ...]
    params: tuple[Expr, ...] = ()

    def __repr__(self) -> str:
        args = ", ".join(repr(p) for p in self.params)
        return (
            f"{self.gate.name}({args}) {list(self.wires)}"
            if args
            else (f"{self.gate.name} {list(self.wires)}")
        )

    @property
    def name(self) -> str:
        """The gate's name (dynamic operations have ``"measure"``, ``"reset"``, ``"if"``)."""
        return self.gate.name

    def symbols(self) -> set[Symbol]:
        out: set[Symbol] = set()
        for p in self.params:
            out |= p.symbols()
        return out


class OpList(list):
    """The circuit's operations; any change clears the circuit's compiled caches."""

    def __init__(self, owner: Any, items: Iterable[Operation] = ()):
        super().__init__(items)
        self._owner = owner

    def __reduce__(self) -> tuple:
        return (list, (list(self),))


def _mutator(name: str):
    base = getattr(list, name)

    def method(self: OpList, *args: Any, **kwargs: Any) -> Any:
        self._owner._touch()
        return base(self, *args, **kwargs)

    method.__name__ = name
    return method


for _name in (
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "clear",
    "reverse",
    "sort",
    "__setitem__",
    "__delitem__",
    "__iadd__",
    "__imul__",
):
    setattr(OpList, _name, _mutator(_name))
