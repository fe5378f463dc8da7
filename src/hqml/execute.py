"""The front door: ``expval``, ``probs``, ``sample``, ``state``.

A call is a request (:mod:`hqml.request`): its first call checks the inputs and weights
against the circuit, binds the gate parameters, resolves the differentiation method and asks
the backend for its runner. Those decisions are kept in the circuit's memo under the request's
key, so a repeated call (a training step) only binds theta from its tensors, builds its task and
runs it: no backend look-up, engine choice or observable reading per call.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .backends.base import Backend, Expval, Measurement, Probs, Sample, State, Task
from .circuit.circuit import Circuit
from .circuit.gates import real_dtype
from .circuit.observables import PauliSum, as_observables
from .circuit.params import Link, default_real_dtype
from .grad.adjoint import Adjoint, adjoint
from .grad.shift import shifted
from .request import AutoBackendWarning, Request, build, generator

__all__ = ["AutoBackendWarning", "expval", "probs", "sample", "state"]

_COMPLEX = (torch.complex64, torch.complex128)
_REQUESTS = ("hqml.execute", "requests")  # the circuit's memo entry: request key -> Request
_MAX_REQUESTS = 64  # requests kept per circuit (beyond, the table starts again)


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
    key = _key(measurement, inputs, weights, backend, diff_method, shots, seed, dtype, device,
               diff_options, noise_model)  # fmt: skip
    if key is not None:
        req = getattr(circuit, "memo", {}).get(_REQUESTS, {}).get(key)
        if req is not None:  # a repeated request: bind theta and run
            given = [*(inputs or {}).values(), *(weights or {}).values()]
            return _call(req, given, seed), req.batched
    req, task, link = build(circuit, measurement, inputs, weights, backend, diff_method, shots,
                            seed, dtype, device, diff_options, noise_model)  # fmt: skip
    if key is not None and req.backend.capabilities.reusable:
        table = circuit.cached(_REQUESTS, dict)
        if len(table) >= _MAX_REQUESTS:
            table.clear()
        table[key] = req
    if req.prepared is not None:
        return _call_prepared(req, list(link.tensors) if link else []), req.batched
    return _dispatch(req, task, link), req.batched


_run_uncompiled = torch.compiler.disable(_run)


def _key(
    m: Measurement,
    inputs: Mapping[str, Any] | None,
    weights: Mapping[str, Any] | None,
    backend: Any,
    *options: Any,
) -> tuple | None:
    """The request's key, or ``None`` for a call that is not kept: a noise model (mutable), a
    value that is not a tensor, torch.func transforms (wrapped tensors). The key holds the
    observables' terms (the request runs its own copies of them), every option, the engine
    switches and each tensor's name, shape, dtype, device, layout and requires_grad."""
    if options[-1] is not None or torch._C._are_functorch_transforms_active():
        return None
    try:
        if type(m) is Expval:
            mk: Any = tuple(tuple(o.terms.items()) for o in m.observables)
        else:
            mk = (type(m), getattr(m, "wires", None))
        sig: list[Any] = [
            mk,
            backend if isinstance(backend, str) else id(backend),
            options[:-2],
            None if options[-2] is None else tuple(sorted(options[-2].items())),
            os.environ.get("HQML_SMALL"),
            os.environ.get("HQML_NATIVE"),
            os.environ.get("HQML_FASTCALL"),
        ]
        for table in (inputs or {}, None, weights or {}):
            if table is None:
                sig.append("|")
                continue
            for name, t in table.items():
                sig.append((name, t.shape, t.dtype, t.device, t.layout, t.requires_grad))
        key = tuple(sig)
        hash(key)
    except (AttributeError, TypeError):
        return None
    return key


def _call(req: Request, given: list[torch.Tensor], seed: Any) -> torch.Tensor:
    """A repeated request's values for the given tensors (inputs, then weights, as given)."""
    tensors = given if req.order is None else [given[i] for i in req.order]
    if req.prepared is not None:
        return _call_prepared(req, tensors)
    theta, link = req.binder(tensors)
    t = req.task
    task = Task(t.circuit, theta, t.measurement, t.dtype, t.shots,
                t.generator if seed is None else generator(seed), t.varying, t.options,
                t.needs_grad)  # fmt: skip
    return _dispatch(req, task, link)


def _call_prepared(req: Request, tensors: list[torch.Tensor]) -> torch.Tensor:
    """The values of the backend's prepared call, differentiable to ``tensors`` (adjoint)."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return Adjoint.apply(req.prepared, *tensors)
    return req.prepared.forward(tensors)[0]


def _dispatch(req: Request, task: Task, link: Link | None) -> torch.Tensor:
    """Run ``task`` with the request's differentiation method wired into autograd."""
    method = req.method
    if method == "adjoint" and torch._C._are_functorch_transforms_active():
        # torch.func (grad, jacrev, vmap): theta's tensors may be wrapped; the adjoint Function
        # unwraps them (its vmap rule) and differentiates to theta, whose graph autograd has
        return adjoint(req.backend, task)
    if method == "none" or not (torch.is_grad_enabled() and task.theta.requires_grad):
        with torch.no_grad():
            return req.plain.forward(task, False)[0]
    if method == "backprop":
        return req.runner.forward(task, False)[0]
    if method == "adjoint":
        return adjoint(req.backend, task, link, req.runner)
    return shifted(req.backend, task, method, req.options)


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
    if isinstance(observables, PauliSum):
        obs, single = (observables,), True
    else:  # each one is checked when the request is first made (hqml.request)
        try:
            obs, single = tuple(observables), False
        except TypeError:
            obs, single = tuple(as_observables(observables)[0]), False
    out, batched = _run(
        circuit,
        Expval(obs),
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
