"""Dynamic circuits as simulator programs: gates, mid-circuit measurements, resets, conditions.

:func:`dynamic_program` turns a circuit with :mod:`hqml.circuit.dynamic` operations into a list
of :class:`DynStep` s that the dynamic simulators (density matrix with classical records,
statevector branch enumeration and per-shot sampling) walk. Classical bits are numbered in
``circuit.clbits`` order; a record is an integer whose bit ``j`` is classical bit ``j``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..circuit.circuit import Circuit
from ..circuit.dynamic import Conditional, Measure, Reset
from ..sim.program import Instruction
from .instructions import gate_step

MAX_CLBITS = 62  # records are int64 masks


@dataclass
class DynStep:
    """One step: ``kind`` is ``"gate"`` (``gates`` has one instruction), ``"measure"`` (``wire``
    into classical bit ``bit``), ``"reset"`` (``wire``) or ``"cond"`` (``gates`` applied where
    ``bits``' value compares to ``value`` as ``equal`` says). ``op`` is the circuit operation
    (noise models look it up); ``live`` the mask of bits read by later conditions."""

    kind: str
    wire: int = -1
    bit: int = -1
    gates: list[Instruction] = field(default_factory=list)
    ops: list[Any] = field(default_factory=list)
    bits: tuple[int, ...] = ()
    value: int = 0
    equal: bool = True
    live: int = 0

    def holds(self, records: torch.Tensor) -> torch.Tensor:
        """Where the condition holds, for int64 ``records`` of any shape."""
        v = torch.zeros_like(records)
        for i, b in enumerate(self.bits):
            v = v + (((records >> b) & 1) << i)
        return (v == self.value) if self.equal else (v != self.value)


def dynamic_program(
    circuit: Circuit,
    theta: torch.Tensor,
    dtype: torch.dtype,
    varying: Sequence[bool] | None = None,
) -> list[DynStep]:
    """The circuit's steps, gate data evaluated from ``theta`` (B, P) as in
    :func:`~hqml.backends.instructions.build_program`."""
    clbits = {b: j for j, b in enumerate(circuit.clbits)}
    if len(clbits) > MAX_CLBITS:
        raise ValueError(
            f"the circuit has {len(clbits)} classical bits; hqml simulates at most {MAX_CLBITS}"
        )
    batched_theta = theta.shape[0] > 1
    col = 0

    def instruction(op: Any) -> Instruction:
        nonlocal col
        cols = tuple(range(col, col + op.gate.num_params))
        col += op.gate.num_params
        batched = batched_theta and (varying is None or any(varying[c] for c in cols))
        step = gate_step(op, cols, batched, theta, dtype)
        return Instruction(step.kind, step.wires, step.data, cols)

    steps: list[DynStep] = []
    for op in circuit.ops:
        if isinstance(op, Measure):
            steps.append(DynStep("measure", wire=op.wire, bit=clbits[op.bit], ops=[op]))
        elif isinstance(op, Reset):
            steps.append(DynStep("reset", wire=op.wire, ops=[op]))
        elif isinstance(op, Conditional):
            c = op.condition
            gates = [instruction(o) for o in op.body]
            bits = tuple(clbits[b] for b in c.bits)
            steps.append(DynStep("cond", gates=gates, ops=list(op.body), bits=bits,
                                 value=c.value, equal=c.equal))  # fmt: skip
        else:
            steps.append(DynStep("gate", gates=[instruction(op)], ops=[op]))
    live = 0
    for step in reversed(steps):  # bits a later condition reads
        step.live = live
        if step.kind == "cond":
            live |= sum(1 << b for b in step.bits)
        elif step.kind == "measure":
            live &= ~(1 << step.bit)  # overwritten here: earlier values are not read after
    return steps


def count_branches(steps: Sequence[DynStep]) -> int:
    """Upper bound on the pure-state branches of enumeration: 2 per measurement and reset."""
    return 2 ** sum(1 for s in steps if s.kind in ("measure", "reset"))


def record_bits(records: torch.Tensor, m: int) -> torch.Tensor:
    """Integer records ``(...)`` as bits ``(..., m)`` in clbit order (column j = bit j)."""
    j = torch.arange(m, device=records.device)
    return (records.unsqueeze(-1) >> j) & 1
