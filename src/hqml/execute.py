"""The front door: ``expval``, ``probs``, ``sample``, ``state``.

Each call checks the inputs and weights against the circuit, evaluates the gate parameters
(batched, differentiable), hands one task to the backend and wires the chosen differentiation
method into autograd.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .backends.base import Backend, Expval, Measurement, Probs, Sample, State, Task
from .backends.registry import get_backend
from .circuit.circuit import Circuit
from .circuit.gates import complex_dtype, real_dtype
from .circuit.observables import PauliSum, as_observables
from .circuit.params import bind_parameters, default_real_dtype
from .grad import execute_task, run_prepared
from .limits import check_state_memory

_COMPLEX = (torch.complex64, torch.complex128)


def _generator(seed: int | torch.Generator | None) -> torch.Generator | None:
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int or a torch.Generator, got {seed!r}")
    return torch.Generator().manual_seed(int(seed))


def _check_wires(circuit: Circuit, wires: Sequence[int] | None, what: str) -> tuple[int, ...]:
    if wires is None:
        return tuple(range(circuit.n_qubits))
    wires = (wires,) if isinstance(wires, numbers.Integral) else tuple(wires)
    for w in wires:
        if (
            isinstance(w, bool)
            or not isinstance(w, numbers.Integral)
            or not 0 <= w < circuit.n_qubits
        ):
            raise ValueError(
                f"{what}: wire {w!r} out of range for a {circuit.n_qubits}-qubit circuit"
            )
    if len(set(wires)) != len(wires):
        raise ValueError(f"{what}: wires must be distinct, got {list(wires)}")
    return tuple(int(w) for w in wires)


def _run(
    circuit: Circuit,
    measurement: Measurement,
    *,
    inputs: Mapping[str, Any] | None,
    weights: Mapping[str, Any] | None,
    backend: str | Backend,
    diff_method: str,
    shots: int | None,
    seed: int | torch.Generator | None,
    dtype: torch.dtype | None,
    device: Any,
    diff_options: Mapping[str, Any] | None,
    noise_model: Any = None,
) -> tuple[torch.Tensor, bool]:
    if torch.compiler.is_compiling():
        # torch.compile: the quantum call is one graph break (docs/architecture.md): dynamo
        # traces neither the binding nor the simulator's Python; autograd flows as in eager mode
        return _run_uncompiled(
            circuit, measurement, inputs=inputs, weights=weights, backend=backend,
            diff_method=diff_method, shots=shots, seed=seed, dtype=dtype, device=device,
            diff_options=diff_options, noise_model=noise_model,
        )  # fmt: skip
    if not isinstance(circuit, Circuit):
        raise TypeError(f"expected an hqml.Circuit, got {type(circuit).__name__}")
    if dtype is not None and dtype not in _COMPLEX:
        raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
    if shots is not None and (
        isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1
    ):
        raise ValueError(f"shots must be a positive integer or None, got {shots!r}")
    auto = isinstance(backend, str) and backend == "auto"
    be = get_backend(("mps" if noise_model is None else "statevector") if auto else backend)
    if circuit.n_qubits > be.capabilities.max_qubits:
        raise ValueError(
            f"backend {be.name!r} simulates at most {be.capabilities.max_qubits} qubits;"
            f" the circuit has {circuit.n_qubits}"
            + ("; use backend='mps' (or 'auto')" if be.capabilities.holds_state else "")
        )
    if circuit.is_dynamic and not be.capabilities.dynamic:
        raise ValueError(
            f"backend {be.name!r} cannot run dynamic circuits (mid-circuit measure, reset or"
            f" classical conditions); {be.dynamic_fix()}"
        )
    options: dict[str, Any] = {}
    if noise_model is not None:
        if not be.capabilities.supports_noise:
            raise ValueError(
                f"backend {be.name!r} does not simulate noise; use backend="
                "'density_matrix' (or 'statevector' trajectories) with noise_model="
            )
        options["noise_model"] = noise_model
    if not options and shots is None and seed is None and not diff_options:
        prepared = be.prepare(circuit, measurement, inputs, weights, diff_method, dtype, device)
        if prepared is not None:  # a repeated request the backend prepared: its values
            call, tensors = prepared
            return run_prepared(call, tensors), call.batched
    b = bind_parameters(circuit, inputs, weights, real_dtype(dtype) if dtype else None, device)
    cdt = dtype or complex_dtype(b.theta.dtype)
    if auto and noise_model is None:
        be = _choose_auto(circuit.n_qubits, b.theta.shape[0], cdt, b.theta.device)
    if be.capabilities.holds_state:
        density = be.name == "density_matrix"
        rows = b.theta.shape[0]
        check_state_memory(circuit.n_qubits, rows, cdt, b.theta.device, density=density)
    task = Task(
        circuit,
        b.theta,
        measurement,
        cdt,
        shots,
        _generator(seed),
        b.varying,
        options,
        b.needs_grad,
    )
    return execute_task(be, task, diff_method, dict(diff_options or {}), b.link), b.batched


_run_uncompiled = torch.compiler.disable(_run)


class AutoBackendWarning(UserWarning):
    """``backend="auto"`` chose the MPS backend because a statevector would not fit."""


def _choose_auto(n: int, rows: int, dtype: torch.dtype, device: Any) -> Backend:
    """``backend="auto"``: the statevector when its states fit in memory, else the MPS backend
    (with a warning that says so and why)."""
    try:
        check_state_memory(n, rows, dtype, device)
    except MemoryError as e:
        be = get_backend("mps")
        warnings.warn(
            f"backend='auto' uses 'mps' (max_bond={be.options.max_bond}, truncation reported"
            f" on result.truncation): {str(e).split(':')[0]}",
            AutoBackendWarning,
            stacklevel=4,
        )
        return be
    return get_backend("statevector")


def _carry(src: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out`` (a view of ``src``) with the backend's report on ``src`` (the MPS truncation)."""
    info = getattr(src, "truncation", None)
    if info is not None and out is not src:
        out.truncation = info  # type: ignore[attr-defined]
    return out


