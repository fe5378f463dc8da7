"""The statements the OpenQASM parser produces and the builder interprets (``reset`` and
``if``/``else`` are in :mod:`.control`, beside their parsing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# expression nodes are tuples: ("num", value), ("id", name), ("neg", a), ("bin", op, a, b),
# ("call", name, [args])
Node = tuple


@dataclass
class QArg:
    name: str
    index: Node | None
    line: int


@dataclass
class GateCall:
    line: int
    name: str
    modifiers: list[tuple[str, Node | None]] = field(default_factory=list)
    params: list[Node] = field(default_factory=list)
    args: list[QArg] = field(default_factory=list)


@dataclass
class GateDef:
    line: int
    name: str
    params: list[str]
    qubits: list[str]
    body: list[GateCall]


@dataclass
class Declare:
    line: int
    kind: str  # "qreg" / "creg" / "input" / "const"
    name: str
    size: int | None = None  # None: a single qubit / bit (QASM 3 ``qubit a;``)
    value: Node | None = None  # for const


@dataclass
class Measure:
    line: int
    qarg: QArg
    carg: QArg | None


@dataclass
class Other:
    line: int
    kind: str  # "version", "include", "barrier"
    value: Any = None
