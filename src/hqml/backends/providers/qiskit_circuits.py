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
from ...circuit.gates import ControlledGate
from ...circuit.observables import PauliSum
from .errors import UnsupportedRequest

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
    """What the Qiskit circuit of ``circuit`` depends on: gates, wires, constant parameters."""
    ops = tuple(
        (
            op.gate._key(),
            op.wires,
            tuple(float(p) if p.is_constant else None for p in op.params),
        )
        for op in circuit.ops
    )
    return (circuit.n_qubits, ops, extra)


def unsupported_gate(circuit: Circuit) -> str | None:
    """The name of the first gate with no Qiskit translation (symbolic parameters on a gate
    Qiskit does not name), or ``None``."""
    for op in circuit.ops:
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


def to_qiskit(circuit: Circuit, measure: tuple[int, ...] | None = None) -> Any:
    """A Qiskit ``QuantumCircuit`` with parameters ``t[col]`` (see the module's docstring);
    with ``measure``, wire ``measure[j]`` is measured into classical bit ``j``."""
    import torch
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector
    from qiskit.circuit import library as lib

    n_cols = sum(len(op.params) for op in circuit.ops)
    t = ParameterVector("t", max(n_cols, 1))
    qc = QuantumCircuit(circuit.n_qubits, len(measure) if measure else 0)
    col = 0
    for op in circuit.ops:
        params = [float(p) if p.is_constant else t[col + i] for i, p in enumerate(op.params)]
        col += len(op.params)
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
    if measure:
        qc.measure(list(measure), list(range(len(measure))))
    return qc


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
