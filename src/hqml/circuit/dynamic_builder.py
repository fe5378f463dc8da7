"""The dynamic-circuit methods of :class:`~hqml.circuit.circuit.Circuit`: classical registers,
``measure``, ``reset`` and ``cond`` (a mixin, so that ``circuit.py`` stays about gates)."""

from __future__ import annotations

import numbers
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .dynamic import (
    Bit,
    ClassicalRegister,
    Condition,
    Conditional,
    Measure,
    Reset,
    is_dynamic_op,
)


class DynamicMixin:
    """Classical registers and mid-circuit operations (see :mod:`hqml.circuit.dynamic`)."""

    n_qubits: int
    cregs: dict[str, int]
    ops: list

    # --- classical registers ----------------------------------------------------------------
    def creg(self, name: str, size: int = 1) -> ClassicalRegister:
        """Declare (or get) the classical register ``name`` of ``size`` bits."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"register name must be an identifier, got {name!r}")
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"register {name}: size must be a positive integer, got {size!r}")
        have = self.cregs.get(name)
        if have is not None and have != size:
            raise ValueError(f"classical register {name!r} is already declared with {have} bits")
        if have is None:
            self.cregs[name] = int(size)
            self._touch()  # type: ignore[attr-defined]
        return ClassicalRegister(name, int(size))

    @property
    def clbits(self) -> list[Bit]:
        """Every classical bit: registers in declaration order, each from bit 0 up (the order
        of Qiskit's ``circuit.clbits`` and of the record columns of ``hqml.sample``)."""
        return [Bit(name, i) for name, size in self.cregs.items() for i in range(size)]

    @property
    def is_dynamic(self) -> bool:
        """True when the circuit has a mid-circuit measurement, reset or conditioned gate
        (computed once per circuit structure: every request asks)."""
        return self.cached(
            ("hqml.circuit.dynamic", "is_dynamic"),
            lambda: any(is_dynamic_op(op) for op in self.ops),
        )

    def _bit(self, key: Any) -> Bit:
        if key is None:
            k = 0
            while f"m{k}" in self.cregs:
                k += 1
            key = f"m{k}"
        if isinstance(key, str):
            if key in self.cregs and self.cregs[key] != 1:
                raise ValueError(
                    f"register {key!r} has {self.cregs[key]} bits; name one bit, e.g. reg[0]"
                )
            return self.creg(key, 1)[0]
        if isinstance(key, Bit):
            size = self.cregs.get(key.register)
            if size is None:
                raise ValueError(
                    f"classical bit {key!r}: register {key.register!r} is not declared;"
                    f" declare it with c.creg({key.register!r}, size)"
                )
            if not 0 <= key.index < size:
                raise ValueError(f"classical bit {key!r} out of range for {key.register}[{size}]")
            return key
        raise TypeError(f"a measurement key is a name, a Bit or None, got {key!r}")

    def _wire(self, wire: Any, what: str) -> int:
        if isinstance(wire, bool) or not isinstance(wire, numbers.Integral):
            raise TypeError(f"{what}: wire must be an integer, got {wire!r}")
        if not 0 <= wire < self.n_qubits:
            raise ValueError(
                f"{what}: wire {wire} out of range for a {self.n_qubits}-qubit circuit"
            )
        return int(wire)

    def _dynamic_resources(self) -> dict[str, int]:
        kinds = Counter(type(op).__name__ for op in self.ops)
        return {
            "clbits": len(self.clbits),
            "measurements": kinds["Measure"],
            "resets": kinds["Reset"],
            "conditionals": kinds["Conditional"],
            "conditioned_gates": sum(
                len(op.body) for op in self.ops if isinstance(op, Conditional)
            ),
        }

    # --- operations -------------------------------------------------------------------------
    def _append_dynamic(self, op: Measure | Reset | Conditional) -> Any:
        if isinstance(op, Measure):
            self.measure(op.wire, op.bit)
        elif isinstance(op, Reset):
            self.reset(op.wire)
        else:
            self.cond(op.condition, op.body)
        return self

    def measure(self, wire: int, key: Any = None) -> Bit:
        """Measure ``wire`` mid-circuit; the outcome goes to the classical bit ``key``.

        Args:
            wire: the qubit.
            key: a :class:`Bit` of a declared register (``c.creg("c", 2)[1]``), a name (a
                one-bit register, declared on first use) or ``None`` (a new register
                ``m0``, ``m1``, ...).

        Returns:
            The :class:`Bit` written, for conditions: ``c.cond(bit == 1, ...)``.
        """
        bit = self._bit(key)
        self.ops.append(Measure(self._wire(wire, "measure"), bit))
        return bit

    def reset(self, wire: int) -> Any:
        """Reset ``wire`` to ``|0>``; returns the circuit."""
        self.ops.append(Reset(self._wire(wire, "reset")))
        return self

    def cond(
        self,
        condition: Condition | Bit,
        then: Callable[[], Any] | Any,
        otherwise: Callable[[], Any] | Any = None,
    ) -> Any:
        """Apply gates only when ``condition`` on earlier outcomes holds (``otherwise`` when
        it does not).

        ``then`` is a function that appends gates to this circuit (``lambda: c.x(1)``) or a
        circuit or list of operations on this circuit's wires; a bare :class:`Bit` means
        ``bit == 1``. Returns the circuit.
        """
        if isinstance(condition, Bit):
            condition = condition == 1
        if not isinstance(condition, Condition):
            raise TypeError(
                f"cond needs a condition such as bit == 1 or register == 3, got {condition!r}"
            )
        for b in condition.bits:
            self._bit(b)
        for cond, body in ((condition, then), (~condition, otherwise)):
            if body is None:
                continue
            ops = self._body_ops(body)
            if ops:
                self.ops.append(Conditional(cond, tuple(ops)))
        return self

    def _body_ops(self, body: Any) -> list:
        start = len(self.ops)
        try:
            if callable(body):
                body()
            elif isinstance(body, Iterable) or hasattr(body, "ops"):
                for op in getattr(body, "ops", body):
                    self.append(op)  # type: ignore[attr-defined]  # checks the wires
            else:
                raise TypeError(
                    f"cond: the body is a function, a circuit or operations, got {body!r}"
                )
        finally:
            ops = list(self.ops[start:])
            del self.ops[start:]
        for op in ops:
            if is_dynamic_op(op) or not hasattr(op, "gate"):
                raise ValueError(
                    "cond: a conditioned body holds gates only (no measure, reset or nested"
                    f" condition), got {op!r}"
                )
        return ops


def op_name(op: Any) -> str:
    return op.name if is_dynamic_op(op) else op.gate.name


def map_wires(op: Any, wires: Sequence[int]) -> Any:
    if isinstance(op, Measure):
        return Measure(wires[op.wire], op.bit)
    if isinstance(op, Reset):
        return Reset(wires[op.wire])
    if isinstance(op, Conditional):
        return Conditional(op.condition, tuple(map_wires(o, wires) for o in op.body))
    return replace(op, wires=tuple(wires[w] for w in op.wires))


def substitute(op: Any, values: Mapping[Any, float]) -> Any:
    if isinstance(op, Conditional):
        return Conditional(op.condition, tuple(substitute(o, values) for o in op.body))
    if is_dynamic_op(op):
        return op
    return replace(op, params=tuple(p.substitute(values) for p in op.params))