def expval(
    circuit: Circuit,
    observables: PauliSum | Sequence[PauliSum],
    *,
    inputs: Mapping[str, Any] | None = None,
    weights: Mapping[str, Any] | None = None,
    backend: str | Backend = "statevector",
    diff_method: str = "best",
    shots: int | None = None,
    seed: int | torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: Any = None,
    diff_options: Mapping[str, Any] | None = None,
    noise_model: Any = None,
) -> torch.Tensor:
    """Expectation values of observables.

    Args:
        circuit: the circuit.
        observables: one ``PauliSum`` or a list of them.
        inputs: per-sample values, ``name -> (B, *shape)`` (or ``shape`` for one sample).
        weights: ``name -> shape`` tensors, shared across the batch.
        backend: a backend name or instance.
        diff_method: "best", "backprop", "adjoint", "parameter-shift", "finite-diff" or "spsa".
        shots: ``None`` for exact values, an int for estimates from that many samples.
        seed: seeds the sampling (and SPSA directions).
        dtype: complex64 (default) or complex128 (default when a given tensor is float64).
        diff_options: e.g. ``{"h": 1e-3}`` for finite differences, ``{"num_directions": 4}``.
        noise_model: a ``hqml.noise.NoiseModel`` (backends that simulate noise only).

    Returns:
        ``(B, K)`` for a batch and a list of K observables; the batch dimension is absent when no
        batch was given, and the observable dimension when a single observable was given.

    >>> import hqml
    >>> c = hqml.Circuit(1).ry(3.141592653589793 / 2, 0)
    >>> round(float(hqml.expval(c, hqml.X(0))), 5)
    1.0
    """
    obs, single = as_observables(observables)
    for o in obs:
        if o.wires and max(o.wires) >= circuit.n_qubits:
            raise ValueError(
                f"observable {o!r} acts on wire {max(o.wires)}, outside the"
                f" {circuit.n_qubits}-qubit circuit"
            )
    out, batched = _run(
        circuit,
        Expval(tuple(obs)),
        inputs=inputs,
        weights=weights,
        backend=backend,
        diff_method=diff_method,
        shots=shots,
        seed=seed,
        dtype=dtype,
        device=device,
        diff_options=diff_options,
        noise_model=noise_model,
    )
    res = out if batched else out[0]
    return _carry(out, res[..., 0] if single else res)


def probs(
    circuit: Circuit,
    wires: Sequence[int] | int | None = None,
    *,
    inputs: Mapping[str, Any] | None = None,
    weights: Mapping[str, Any] | None = None,
    backend: str | Backend = "statevector",
    diff_method: str = "best",
    shots: int | None = None,
    seed: int | torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: Any = None,
    diff_options: Mapping[str, Any] | None = None,
    noise_model: Any = None,
) -> torch.Tensor:
    """Probabilities of the basis states of ``wires`` (all wires by default), ``(B, 2**k)``.

    With ``shots``, the empirical frequencies of that many samples.
    """
    wires_t = _check_wires(circuit, wires, "probs")
    if shots is not None:
        bits = sample(
            circuit,
            shots,
            wires_t,
            inputs=inputs,
            weights=weights,
            backend=backend,
            seed=seed,
            dtype=dtype,
            device=device,
            noise_model=noise_model,
        )
        k = len(wires_t)
        bits = bits[..., bits.shape[-1] - k :]  # a dynamic circuit's record comes first
        weights_ = 2 ** torch.arange(k - 1, -1, -1, device=bits.device)
        idx = (bits * weights_).sum(-1)
        counts = torch.nn.functional.one_hot(idx, 2**k).sum(-2)
        rdt = real_dtype(dtype) if dtype else default_real_dtype(inputs, weights)
        return counts.to(rdt) / shots
    out, batched = _run(
        circuit,
        Probs(wires_t),
        inputs=inputs,
        weights=weights,
        backend=backend,
        diff_method=diff_method,
        shots=None,
        seed=seed,
        dtype=dtype,
        device=device,
        diff_options=diff_options,
        noise_model=noise_model,
    )
    return out if batched else _carry(out, out[0])


