"""``pennylane:<device>``: any installed PennyLane device (``default.qubit``,
``lightning.qubit``, plugin devices) as an hqml backend.

PennyLane orders wires as hqml does (the first wire is the most significant bit), so gates,
matrices and Pauli words pass through unchanged. A task becomes one PennyLane tape whose gate
parameters are *broadcast* over the task's rows (a mini-batch, or every shifted copy of a
gradient), run by ``qml.execute`` with the device's own preprocessing: one call, one job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ...circuit.circuit import Circuit
from ...circuit.dynamic import Conditional, Measure, Reset
from ...circuit.gates import ControlledGate, real_dtype
from ...circuit.observables import PauliSum
from ..base import Sample, Task
from .base import ProviderBackend, ProviderCapabilities, Submission
from .errors import UnsupportedRequest

# hqml gate name -> PennyLane operation class (same parameter order and matrix)
_NAMED = {
    "id": "Identity", "h": "Hadamard", "x": "PauliX", "y": "PauliY", "z": "PauliZ", "s": "S",
    "t": "T", "sx": "SX", "rx": "RX", "ry": "RY", "rz": "RZ", "p": "PhaseShift", "u": "U3",
    "swap": "SWAP", "iswap": "ISWAP", "rxx": "IsingXX", "ryy": "IsingYY", "rzz": "IsingZZ",
    "cx": "CNOT", "cy": "CY", "cz": "CZ", "ch": "CH", "crx": "CRX", "cry": "CRY", "crz": "CRZ",
    "cp": "ControlledPhaseShift", "ccx": "Toffoli", "cswap": "CSWAP",
}  # fmt: skip
_ADJOINT = {"sdg": "S", "tdg": "T", "sxdg": "SX"}


def _require() -> Any:
    try:
        import pennylane as qml
    except ModuleNotFoundError:
        raise ImportError(
            "pennylane backends need pennylane: pip install 'hqml[pennylane]'"
        ) from None
    return qml


def _op(qml: Any, gate: Any, wires: list[int], params: list[Any]) -> Any:
    if gate.name in _NAMED:
        return getattr(qml, _NAMED[gate.name])(*params, wires=wires)
    if gate.name in _ADJOINT:
        return qml.adjoint(getattr(qml, _ADJOINT[gate.name])(wires=wires))
    if isinstance(gate, ControlledGate) and (
        gate.base.name in _NAMED or gate.base.name in _ADJOINT
    ):
        k = gate.num_controls
        return qml.ctrl(_op(qml, gate.base, wires[k:], params), control=wires[:k])
    if all(np.ndim(p) == 0 and isinstance(p, float) for p in params):
        vals = torch.tensor(params, dtype=torch.float64) if params else None
        return qml.QubitUnitary(gate.matrix(vals, dtype=torch.complex128).numpy(), wires=wires)
    raise UnsupportedRequest(
        f"gate {gate.name!r} with symbolic parameters has no PennyLane translation;"
        " bind its parameters or use built-in gates"
    )


def _params(op: Any, theta: np.ndarray, col: int) -> list[Any]:
    params = []
    for i, p in enumerate(op.params):
        if p.is_constant:
            params.append(float(p))
        else:
            column = theta[:, col + i]
            params.append(column if len(column) > 1 else float(column[0]))
    return params


def to_pennylane_ops(circuit: Circuit, theta: np.ndarray) -> list[Any]:
    """PennyLane operations for ``circuit`` with parameters ``theta`` (R, P): a column that
    varies over the rows is broadcast (shape (R,)), a constant one is a number."""
    qml = _require()
    ops, col = [], 0
    for op in circuit.ops:
        ops.append(_op(qml, op.gate, list(op.wires), _params(op, theta, col)))
        col += len(op.params)
    return ops


def dynamic_tape(task: Task, theta: np.ndarray, shots: int | None) -> Any:
    """A dynamic circuit as a PennyLane tape: ``qml.measure`` (a reset is a measurement with
    ``reset=True`` whose value is dropped) and ``qml.cond`` on the measurement values; a
    classical bit reads its latest measurement (0 before any). Samples are the classical bits
    in ``circuit.clbits`` order, then the final readout, as hqml's simulators give them."""
    qml = _require()
    circuit, m = task.circuit, task.measurement
    latest: dict[Any, Any] = {}  # Bit -> its latest MeasurementValue
    col = 0
    with qml.queuing.AnnotatedQueue() as q:
        for w in range(circuit.n_qubits):
            qml.Identity(w)
        for op in circuit.ops:
            if isinstance(op, Measure):
                latest[op.bit] = qml.measure(op.wire)
            elif isinstance(op, Reset):
                qml.measure(op.wire, reset=True)
            elif isinstance(op, Conditional):
                col = _conditional(qml, op, latest, theta, col)
            else:
                _op(qml, op.gate, list(op.wires), _params(op, theta, col))
                col += len(op.params)
        if isinstance(m, Sample):
            for bit in circuit.clbits:
                if bit in latest:  # a bit never written reads 0: _record adds its column
                    qml.sample(latest[bit])
            if m.wires:
                qml.sample(wires=list(m.wires))
        else:
            for o in m.observables:
                qml.expval(to_pennylane_observable(o))
    return qml.tape.QuantumScript.from_queue(q, shots=shots)


def _conditional(qml: Any, op: Conditional, latest: dict, theta: np.ndarray, col: int) -> int:
    c = op.condition
    terms = [(latest[b], 2**i) for i, b in enumerate(c.bits) if b in latest]
    ends = [col]
    for body_op in op.body:
        ends.append(ends[-1] + len(body_op.params))

    def body() -> None:
        for body_op, start in zip(op.body, ends, strict=False):
            _op(qml, body_op.gate, list(body_op.wires), _params(body_op, theta, start))

    if not terms:  # only bits never written (they read 0): the condition is known
        if (c.value == 0) == c.equal:
            body()
        return ends[-1]
    value = terms[0][0] if terms[0][1] == 1 else terms[0][0] * terms[0][1]
    for mv, weight in terms[1:]:
        value = value + mv * weight
    qml.cond(value == c.value if c.equal else value != c.value, body)()
    return ends[-1]


