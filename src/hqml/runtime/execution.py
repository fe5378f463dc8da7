"""What a worker does with a job: validate its payload (at submission, for clear 4xx errors)
and run it on a backend, returning a JSON-able result with exact tensors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ..backends.base import Backend, Expval, Measurement, Probs, Sample, State, Task
from ..circuit import qasm as qasm_io
from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum
from ..circuit.params import bind_parameters
from ..execute import expval, probs, sample, state
from .cost import (
    MPS_BACKENDS,
    JobRejected,
    Limits,
    amplitudes,
    check_circuit,
    check_parameters,
    check_result,
    check_rows,
    check_shots,
)
from .schemas import CircuitJobRequest
from .wire import parse_dtype, tensor_from_json, tensor_to_json

__all__ = [
    "JobRejected",
    "JobStopped",
    "JobContext",
    "Limits",
    "load_circuit",
    "prepare",
    "run_circuit_job",
]


class JobStopped(Exception):
    """The job was cancelled or ran past its timeout."""


@dataclass
class JobContext:
    """Hooks a running job uses: report progress, ask whether to stop.

    ``report(progress, force=False)`` may drop reports that come too fast (at most one every
    0.1 s is written); ``force=True`` (e.g. at the end of an epoch) is always written.
    """

    report: Callable[..., None]
    should_stop: Callable[[], str | None]  # a reason to stop, or None


def load_circuit(
    circuit: Mapping[str, Any] | str | None, qasm: str | None, limits: Limits | None = None
) -> Circuit:
    """A circuit from hqml JSON or OpenQASM 3 text, within ``limits`` (qubits, gates after
    expansion, reading time); JobRejected with the parser's message."""
    limits = limits or Limits()
    if qasm is not None:
        if len(qasm) > limits.max_qasm_bytes:
            raise JobRejected(
                f"the OpenQASM text has {len(qasm)} characters; this server reads"
                f" at most {limits.max_qasm_bytes} (send larger circuits as hqml"
                " JSON: Circuit.to_json())"
            )
        try:
            c = qasm_io.loads(qasm, max_gates=limits.max_gates, time_limit_s=limits.parse_time_s)
        except (qasm_io.QasmError, ValueError, TypeError, RecursionError) as e:
            raise JobRejected(f"bad OpenQASM: {_short(e)}") from None
    else:
        if (
            isinstance(circuit, Mapping)
            and isinstance(circuit.get("ops"), list)
            and len(circuit["ops"]) > limits.max_gates
        ):
            raise JobRejected(
                f"the circuit has {len(circuit['ops'])} gates; this server accepts"
                f" at most {limits.max_gates}"
            )
        try:
            c = Circuit.from_json(circuit)  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001 - e.g. AttributeError on a malformed gate entry
            raise JobRejected(f"bad circuit: {_short(e)}") from None
    check_circuit(c, limits)
    check_parameters(c, limits)
    return c


def _short(e: BaseException, limit: int = 300) -> str:
    """An exception's message, cut to ``limit`` characters (it may quote the input)."""
    text = str(e) or type(e).__name__
    return text if len(text) <= limit else text[:limit] + "... (cut)"


def _observables(docs: list[Any], n_qubits: int) -> tuple[PauliSum, ...]:
    out = []
    for i, d in enumerate(docs):
        try:
            o = PauliSum.from_json(d)
        except (ValueError, TypeError) as e:
            raise JobRejected(f"observable {i}: {e}") from None
        if o.wires and max(o.wires) >= n_qubits:
            raise JobRejected(
                f"observable {i} acts on wire {max(o.wires)}, outside the {n_qubits}-qubit circuit"
            )
        out.append(o)
    return tuple(out)


def _wires(wires: list[int] | None, n: int) -> tuple[int, ...]:
    if wires is None:
        return tuple(range(n))
    if any(not 0 <= w < n for w in wires) or len(set(wires)) != len(wires):
        raise JobRejected(f"wires {wires} must be distinct and in range(0, {n})")
    return tuple(wires)


def _tensors(values: Mapping[str, Any], dtype: torch.dtype, what: str) -> dict[str, torch.Tensor]:
    out = {}
    for name, v in values.items():
        try:
            t = tensor_from_json(v, dtype)
        except ValueError as e:
            raise JobRejected(f"{what} {name[:40]!r}: {e}") from None
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise JobRejected(f"{what} {name[:40]!r} holds NaN or infinite values")
        out[name] = t
    return out


@dataclass
class PreparedJob:
    """A validated circuit job, ready to run."""

    request: CircuitJobRequest
    circuit: Circuit
    measurement: Measurement
    real_dtype: torch.dtype
    theta: torch.Tensor | None
    cotangent: torch.Tensor | None
    inputs: dict[str, torch.Tensor]
    weights: dict[str, torch.Tensor]
    rows: int


