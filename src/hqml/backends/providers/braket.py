"""``braket:<device>``: Amazon Braket through ``amazon-braket-sdk``.

Devices: the local simulators ``braket_sv`` and ``braket_dm`` (offline), and managed devices by
ARN (``braket:arn:aws:braket:...``) when AWS credentials exist (same code path).

Braket orders qubits as hqml does (qubit 0 is the most significant bit of a state and of a gate
matrix), so wires, Pauli words and matrices pass through unchanged. Every non-constant gate
parameter becomes a ``FreeParameter`` ``t_<col>``; with shots, all rows of all tasks of a call
go in one **program set** (one quantum task: a ``CircuitBinding`` per task, its rows as input
sets, its Pauli words as observables), so a mini-batch and its whole gradient cost one task each,
split into as few program sets as the device's limits allow (executables and total shots per
program set, from its properties). A device without program sets gets one ``run_batch`` of one
task per executable. Exact values (``shots=None``, local simulators only) run as one
``run_batch`` of one task per row.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ...circuit.circuit import Circuit
from ...circuit.gates import ControlledGate, real_dtype
from ..base import Expval, Sample, Task
from .base import ProviderBackend, ProviderCapabilities, Submission
from .errors import CredentialsMissing, UnsupportedRequest

# hqml gate name -> Braket Circuit method (called as method(*wires, *params))
_NAMED = {
    "id": "i", "h": "h", "x": "x", "y": "y", "z": "z", "s": "s", "sdg": "si", "t": "t",
    "tdg": "ti", "sx": "v", "sxdg": "vi", "rx": "rx", "ry": "ry", "rz": "rz", "p": "phaseshift",
    "u": "u", "swap": "swap", "iswap": "iswap", "rxx": "xx", "ryy": "yy", "rzz": "zz",
    "cx": "cnot", "cy": "cy", "cz": "cz", "cp": "cphaseshift", "ccx": "ccnot", "cswap": "cswap",
}  # fmt: skip
LOCAL = ("braket_sv", "braket_dm")
PROGRAM_SET = "braket.ir.openqasm.program_set"


def _require() -> None:
    try:
        import braket.circuits  # noqa: F401
    except ModuleNotFoundError as e:
        raise ImportError(
            f"braket backends need {e.name!r}: pip install 'hqml[hardware]'"
        ) from None


def _words(observables: tuple[Any, ...]) -> list[tuple]:
    """The distinct non-identity Pauli words of the observables, in first-seen order."""
    return list(dict.fromkeys(w for o in observables for w in o.terms if w))


def to_braket(circuit: Circuit) -> Any:
    """A Braket ``Circuit`` with ``FreeParameter("t_<col>")`` for non-constant parameters and an
    identity on every wire (Braket measures only the qubits a circuit uses)."""
    from braket.circuits import Circuit as BraketCircuit
    from braket.circuits import FreeParameter

    out = BraketCircuit()
    for q in range(circuit.n_qubits):
        out.i(q)
    col = 0
    for op in circuit.ops:
        params = [
            float(p) if p.is_constant else FreeParameter(f"t_{col + i}")
            for i, p in enumerate(op.params)
        ]
        col += len(op.params)
        gate, wires = op.gate, list(op.wires)
        if gate.name in _NAMED:
            getattr(out, _NAMED[gate.name])(*wires, *params)
        elif isinstance(gate, ControlledGate) and gate.base.name in _NAMED:
            k = gate.num_controls
            getattr(out, _NAMED[gate.base.name])(*wires[k:], *params, control=wires[:k])
        elif all(isinstance(p, float) for p in params):
            vals = torch.tensor(params, dtype=torch.float64) if params else None
            mat = gate.matrix(vals, dtype=torch.complex128).detach().numpy()
            out.unitary(matrix=mat, targets=wires)
        else:
            raise UnsupportedRequest(
                f"gate {gate.name!r} with symbolic parameters has no Braket translation;"
                " bind its parameters or use built-in gates"
            )
    return out


def _observable(word: tuple) -> Any:
    from braket.circuits import observables as obs

    out = None
    for wire, p in word:
        factor = getattr(obs, p)(wire)
        out = factor if out is None else out @ factor
    return out


@functools.cache
def _local(name: str) -> Any:
    from braket.devices import LocalSimulator

    return LocalSimulator(name)


def _aws(arn: str) -> Any:
    import boto3
    from braket.aws import AwsDevice

    if boto3.Session().get_credentials() is None:
        raise CredentialsMissing(
            f"braket:{arn}",
            "no AWS credentials found",
            "configure them (aws configure, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY);"
            " offline, use 'braket:braket_sv' or 'braket:braket_dm'",
        )
    return AwsDevice(arn)


class BraketBackend(ProviderBackend):
    """A Braket device; see the module's docstring. Options as :class:`ProviderBackend`."""

    provider = "braket"

    def __init__(self, device: str = "braket_sv", **options: Any):
        _require()
        super().__init__(device, **options)
        self.local = device in LOCAL
        if not self.local and not device.startswith("arn:"):
            raise ValueError(
                f"unknown Braket device {device!r}: use {', '.join(LOCAL)} or a device ARN"
            )
        self.backend = _local(device) if self.local else _aws(device)
        props = self.backend.properties
        action = next(iter(props.action.values()))
        self.capabilities = ProviderCapabilities(
            max_qubits=int(props.paradigm.qubitCount),
            shots_only=not self.local,
            measurements=frozenset({"expval", "sample"}),
            exact=self.local,
            native_gates=frozenset(getattr(action, "supportedOperations", ()) or ()),
        )
        ps = next((v for k, v in props.action.items() if getattr(k, "value", k) == PROGRAM_SET),
                  None)  # fmt: skip
        # (executables, total shots) one program set takes; None: no program sets
        self.program_set_limits = (
            None if ps is None else (int(ps.maximumExecutables), int(ps.maximumTotalShots))
        )

    def check_gates(self, task: Task) -> None:
        shots, limits = self.task_shots(task), self.program_set_limits
        if shots is not None and limits is not None:
            per_row, cap = self._per_row(task), min(limits[0], limits[1] // shots)
            if per_row > cap:
                raise UnsupportedRequest(
                    f"{self.name} takes {limits[0]} executables and {limits[1]} shots per program"
                    f" set; one row of this request needs {per_row} executables of {shots} shots:"
                    " use fewer shots or fewer distinct Pauli words"
                )
        for op in task.circuit.ops:
            g = op.gate
            named = g.name in _NAMED or (isinstance(g, ControlledGate) and g.base.name in _NAMED)
            if not named and not all(p.is_constant for p in op.params):
                raise UnsupportedRequest(
                    f"{self.name} cannot run gate {g.name!r} with symbolic parameters (no Braket"
                    " translation); use built-in gates or bind its parameters"
                )

    def _rows(self, task: Task) -> int:
        if all(e.is_constant for e in task.circuit.parameter_exprs()):
            return 1
        if task.varying is not None and not any(task.varying):
            return 1
        return int(task.theta.shape[0])

    def _executables(self, task: Task, exact: bool = False) -> int:
        """Circuits run for ``task``: one per row exactly; with shots, one per row and Pauli
        word (a program set measures each observable by itself)."""
        if exact or isinstance(task.measurement, Sample):
            return self._rows(task)
        return self._rows(task) * max(1, len(_words(task.measurement.observables)))

    def _per_row(self, task: Task) -> int:
        if isinstance(task.measurement, Sample):
            return 1
        return max(1, len(_words(task.measurement.observables)))

    def _sets(self, tasks: Sequence[Task], shots: Sequence[int | None]) -> list[list[tuple]]:
        """``(task, first row, end row)`` pieces of the tasks with shots, packed into as few
        program sets as the device's limits allow (one piece per set without program sets)."""
        idx = [i for i, s in enumerate(shots) if s is not None]
        if len({shots[i] for i in idx}) > 1:
            raise UnsupportedRequest(
                f"{self.name}: one call takes one shot count, got {sorted({shots[i] for i in idx})}"
            )
        if not idx:
            return []
        limits = self.program_set_limits
        cap = 1 if limits is None else min(limits[0], limits[1] // shots[idx[0]])
        sets: list[list[tuple]] = [[]]
        used = 0
        for i in idx:
            per_row, rows = self._per_row(tasks[i]), self._rows(tasks[i])
            step = max(1, cap // per_row)
            for a in range(0, rows, step):
                b = min(rows, a + step)
                if sets[-1] and used + (b - a) * per_row > cap:
                    sets.append([])
                    used = 0
                sets[-1].append((i, a, b))
                used += (b - a) * per_row
        return sets

    def plan(self, tasks: Sequence[Task], shots: Sequence[int | None]) -> tuple[int, list[int]]:
        circuits = [self._executables(t, s is None) for t, s in zip(tasks, shots, strict=True)]
        # a Braket task per exact row; with shots, one per program set (or, on a device without
        # program sets, one per executable)
        jobs = sum(c for c, s in zip(circuits, shots, strict=True) if s is None)
        if self.program_set_limits is None:
            return jobs + sum(c for c, s in zip(circuits, shots, strict=True) if s), circuits
        return jobs + len(self._sets(tasks, shots)), circuits

    def _inputs(self, task: Task, a: int = 0, b: int | None = None) -> dict[str, list[float]]:
        theta = task.theta.detach().to("cpu", torch.float64).numpy()[: self._rows(task)][a:b]
        cols = [i for i, e in enumerate(task.circuit.parameter_exprs()) if not e.is_constant]
        return {f"t_{c}": theta[:, c].tolist() for c in cols}

    def submit(
        self, tasks: Sequence[Task], shots: Sequence[int | None], seed: int | None
    ) -> Submission:
        outs: list[torch.Tensor | None] = [None] * len(tasks)
        ids: list[str] = []
        for i, (t, s) in enumerate(zip(tasks, shots, strict=True)):
            if s is None:
                outs[i] = self._exact(t, ids)
        parts: dict[int, list[torch.Tensor]] = {}
        run = self._program_set if self.program_set_limits is not None else self._batch
        for pieces in self._sets(tasks, shots):
            s = shots[pieces[0][0]]
            for (i, _, _), v in zip(pieces, run(tasks, pieces, s, ids), strict=True):
                parts.setdefault(i, []).append(v)
        for i, vs in parts.items():
            outs[i] = torch.cat(vs)
        final = []
        for t, v in zip(tasks, outs, strict=True):
            rows = int(t.theta.shape[0])
            v = v.expand(rows, *v.shape[1:]) if v.shape[0] != rows else v
            dt = torch.int64 if isinstance(t.measurement, Sample) else real_dtype(t.dtype)
            final.append(v.to(dt).contiguous())
        return Submission(final, tuple(ids))

    def _combine(self, task: Task, word_values: np.ndarray) -> torch.Tensor:
        """(rows, words) expectation values -> (rows, K) of the task's PauliSums."""
        words = {w: j for j, w in enumerate(_words(task.measurement.observables))}
        cols = []
        for o in task.measurement.observables:
            col = np.zeros(word_values.shape[0])
            for w, c in o.terms.items():
                col += c.real * (word_values[:, words[w]] if w else 1.0)
            cols.append(col)
        return torch.from_numpy(np.stack(cols, axis=-1))

    def _exact(self, task: Task, ids: list[str]) -> torch.Tensor:
        circ = to_braket(task.circuit)
        words = _words(task.measurement.observables)
        for w in words:
            circ.expectation(_observable(w))
        if not words:
            circ.expectation(_observable(((0, "Z"),)))
        inputs = self._inputs(task)
        rows = self._rows(task)
        batch = self.backend.run_batch(
            circ, shots=0, inputs=[{k: v[r] for k, v in inputs.items()} for r in range(rows)]
        )
        results = batch.results()
        ids += [str(r.task_metadata.id) for r in results]
        vals = np.array([[float(np.real(v)) for v in r.values[: len(words)]] for r in results])
        return self._combine(task, vals.reshape(rows, len(words)))

    def _program_set(
        self, tasks: Sequence[Task], pieces: list[tuple], shots: int, ids: list[str]
    ) -> list[torch.Tensor]:
        """One program set (one Braket task) of the rows ``a:b`` of each piece's task."""
        from braket.program_sets import CircuitBinding, ProgramSet

        bindings, total = [], 0
        for i, a, b in pieces:
            t = tasks[i]
            inputs = self._inputs(t, a, b) or None
            circ = to_braket(t.circuit)
            if isinstance(t.measurement, Expval):
                words = _words(t.measurement.observables) or [((0, "Z"),)]  # a placeholder
                bindings.append(CircuitBinding(circ, inputs, [_observable(w) for w in words]))
            else:
                bindings.append(CircuitBinding(circ, inputs) if inputs else circ)
            total += (b - a) * self._per_row(t)
        task = self.backend.run(
            ProgramSet(bindings, shots_per_executable=shots), shots=shots * total
        )
        result = task.result()
        ids.append(str(task.id))
        outs = []
        for (i, a, b), entry in zip(pieces, result.entries, strict=True):
            t, rows = tasks[i], b - a
            if isinstance(t.measurement, Sample):
                bits = np.stack([np.asarray(m.measurements) for m in entry.entries])
                picked = bits[:, :, list(t.measurement.wires)].astype(np.int64)
                outs.append(torch.from_numpy(picked))
            else:
                n_words = max(1, len(_words(t.measurement.observables)))
                vals = np.array([float(m.expectation) for m in entry.entries])
                outs.append(self._combine(t, vals.reshape(rows, n_words)))
        return outs

    def _batch(
        self, tasks: Sequence[Task], pieces: list[tuple], shots: int, ids: list[str]
    ) -> list[torch.Tensor]:
        """A device without program sets: one ``run_batch`` of one task per executable (a row
        and one Pauli word, or a row's samples)."""
        circuits, inputs = [], []
        for i, a, b in pieces:
            t = tasks[i]
            base, given = to_braket(t.circuit), self._inputs(t, a, b)
            words = _words(t.measurement.observables) if isinstance(t.measurement, Expval) else []
            for r in range(b - a):
                for w in words or [None]:
                    circ = base.copy()
                    if isinstance(t.measurement, Expval):
                        circ.expectation(_observable(w or ((0, "Z"),)))
                    circuits.append(circ)
                    inputs.append({k: v[r] for k, v in given.items()})
        results = self.backend.run_batch(circuits, shots=shots, inputs=inputs).results()
        ids += [str(r.task_metadata.id) for r in results]
        found, outs = iter(results), []
        for i, a, b in pieces:
            t = tasks[i]
            if isinstance(t.measurement, Sample):
                bits = np.stack([np.asarray(next(found).measurements) for _ in range(b - a)])
                outs.append(
                    torch.from_numpy(bits[:, :, list(t.measurement.wires)].astype(np.int64))
                )
                continue
            n = max(1, len(_words(t.measurement.observables)))
            vals = np.array([float(np.real(next(found).values[0])) for _ in range((b - a) * n)])
            outs.append(self._combine(t, vals.reshape(b - a, n)))
        return outs