def to_pennylane_observable(obs: PauliSum) -> Any:
    qml = _require()
    paulis = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}
    coeffs, terms = [], []
    for word, c in obs.terms.items():
        coeffs.append(float(np.real(c)))
        terms.append(qml.prod(*(paulis[p](w) for w, p in word)) if word else qml.Identity(0))
    if not terms:
        return qml.s_prod(0.0, qml.Identity(0))
    return qml.dot(coeffs, terms)


class PennyLaneBackend(ProviderBackend):
    """A PennyLane device by name; ``device_options`` go to ``qml.device``."""

    provider = "pennylane"

    def __init__(
        self,
        device: str = "default.qubit",
        *,
        max_qubits: int = 24,
        device_options: dict[str, Any] | None = None,
        **options: Any,
    ):
        qml = _require()
        super().__init__(device, **options)
        self.device_options = dict(device_options or {})
        try:
            qml.device(device, wires=1, **self.device_options)
        except Exception as e:  # an unknown or broken device: its own message
            raise ValueError(f"PennyLane device {device!r} cannot be created: {e}") from None
        self.capabilities = ProviderCapabilities(
            max_qubits=max_qubits, exact=True, measurements=frozenset({"expval", "sample"}),
            dynamic=True,  # qml.measure / qml.cond, run by the device's own preprocessing
        )  # fmt: skip

    def check_gates(self, task: Task) -> None:
        for op in _gates(task.circuit):
            g = op.gate
            base = g.base.name if isinstance(g, ControlledGate) else g.name
            known = base in _NAMED or base in _ADJOINT
            if not known and not all(p.is_constant for p in op.params):
                raise UnsupportedRequest(
                    f"{self.name} cannot run gate {g.name!r} with symbolic parameters (no"
                    " PennyLane translation); use built-in gates or bind its parameters"
                )

    def _rows(self, task: Task) -> int:
        live = any(not e.is_constant for e in task.circuit.parameter_exprs())
        if not live or (task.varying is not None and not any(task.varying)):
            return 1
        return int(task.theta.shape[0])

    def plan(self, tasks: Sequence[Task], shots: Sequence[int | None]) -> tuple[int, list[int]]:
        return 1, [self._rows(t) for t in tasks]

    def submit(
        self, tasks: Sequence[Task], shots: Sequence[int | None], seed: int | None
    ) -> Submission:
        qml = _require()
        tapes = []
        for t, s in zip(tasks, shots, strict=True):
            theta = t.theta.detach().to("cpu", torch.float64).numpy()[: self._rows(t)]
            if t.circuit.is_dynamic:
                tapes.append(dynamic_tape(t, theta, s))
                continue
            ops = to_pennylane_ops(t.circuit, theta)
            ops = [qml.Identity(w) for w in range(t.circuit.n_qubits)] + ops
            if isinstance(t.measurement, Sample):
                meas = [qml.sample(wires=list(t.measurement.wires))]
            else:
                meas = [qml.expval(to_pennylane_observable(o)) for o in t.measurement.observables]
            tapes.append(qml.tape.QuantumScript(ops, meas, shots=s))
        dev = (
            qml.device(self.device, seed=seed, **self.device_options)
            if seed is not None
            else qml.device(self.device, **self.device_options)
        )
        results = qml.execute(tapes, dev, diff_method=None)
        outs = []
        for t, tape, res in zip(tasks, tapes, results, strict=True):
            rows = self._rows(t)
            if len(tape.measurements) == 1:
                res = (res,)
            if isinstance(t.measurement, Sample) and t.circuit.is_dynamic:
                v = torch.from_numpy(_record(res, rows, t.circuit)).to(torch.int64)
            elif isinstance(t.measurement, Sample):
                bits = np.asarray(res[0]).reshape(rows, -1, len(t.measurement.wires))
                v = torch.from_numpy(bits)
                v = v.to(torch.int64)
            else:
                cols = [np.broadcast_to(np.asarray(r, dtype=np.float64), (rows,)) for r in res]
                v = torch.from_numpy(np.stack(cols, axis=-1)).to(real_dtype(t.dtype))
            full = int(t.theta.shape[0])
            outs.append(v.expand(full, *v.shape[1:]).contiguous() if rows != full else v)
        return Submission(outs)


def _gates(circuit: Circuit) -> list[Any]:
    out: list[Any] = []
    for op in circuit.ops:
        if isinstance(op, Conditional):
            out.extend(op.body)
        elif not isinstance(op, Measure | Reset):
            out.append(op)
    return out


def _record(res: Sequence[Any], rows: int, circuit: Circuit) -> np.ndarray:
    """``(rows, shots, columns)``: the samples of each written classical bit (zeros for a bit
    never written), then the readout's."""
    written = {op.bit for op in circuit.ops if isinstance(op, Measure)}
    found = iter(res)
    cols = [np.asarray(next(found)).reshape(rows, -1, 1) if b in written else None
            for b in circuit.clbits]  # fmt: skip
    readout = [np.asarray(r).reshape(rows, -1, np.asarray(r).shape[-1]) for r in found]
    shots = next(c for c in cols + readout if c is not None).shape[1]
    cols = [np.zeros((rows, shots, 1), np.int64) if c is None else c for c in cols]
    return np.concatenate(cols + readout, axis=-1)
