"""Dynamic circuits in Qiskit's own dynamic-circuit form (imported only when a qiskit backend
runs): mid-circuit ``measure`` into classical registers of the same names, ``reset``, and
conditions as ``QuantumCircuit.if_test`` blocks (an ``else`` block where hqml holds a condition
and its negation one after the other).

Outcome-averaged expectation values of a dynamic circuit are estimated from sampled bits: for
each qubit-wise commuting group of Pauli words, the circuit ends with a rotation into the
group's basis and a measurement of its wires into one extra register; a word's value is the
mean of ``(-1)**parity`` of its wires' bits. The mid-circuit records play no part in it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...circuit.circuit import Circuit
from ...circuit.dynamic import Condition, Conditional, Measure, Reset
from ...circuit.observables import PauliSum
from ..base import Sample
from .errors import UnsupportedRequest


def readout_name(circuit: Circuit) -> str:
    """A register name for the final readout that no register of ``circuit`` has."""
    name = "hqml_readout"
    while name in circuit.cregs:
        name += "_"
    return name


def dynamic_key(op: Any) -> tuple | None:
    """What the Qiskit form of a dynamic operation depends on (``None`` for a gate)."""
    if isinstance(op, Measure):
        return ("measure", op.wire, op.bit.register, op.bit.index)
    if isinstance(op, Reset):
        return ("reset", op.wire)
    if isinstance(op, Conditional):
        c = op.condition
        cond = (tuple((b.register, b.index) for b in c.bits), c.value, c.equal, c.register)
        return ("if", cond, len(op.body))
    return None


def unsupported_condition(circuit: Circuit) -> Condition | None:
    """The first condition Qiskit's ``if_test`` cannot read (several bits that are not one
    whole register), or ``None``."""
    for op in circuit.ops:
        if isinstance(op, Conditional):
            c = op.condition
            whole = c.register is not None and len(c.bits) == circuit.cregs.get(c.register)
            if not whole and len(c.bits) != 1:
                return c
    return None


def _target(condition: Condition, regs: dict[str, Any]) -> tuple[Any, int]:
    """The Qiskit ``(clbit or register, value)`` of an equality condition."""
    bits = condition.bits
    if condition.register is not None and len(bits) == regs[condition.register].size:
        return regs[condition.register], condition.value
    if len(bits) == 1:
        return regs[bits[0].register][bits[0].index], condition.value
    raise UnsupportedRequest(
        f"condition {condition!r} reads several bits that are not one whole register; Qiskit"
        " conditions read one bit or one register: condition on a register"
    )


def _n_params(body: Sequence[Any]) -> int:
    return sum(len(op.params) for op in body)


def append_ops(
    qc: Any,
    circuit: Circuit,
    regs: dict[str, Any],
    gate: Callable[[Any, Any, int], int],
) -> None:
    """Append ``circuit``'s operations to ``qc``; ``gate(qc, op, col)`` appends one gate whose
    parameters start at ``theta`` column ``col`` and returns the next column."""
    ops, col, i = circuit.ops, 0, 0

    def block(body: Sequence[Any], start: int) -> None:
        for body_op in body:
            start = gate(qc, body_op, start)

    while i < len(ops):
        op = ops[i]
        if isinstance(op, Measure):
            qc.measure(op.wire, regs[op.bit.register][op.bit.index])
        elif isinstance(op, Reset):
            qc.reset(op.wire)
        elif isinstance(op, Conditional):
            other = ops[i + 1] if i + 1 < len(ops) else None
            has_else = isinstance(other, Conditional) and other.condition == ~op.condition
            # (body, first column) of "then" and "else", columns in hqml's order of the ops
            first = (op.body, col)
            second = (other.body if has_else else (), col + _n_params(op.body))
            col = second[1] + _n_params(second[0])
            if not op.condition.equal:  # "!=": hqml's body is the else block of "=="
                first, second = second, first
            cond = op.condition if op.condition.equal else ~op.condition
            with qc.if_test(_target(cond, regs)) as orelse:
                block(*first)
            if second[0]:
                with orelse:
                    block(*second)
            i += 1 if has_else else 0
        else:
            col = gate(qc, op, col)
        i += 1


def registers(circuit: Circuit, readout: int) -> tuple[Any, dict[str, Any]]:
    """An empty ``QuantumCircuit`` with the circuit's classical registers (same names, same
    order) and a final readout register of ``readout`` bits; and the registers by name."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

    regs = {name: ClassicalRegister(size, name) for name, size in circuit.cregs.items()}
    extra = [ClassicalRegister(readout, readout_name(circuit))] if readout else []
    qc = QuantumCircuit(QuantumRegister(circuit.n_qubits, "q"), *regs.values(), *extra)
    return qc, regs


