"""Dynamic-circuit operations: mid-circuit measurement, reset and classically conditioned gates.

A measurement writes its outcome into a named classical bit (:class:`Bit`, one bit of a
:class:`ClassicalRegister`); a :class:`Conditional` applies its gates only when a
:class:`Condition` on earlier outcomes holds. ``bit == 1`` and ``register == 5`` build
conditions; in a register, bit ``i`` has weight ``2**i`` (OpenQASM's and Qiskit's convention).

>>> from hqml.circuit import Circuit
>>> c = Circuit(2)
>>> m = c.h(0).measure(0)
>>> _ = c.cond(m == 1, lambda: c.x(1))
>>> [op.name for op in c.ops]
['h', 'measure', 'if']
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return int(value)


class Bit:
    """Classical bit ``index`` of register ``register``; ``bit == 1`` is a :class:`Condition`."""

    __slots__ = ("register", "index")

    def __init__(self, register: str, index: int = 0):
        self.register, self.index = str(register), int(index)

    def __eq__(self, other: object) -> Any:
        if isinstance(other, Bit):
            return (self.register, self.index) == (other.register, other.index)
        if isinstance(other, numbers.Integral):
            return Condition((self,), _bit_value(other))
        return NotImplemented

    def __ne__(self, other: object) -> Any:
        if isinstance(other, Bit):
            return not self == other
        if isinstance(other, numbers.Integral):
            return Condition((self,), _bit_value(other), equal=False)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Bit", self.register, self.index))

    def __repr__(self) -> str:
        return f"{self.register}[{self.index}]"


def _bit_value(v: Any) -> int:
    if isinstance(v, bool) or v not in (0, 1):
        raise ValueError(f"a bit is compared with 0 or 1, got {v!r}")
    return int(v)


class ClassicalRegister:
    """A named register of ``size`` classical bits; ``reg[i]`` is a :class:`Bit`, and
    ``reg == k`` a :class:`Condition` on its value (bit ``i`` has weight ``2**i``)."""

    __slots__ = ("name", "size")

    def __init__(self, name: str, size: int):
        self.name, self.size = name, size

    def __getitem__(self, i: int) -> Bit:
        i = _as_int(i, f"register {self.name} index")
        if i >= self.size:
            raise IndexError(f"bit {i} out of range for register {self.name}[{self.size}]")
        return Bit(self.name, i)

    def __iter__(self) -> Iterator[Bit]:
        return (Bit(self.name, i) for i in range(self.size))

    def __len__(self) -> int:
        return self.size

    def _condition(self, other: Any, equal: bool) -> Condition:
        value = _as_int(other, f"register {self.name}'s value")
        if value >= 2**self.size:
            raise ValueError(f"register {self.name}[{self.size}] cannot hold the value {value}")
        return Condition(tuple(self), value, equal, self.name)

    def __eq__(self, other: object) -> Any:
        if isinstance(other, ClassicalRegister):
            return (self.name, self.size) == (other.name, other.size)
        if isinstance(other, numbers.Integral):
            return self._condition(other, True)
        return NotImplemented

    def __ne__(self, other: object) -> Any:
        if isinstance(other, ClassicalRegister):
            return not self == other
        if isinstance(other, numbers.Integral):
            return self._condition(other, False)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("ClassicalRegister", self.name, self.size))

    def __repr__(self) -> str:
        return f"ClassicalRegister({self.name!r}, {self.size})"


@dataclass(frozen=True)
class Condition:
    """``value(bits) == value`` (or ``!=`` when ``equal`` is False); ``bits[i]`` has weight
    ``2**i``. ``register`` names the whole register when the condition is on one."""

    bits: tuple[Bit, ...]
    value: int
    equal: bool = True
    register: str | None = None

    def holds(self, record: Mapping[Bit, int]) -> bool:
        """Whether the condition holds for outcomes ``record`` (bits never written read 0)."""
        v = sum(int(record.get(b, 0)) << i for i, b in enumerate(self.bits))
        return (v == self.value) == self.equal

    def __invert__(self) -> Condition:
        return Condition(self.bits, self.value, not self.equal, self.register)

    def __repr__(self) -> str:
        lhs = self.register if self.register is not None else repr(self.bits[0])
        return f"{lhs} {'==' if self.equal else '!='} {self.value}"


@dataclass(frozen=True)
class _OnOneWire:
    """What measure and reset share: one wire, no parameters."""

    wire: int
    params: ClassVar[tuple] = ()

    @property
    def wires(self) -> tuple[int, ...]:
        return (self.wire,)

    def symbols(self) -> set:
        return set()


@dataclass(frozen=True)
class Measure(_OnOneWire):
    """Measure ``wire`` in the computational basis and write the outcome to ``bit``."""

    bit: Bit
    name: ClassVar[str] = "measure"

    def __repr__(self) -> str:
        return f"measure [{self.wire}] -> {self.bit!r}"


@dataclass(frozen=True)
class Reset(_OnOneWire):
    """Reset ``wire`` to ``|0>`` (a channel: measure, then flip on 1, outcome discarded)."""

    name: ClassVar[str] = "reset"

    def __repr__(self) -> str:
        return f"reset [{self.wire}]"


@dataclass(frozen=True)
class Conditional:
    """Gates ``body`` (unitary :class:`~hqml.circuit.circuit.Operation` s) applied only when
    ``condition`` holds."""

    condition: Condition
    body: tuple[Any, ...]
    name: ClassVar[str] = "if"

    @property
    def wires(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(w for op in self.body for w in op.wires))

    @property
    def params(self) -> tuple[Any, ...]:
        return tuple(p for op in self.body for p in op.params)

    def symbols(self) -> set:
        out: set = set()
        for op in self.body:
            out |= op.symbols()
        return out

    def __repr__(self) -> str:
        return f"if ({self.condition!r}) {list(self.body)}"


DYNAMIC_OPS = (Measure, Reset, Conditional)


def is_dynamic_op(op: Any) -> bool:
    return isinstance(op, DYNAMIC_OPS)


def require_static(circuit: Any, what: str, fix: str = "") -> None:
    """Refuse a dynamic circuit in a consumer that handles unitary circuits only."""
    if circuit.is_dynamic:
        raise ValueError(
            f"{what} does not support dynamic circuits (mid-circuit measure, reset or classical"
            f" conditions){'; ' + fix if fix else ''}"
        )


def condition_bits(ops: Iterable[Any]) -> set[Bit]:
    """Every classical bit read by a condition in ``ops``."""
    return {b for op in ops if isinstance(op, Conditional) for b in op.condition.bits}


__all__ = [
    "Bit",
    "ClassicalRegister",
    "Condition",
    "Measure",
    "Reset",
    "Conditional",
    "DYNAMIC_OPS",
    "is_dynamic_op",
    "require_static",
    "condition_bits",
]