def sample(
    circuit: Circuit,
    shots: int,
    wires: Sequence[int] | int | None = None,
    *,
    inputs: Mapping[str, Any] | None = None,
    weights: Mapping[str, Any] | None = None,
    backend: str | Backend = "statevector",
    seed: int | torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: Any = None,
    noise_model: Any = None,
) -> torch.Tensor:
    """``shots`` measured bitstrings of ``wires``: ``(B, shots, k)`` of 0/1 (int64).

    Bit ``j`` of a sample is the outcome of ``wires[j]``. A dynamic circuit (mid-circuit
    measurements) returns its classical record first: ``(B, shots, m + k)``, column ``j < m``
    the classical bit ``circuit.clbits[j]``; there ``wires=None`` means no final readout
    (the record only, as Qiskit returns; all wires when it has no classical bits), and
    ``wires`` adds the final readout of those wires.
    """
    if shots is None:
        raise ValueError("sample needs shots (a positive integer)")
    record_only = isinstance(circuit, Circuit) and circuit.is_dynamic and circuit.cregs
    wires_t = () if record_only and wires is None else _check_wires(circuit, wires, "sample")
    out, batched = _run(
        circuit,
        Sample(wires_t),
        inputs=inputs,
        weights=weights,
        backend=backend,
        diff_method="best",
        shots=shots,
        seed=seed,
        dtype=dtype,
        device=device,
        diff_options=None,
        noise_model=noise_model,
    )
    return out if batched else _carry(out, out[0])


def state(
    circuit: Circuit,
    *,
    inputs: Mapping[str, Any] | None = None,
    weights: Mapping[str, Any] | None = None,
    backend: str | Backend = "statevector",
    diff_method: str = "best",
    dtype: torch.dtype | None = None,
    device: Any = None,
    noise_model: Any = None,
) -> torch.Tensor:
    """The final statevector ``(B, 2**n)`` (``(2**n,)`` without a batch); wire 0 is the MSB."""
    out, batched = _run(
        circuit,
        State(),
        inputs=inputs,
        weights=weights,
        backend=backend,
        diff_method=diff_method,
        shots=None,
        seed=None,
        dtype=dtype,
        device=device,
        diff_options=None,
        noise_model=noise_model,
    )
    return out if batched else _carry(out, out[0])


def overlaps(
    circuit: Circuit,
    inputs_bra: Mapping[str, Any],
    inputs_ket: Mapping[str, Any],
    *,
    weights: Mapping[str, Any] | None = None,
    backend: str | Backend = "statevector",
    dtype: torch.dtype | None = None,
    device: Any = None,
) -> torch.Tensor:
    """``<psi(x_i)|psi(y_j)>`` for the rows of two input batches: ``(N, M)`` complex.

    A backend that holds no statevector (``"mps"``) contracts the two states directly, so the
    Gram matrix of a 100-qubit feature map needs no ``2^n`` vector. Differentiable by backprop.
    """
    be = get_backend(backend)
    if dtype is not None and dtype not in _COMPLEX:
        raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
    rdt = real_dtype(dtype) if dtype else None
    tasks = []
    for inputs in (inputs_bra, inputs_ket):
        b = bind_parameters(circuit, inputs, weights, rdt, device)
        cdt = dtype or complex_dtype(b.theta.dtype)
        if be.capabilities.holds_state:
            check_state_memory(circuit.n_qubits, b.theta.shape[0], cdt, b.theta.device)
        tasks.append(Task(circuit, b.theta, State(), cdt, varying=b.varying))
    out = be.overlaps(tasks[0], tasks[1])
    return _carry(out, out)


def counts(
    circuit: Circuit, shots: int, wires: Sequence[int] | int | None = None, **kwargs: Any
) -> dict[str, int]:
    """Bitstring counts of an unbatched circuit, e.g. ``{"00": 498, "11": 502}`` (wire order).

    A dynamic circuit's keys are its classical record as Qiskit prints it (registers separated
    by spaces, the last declared first, each with its highest bit first), then, when ``wires``
    are given, a space and the final readout of ``wires`` in wire order."""
    bits = sample(circuit, shots, wires, **kwargs)
    if bits.dim() != 2:
        raise ValueError("counts needs one sample, not a batch; use hqml.sample for batches")
    fmt = _record_format(circuit) if circuit.is_dynamic else None
    out: dict[str, int] = {}
    for row in bits.tolist():
        key = "".join(map(str, row)) if fmt is None else fmt(row)
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def _record_format(circuit: Circuit) -> Any:
    spans, start = [], 0
    for size in circuit.cregs.values():
        spans.append((start, size))
        start += size

    def fmt(row: list[int]) -> str:
        groups = ["".join(map(str, row[s : s + k][::-1])) for s, k in reversed(spans)]
        if len(row) > start:
            groups.append("".join(map(str, row[start:])))
        return " ".join(groups)

    return fmt
