"""hqml circuits and observables as Qiskit objects (imported only when a qiskit backend runs).

Wire order is translated here and only here: hqml's wire ``i`` is Qiskit's qubit ``i`` (as in
OpenQASM, DESIGN.md), so gates keep their wires and a Pauli word keeps its wires; the matrices
of gates Qiskit does not name are reversed once, because Qiskit's first qubit of a gate is the
least significant bit of its matrix and hqml's the most.

Every non-constant gate parameter becomes the element ``t[col]`` of one ``ParameterVector``,
``col`` being its column in the task's ``theta``; constants are written into the circuit. So one
Qiskit circuit serves every row of ``theta`` (a PUB's parameter-value array), and
:func:`structure_key` identifies it across calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...circuit.circuit import Circuit
from ...circuit.dynamic import Conditional, is_dynamic_op
from ...circuit.gates import ControlledGate
from ...circuit.observables import PauliSum
from .errors import UnsupportedRequest
from .qiskit_dynamic import append_ops, dynamic_key, registers, rotate_and_measure

# hqml gate name -> Qiskit gate class name in qiskit.circuit.library (same parameter order)
_NAMED = {
    "id": "IGate", "h": "HGate", "x": "XGate", "y": "YGate", "z": "ZGate", "s": "SGate",
    "sdg": "SdgGate", "t": "TGate", "tdg": "TdgGate", "sx": "SXGate", "sxdg": "SXdgGate",
    "rx": "RXGate", "ry": "RYGate", "rz": "RZGate", "p": "PhaseGate", "u": "UGate",
    "swap": "SwapGate", "iswap": "iSwapGate", "rxx": "RXXGate", "ryy": "RYYGate",
    "rzz": "RZZGate", "cx": "CXGate", "cy": "CYGate", "cz": "CZGate", "ch": "CHGate",
    "csx": "CSXGate", "crx": "CRXGate", "cry": "CRYGate", "crz": "CRZGate", "cp": "CPhaseGate",
    "cu": "CU3Gate", "ccx": "CCXGate", "cswap": "CSwapGate",
}  # fmt: skip


def structure_key(circuit: Circuit, extra: Any = None) -> tuple:
    """What the Qiskit circuit of ``circuit`` depends on: gates, wires, constant parameters,
    and for a dynamic circuit its classical registers, measurements, resets and conditions."""
    return (circuit.n_qubits, tuple(_op_key(op) for op in circuit.ops),
            tuple(circuit.cregs.items()), extra)  # fmt: skip


def _op_key(op: Any) -> tuple:
    key = dynamic_key(op)
    if key is None:
        return (
            op.gate._key(),
            op.wires,
            tuple(float(p) if p.is_constant else None for p in op.params),
        )
    if isinstance(op, Conditional):
        return (*key, tuple(_op_key(o) for o in op.body))
    return key


def _gate_ops(circuit: Circuit) -> list[Any]:
    """The gates of ``circuit``, conditioned ones included, in order."""
    out: list[Any] = []
    for op in circuit.ops:
        if isinstance(op, Conditional):
            out.extend(op.body)
        elif not is_dynamic_op(op):
            out.append(op)
    return out


def unsupported_gate(circuit: Circuit) -> str | None:
    """The name of the first gate with no Qiskit translation (symbolic parameters on a gate
    Qiskit does not name), or ``None``."""
    for op in _gate_ops(circuit):
        if _translatable(op.gate) or all(p.is_constant for p in op.params):
            continue
        return op.gate.name
    return None


def _translatable(gate: Any) -> bool:
    if gate.name in _NAMED:
        return True
    return isinstance(gate, ControlledGate) and gate.base.name in _NAMED


def _reversed(m: np.ndarray) -> np.ndarray:
    k = int(np.log2(m.shape[0]))
    t = m.reshape((2,) * (2 * k))
    order = list(range(k - 1, -1, -1))
    return t.transpose(order + [k + i for i in order]).reshape(2**k, 2**k)


def to_qiskit(
    circuit: Circuit,
    measure: tuple[int, ...] | None = None,
    basis: dict[int, str] | None = None,
) -> Any:
    """A Qiskit ``QuantumCircuit`` with parameters ``t[col]`` (see the module's docstring);
    with ``measure``, wire ``measure[j]`` is measured into bit ``j`` of the last classical
    register, after a rotation into the Pauli ``basis`` (wire -> "X", "Y" or "Z") when given.
    A dynamic circuit keeps its classical registers (same names, before the readout's) and
    its measurements, resets and conditions (``if_test``)."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    n_cols = len(circuit.parameter_exprs())
    t = ParameterVector("t", max(n_cols, 1))
    k = len(measure) if measure else 0

    def gate(qc: Any, op: Any, col: int) -> int:
        _append_gate(qc, op, [float(p) if p.is_constant else t[col + i]
                              for i, p in enumerate(op.params)])  # fmt: skip
        return col + len(op.params)

    if circuit.is_dynamic:
        qc, regs = registers(circuit, k)
        append_ops(qc, circuit, regs, gate)
    else:
        qc, col = QuantumCircuit(circuit.n_qubits, k), 0
        for op in circuit.ops:
            col = gate(qc, op, col)
    if measure:
        rotate_and_measure(qc, measure, basis or {})
    return qc


def _append_gate(qc: Any, op: Any, params: list[Any]) -> None:
    import torch
    from qiskit.circuit import library as lib

    gate = op.gate
    if gate.name in _NAMED:
        qc.append(getattr(lib, _NAMED[gate.name])(*params), list(op.wires))
    elif isinstance(gate, ControlledGate) and gate.base.name in _NAMED:
        base = getattr(lib, _NAMED[gate.base.name])(*params)
        qc.append(base.control(gate.num_controls), list(op.wires))
    elif all(isinstance(p, float) for p in params):
        vals = torch.tensor(params, dtype=torch.float64) if params else None
        mat = gate.matrix(vals, dtype=torch.complex128).detach().numpy()
        qc.append(lib.UnitaryGate(_reversed(mat)), list(op.wires))
    else:
        raise UnsupportedRequest(
            f"gate {gate.name!r} with symbolic parameters has no Qiskit translation;"
            " bind its parameters or use built-in gates"
        )


def parameter_columns(qc: Any) -> list[int]:
    """The ``theta`` column of each of ``qc.parameters`` (in Qiskit's order)."""
    return [int(p.index) for p in qc.parameters]


def to_sparse_pauli(obs: PauliSum, n_qubits: int) -> Any:
    """A ``SparsePauliOp`` on ``n_qubits`` (Pauli on hqml wire ``i`` -> Qiskit qubit ``i``)."""
    from qiskit.quantum_info import SparsePauliOp

    items = [
        ("".join(p for _, p in word), [w for w, _ in word], c) for word, c in obs.terms.items()
    ]
    if not items:
        items = [("", [], 0.0)]
    return SparsePauliOp.from_sparse_list(items, n_qubits)


def measurement_groups(observables: tuple[PauliSum, ...]) -> int:
    """How many qubit-wise commuting measurement bases the observables need together."""
    words = {w for o in observables for w in o.terms if w}
    if not words:
        return 1
    return len(PauliSum(dict.fromkeys(words, 1.0)).group_qwc())