def prepare(req: CircuitJobRequest, limits: Limits, backend: str | None = None) -> PreparedJob:
    """Price and check a circuit job completely (raises JobRejected) and build its tensors.

    ``backend`` is the backend that will run it (a session's, else ``req.backend``): a density
    matrix holds 4^n amplitudes per row.
    """
    backend = backend or req.backend
    c = load_circuit(req.circuit, req.qasm, limits)
    check_shots(req.shots, 1, limits)
    cdt = parse_dtype(req.dtype)
    rdt = torch.float64 if cdt == torch.complex128 else torch.float32
    if req.measurement == "expval":
        m: Measurement = Expval(_observables(req.observables or [], c.n_qubits))
    elif req.measurement == "probs":
        m = Probs(_wires(req.wires, c.n_qubits))
    elif req.measurement == "sample":
        m = Sample(_wires(req.wires, c.n_qubits))
    else:
        m = State()
    theta = cot = None
    inputs, weights = _tensors(req.inputs, rdt, "input"), _tensors(req.weights, rdt, "weight")
    if req.theta is not None:
        theta = _tensors({"theta": req.theta}, rdt, "field")["theta"]
        n_params = len(c.parameter_exprs())
        if theta.dim() != 2 or theta.shape[1] != n_params:
            raise JobRejected(
                f"theta must have shape (B, {n_params}) for this circuit, got {tuple(theta.shape)}"
            )
        if req.varying is not None and len(req.varying) != n_params:
            raise JobRejected(
                f"varying must have {n_params} entries (one per gate parameter),"
                f" got {len(req.varying)}"
            )
        if req.cotangent is not None:
            cot = _tensors({"cotangent": req.cotangent}, rdt, "field")["cotangent"]
            k = _outputs(m)
            if k is None:
                raise JobRejected("a cotangent (VJP) needs measurement 'expval' or 'probs'")
            if (
                cot.dim() != 2
                or cot.shape[1] != k
                or (theta.shape[0] != 1 and cot.shape[0] != theta.shape[0])
            ):
                raise JobRejected(
                    f"cotangent must have shape ({theta.shape[0]}, {k}), got {tuple(cot.shape)}"
                )
        rows = max(theta.shape[0], cot.shape[0] if cot is not None else 1)
    else:
        try:
            rows = bind_parameters(c, inputs, weights, rdt, None).batch_size
        except (ValueError, TypeError, KeyError, IndexError, RuntimeError) as e:
            raise JobRejected(f"bindings: {_short(e)}") from None
    check_rows(rows, c.n_qubits, backend, limits, options=req.options)
    check_shots(req.shots, rows, limits)
    check_result(_result_bytes(req, m, c, rows, theta, backend), limits, req.measurement)
    return PreparedJob(req, c, m, rdt, theta, cot, inputs, weights, rows)


def _outputs(m: Measurement) -> int | None:
    """Values per row of a differentiable measurement (None: not differentiable)."""
    if isinstance(m, Expval):
        return len(m.observables)
    if isinstance(m, Probs):
        return 2 ** len(m.wires)
    return None


def _result_bytes(
    req: CircuitJobRequest,
    m: Measurement,
    c: Circuit,
    rows: int,
    theta: torch.Tensor | None,
    backend: str,
) -> int:
    """Raw bytes of the result tensor, known before the job runs (8 per real number)."""
    if req.cotangent is not None and theta is not None:
        return theta.shape[1] * 8
    if isinstance(m, Expval):
        return rows * len(m.observables) * 8
    if isinstance(m, Probs):
        return rows * 2 ** len(m.wires) * 8
    if isinstance(m, Sample):
        return rows * (req.shots or 1) * len(m.wires) * 8
    dense = 2**c.n_qubits if backend in MPS_BACKENDS else amplitudes(c.n_qubits, backend)
    return rows * dense * 16  # a state: 2^n amplitudes, from an MPS too


def run_circuit_job(job: PreparedJob, backend: Backend) -> dict[str, Any]:
    """Run a prepared job; ``{"value": tensor}`` or ``{"gradient": tensor}`` (exact documents)."""
    req = job.request
    seed = req.seed
    with torch.no_grad():
        if job.theta is not None:
            gen = torch.Generator().manual_seed(seed) if seed is not None else None
            varying = tuple(req.varying) if req.varying is not None else None
            task = Task(
                job.circuit,
                job.theta,
                job.measurement,
                parse_dtype(req.dtype),
                req.shots,
                gen,
                varying,
                dict(req.options),
            )
            if job.cotangent is not None:
                return {"gradient": tensor_to_json(backend.vjp(task, job.cotangent))}
            return {"value": tensor_to_json(backend.execute([task])[0])}
        kw: dict[str, Any] = dict(
            inputs=job.inputs or None,
            weights=job.weights or None,
            backend=backend,
            dtype=parse_dtype(req.dtype),
        )
        m = job.measurement
        if isinstance(m, Expval):
            out = expval(job.circuit, list(m.observables), shots=req.shots, seed=seed, **kw)
        elif isinstance(m, Probs):
            out = probs(job.circuit, list(m.wires), shots=req.shots, seed=seed, **kw)
        elif isinstance(m, Sample):
            out = sample(job.circuit, req.shots or 1, list(m.wires), seed=seed, **kw)
        else:
            out = state(job.circuit, **kw)
    return {"value": tensor_to_json(out)}
