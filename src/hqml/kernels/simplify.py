"""A kernel-side circuit rewrite that keeps states up to a global phase.

Every kernel here depends on states only up to a global phase (overlaps ``|<a|b>|^2``, reduced
density matrices, Pauli expectations), so a feature map may be simulated in any form equal up to
one. :func:`merge_parity_phases` replaces the three-gate parity phase ``CX(a, b) P(t)_b CX(a, b)``
of ZZ / IQP / Pauli feature maps by one diagonal ``RZZ(t)`` on ``(a, b)``:
``CX RZ(t)_b CX = RZZ(t)`` exactly and ``P(t) = e^{it/2} RZ(t)``. One diagonal two-qubit gate is
one cheap pass over the state instead of two permutations and a one-qubit gate.
"""

from __future__ import annotations

from ..circuit.circuit import Circuit, Operation
from ..circuit.dynamic import require_static

_PHASES = ("p", "rz")
_CACHE_KEY = "hqml.kernels.merge_parity_phases"


def _is_cx(op: Operation) -> bool:
    return op.gate.name == "cx" and not op.params


def merge_parity_phases(circuit: Circuit) -> Circuit:
    """``circuit`` with each ``CX(a, b); P or RZ(t) on b; CX(a, b)`` run replaced by ``RZZ(t)``.

    The result equals the input up to a global phase (which may depend on the parameters), so
    use it only where global phases do not matter. Returns the circuit itself when nothing
    matches; results are cached on the circuit.

    >>> import hqml
    >>> c = hqml.Circuit(2).h(0).cx(0, 1).p(0.3, 1).cx(0, 1)
    >>> merge_parity_phases(c).count_ops()
    {'h': 1, 'rzz': 1}
    """
    require_static(circuit, "merge_parity_phases")
    return circuit.cached(_CACHE_KEY, lambda: _merge(circuit))


def _merge(circuit: Circuit) -> Circuit:
    ops = circuit.ops
    out: list[tuple[str, tuple[int, ...], tuple]] = []
    changed = False
    i = 0
    while i < len(ops):
        a, b, c = (
            ops[i],
            ops[i + 1] if i + 1 < len(ops) else None,
            ops[i + 2] if i + 2 < len(ops) else None,
        )
        if (
            b is not None
            and c is not None
            and _is_cx(a)
            and _is_cx(c)
            and a.wires == c.wires
            and b.gate.name in _PHASES
            and b.wires == (a.wires[1],)
        ):
            out.append(("rzz", a.wires, b.params))
            changed = True
            i += 3
            continue
        out.append((a.gate, a.wires, a.params))  # type: ignore[arg-type]
        i += 1
    result = circuit
    if changed:
        result = Circuit(circuit.n_qubits)
        for name, arr in circuit.inputs.items():
            result.input(name, arr.shape)
        for name, arr in circuit.weights.items():
            result.weight(name, arr.shape)
        for gate, wires, params in out:
            result.append(gate, wires, params)
    return result


__all__ = ["merge_parity_phases"]