def rotate_and_measure(qc: Any, wires: Sequence[int], basis: dict[int, str]) -> None:
    """Rotate ``wires`` into the Pauli ``basis`` (Z where none is given) and measure them into
    the last register, ``wires[j]`` into its bit ``j``."""
    for w in wires:
        if basis.get(w) == "X":
            qc.h(w)
        elif basis.get(w) == "Y":
            qc.sdg(w)
            qc.h(w)
    qc.measure(list(wires), list(qc.cregs[-1]))


def records(data: Any, circuit: Circuit, rows: int, readout: int) -> np.ndarray:
    """Sampled bits ``(rows, shots, m + readout)`` in hqml's layout: the classical bits in
    ``circuit.clbits`` order (registers in declaration order, each from bit 0 up), then the
    final readout in the order of the measured wires."""
    names = list(circuit.cregs) + ([readout_name(circuit)] if readout else [])
    cols = [getattr(data, n).to_bool_array(order="little") for n in names]
    bits = np.concatenate(cols, axis=-1) if len(cols) > 1 else cols[0]
    return bits.reshape(rows, -1, bits.shape[-1]).astype(np.int64)


def readout_bits(data: Any, circuit: Circuit, rows: int) -> np.ndarray:
    """The final readout register's bits ``(rows, shots, k)``."""
    bits = getattr(data, readout_name(circuit)).to_bool_array(order="little")
    return bits.reshape(rows, -1, bits.shape[-1]).astype(np.int64)


def basis_groups(observables: Sequence[PauliSum]) -> list[dict[int, str]]:
    """The measurement bases (wire -> Pauli) of the qubit-wise commuting groups of the
    observables' words."""
    words = {w for o in observables for w in o.terms if w}
    if not words:  # constants: nothing to measure, but a sampled circuit needs a readout
        return [{0: "Z"}]
    groups = PauliSum(dict.fromkeys(words, 1.0)).group_qwc()
    return [{q: p for word in g.terms for q, p in word} for g in groups]


def expvals(
    bits: Sequence[np.ndarray], bases: Sequence[dict[int, str]], observables: Sequence[PauliSum]
) -> np.ndarray:
    """``(rows, K)`` expectation values from each basis's sampled bits ``(rows, shots, k)``
    (column ``j`` = the ``j``-th wire of the basis in sorted order)."""
    rows = bits[0].shape[0]
    out = np.zeros((rows, len(observables)))
    for k, obs in enumerate(observables):
        for word, coeff in obs.terms.items():
            if not word:
                out[:, k] += float(np.real(coeff))
                continue
            g = next(i for i, b in enumerate(bases) if all(b.get(q) == p for q, p in word))
            wires = sorted(bases[g])
            cols = [wires.index(q) for q, _ in word]
            parity = bits[g][..., cols].sum(-1) % 2
            out[:, k] += float(np.real(coeff)) * (1 - 2 * parity).mean(-1)
    return out


def pub_values(results: list[Any], task: Any, rows: int) -> np.ndarray:
    """A task's values from its PUB results: samples, or expectation values (estimated from
    the sampled bases of a dynamic circuit)."""
    m, circuit = task.measurement, task.circuit
    if isinstance(m, Sample) and circuit.is_dynamic:
        return records(results[0].data, circuit, rows, len(m.wires))
    if isinstance(m, Sample):
        bits = next(iter(results[0].data.values())).to_bool_array(order="little")
        return bits.reshape(rows, -1, len(m.wires)).astype(np.int64)
    if circuit.is_dynamic:
        bits = [readout_bits(r.data, circuit, rows) for r in results]
        return expvals(bits, basis_groups(m.observables), m.observables)
    evs = np.asarray(results[0].data.evs, dtype=np.float64)
    return np.broadcast_to(evs.reshape(-1, evs.shape[-1]), (rows, evs.shape[-1])).copy()
