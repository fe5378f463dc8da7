"""The deferred-measurement rewrite: a dynamic circuit as a unitary one, where that is exact.

When every measured qubit is left alone after its (single) measurement, a condition on its bit
is the same as a quantum control on the qubit itself, and the measurement only dephases the
qubit. :func:`defer_measurements` then gives the unitary circuit (each conditioned gate
controlled on the measured wires, ``X`` around the controls whose required bit is 0) and the
measured wires: outcome-averaged probabilities equal the unitary circuit's, and expectation
values equal its values with every Pauli term that has ``X`` or ``Y`` on a measured wire set to
zero. The gate parameters keep their order, so the unitary circuit takes the same ``theta``.

>>> from hqml.circuit import Circuit
>>> c = Circuit(2)
>>> m = c.h(0).measure(0)
>>> _ = c.cond(m == 1, lambda: c.x(1))
>>> unitary, measured = defer_measurements(c)
>>> [op.gate.name for op in unitary.ops], measured
(['h', 'cx'], frozenset({0}))
"""

from __future__ import annotations

from typing import Any

from .circuit import Circuit, Operation
from .dynamic import Conditional, Measure, Reset
from .gates import controlled, get_gate

_CACHE_KEY = ("hqml.circuit.deferred", "rewrite")


def defer_measurements(circuit: Circuit) -> tuple[Circuit, frozenset[int]] | str:
    """``(unitary circuit, measured wires)``, or the reason the rewrite does not apply."""
    return circuit.cached(_CACHE_KEY, lambda: _defer(circuit))


def _defer(circuit: Circuit) -> tuple[Circuit, frozenset[int]] | str:
    out = Circuit(circuit.n_qubits)
    out.inputs, out.weights = dict(circuit.inputs), dict(circuit.weights)
    source: dict[Any, int] = {}  # classical bit -> the wire measured into it
    for op in circuit.ops:
        if isinstance(op, Reset):
            return f"wire {op.wire} is reset"
        if isinstance(op, Measure):
            if op.wire in source.values():
                return f"wire {op.wire} is measured twice"
            if op.bit in source:
                return f"bit {op.bit!r} is written twice"
            source[op.bit] = op.wire
            continue
        body = op.body if isinstance(op, Conditional) else (op,)
        used = [w for o in body for w in o.wires if w in source.values()]
        if used:
            return f"wire {used[0]} is used after its measurement"
        if not isinstance(op, Conditional):
            out.ops.append(op)
            continue
        reason = _append_controlled(out, op, source)
        if reason:
            return reason
    return out, frozenset(source.values())


def _append_controlled(out: Circuit, op: Conditional, source: dict[Any, int]) -> str | None:
    cond = op.condition
    if not cond.equal:
        return f"the condition {cond!r} is an inequality"
    missing = [b for b in cond.bits if b not in source]
    if missing:
        return f"bit {missing[0]!r} is read before it is measured"
    controls = tuple(source[b] for b in cond.bits)
    zeros = [w for i, w in enumerate(controls) if not (cond.value >> i) & 1]
    try:
        gates = [controlled(o.gate, len(controls)) for o in op.body]
    except ValueError as e:
        return str(e)
    flips = [Operation(get_gate("x"), (w,)) for w in zeros]
    out.ops.extend(flips)
    for o, g in zip(op.body, gates, strict=True):
        out.ops.append(Operation(g, controls + o.wires, o.params))
    out.ops.extend(flips)
    return None
