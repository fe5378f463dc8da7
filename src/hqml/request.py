"""What the first call of a request decides, kept for the calls that repeat it.

A request is one circuit called with the same measurement, backend, differentiation method,
shots, dtype and device, and tensors of the same names, shapes, dtypes, devices and
``requires_grad``. Its first call checks everything, binds the gate parameters, prices the
state, resolves the differentiation method, and asks the backend for its runner (the engine
bound to the request) and, where it has one, a prepared call. :class:`Request` holds those
decisions; :mod:`hqml.execute` keeps it in the circuit's memo (emptied by any edit of the
circuit) under the request's key when the backend says one instance may serve every call
(``Capabilities.reusable``), so that later calls only bind theta and run.

The engine table (``hqml.backends.statevector.limits.LIMITS``) is read when a request is first
made: a changed table applies to requests made after the change.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from .backends.base import Backend, Expval, Measurement, Runner, Task
from .backends.registry import get_backend
from .circuit.circuit import Circuit
from .circuit.gates import complex_dtype, real_dtype
from .circuit.observables import PauliSum, as_observables
from .circuit.params import Binder, Link, bind_parameters
from .grad import resolve_diff_method
from .limits import check_state_memory

_COMPLEX = (torch.complex64, torch.complex128)


class AutoBackendWarning(UserWarning):
    """``backend="auto"`` chose the MPS backend because a statevector would not fit."""


@dataclass
class Request:
    """One request's decisions (see the module docstring)."""

    backend: Backend
    task: Task  # the first call's task: later calls replace theta (and the generator)
    method: str  # the resolved differentiation method ("none": nothing can differentiate)
    plain: Runner  # runs the request without differentiation
    runner: Runner  # runs it for ``method`` (autograd records it for "backprop")
    binder: Binder  # given tensors in declaration order -> theta and its link
    order: tuple[int, ...] | None  # given values' positions in declaration order (None: same)
    batched: bool  # whether the request has a batch dimension
    options: dict[str, Any] = field(default_factory=dict)  # diff_options
    prepared: Any = None  # the backend's prepared call (Backend.prepare), or None


def generator(seed: int | torch.Generator | None) -> torch.Generator | None:
    """The generator for ``seed`` (an int seeds a new one)."""
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int or a torch.Generator, got {seed!r}")
    return torch.Generator().manual_seed(int(seed))


def build(
    circuit: Circuit,
    measurement: Measurement,
    inputs: Mapping[str, Any] | None,
    weights: Mapping[str, Any] | None,
    backend: str | Backend,
    diff_method: str,
    shots: int | None,
    seed: int | torch.Generator | None,
    dtype: torch.dtype | None,
    device: Any,
    diff_options: Mapping[str, Any] | None,
    noise_model: Any,
) -> tuple[Request, Task, Link | None]:
    """The request of a call, with the call's own task and link. Every check of the front door
    is here: a request that is kept was checked once."""
    if not isinstance(circuit, Circuit):
        raise TypeError(f"expected an hqml.Circuit, got {type(circuit).__name__}")
    if dtype is not None and dtype not in _COMPLEX:
        raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
    if shots is not None and (
        isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1
    ):
        raise ValueError(f"shots must be a positive integer or None, got {shots!r}")
    _check_observables(circuit, measurement)
    if isinstance(measurement, Expval):  # the request's own: later edits of the caller's
        measurement = Expval(tuple(PauliSum(o.terms) for o in measurement.observables))
    auto = isinstance(backend, str) and backend == "auto"
    be = get_backend(("mps" if noise_model is None else "statevector") if auto else backend)
    options = _check_backend(be, circuit, noise_model)
    b = bind_parameters(circuit, inputs, weights, real_dtype(dtype) if dtype else None, device)
    cdt = dtype or complex_dtype(b.theta.dtype)
    if auto and noise_model is None:
        be = choose_auto(circuit.n_qubits, b.theta.shape[0], cdt, b.theta.device)
    if be.capabilities.holds_state:
        density = be.name == "density_matrix"
        rows = b.theta.shape[0]
        check_state_memory(circuit.n_qubits, rows, cdt, b.theta.device, density=density)
    task = Task(circuit, b.theta, measurement, cdt, shots, generator(seed), b.varying, options,
                b.needs_grad)  # fmt: skip
    method = resolve_diff_method(diff_method, be, task)
    plain = be.runner(task, "none")
    runner = be.runner(task, method) if method in ("adjoint", "backprop") else plain
    prepared = None
    if method == "adjoint" and not options and shots is None and seed is None:
        prepared = be.prepare(task, b.link, method)
    assert b.binder is not None
    template = replace(task, theta=task.theta.detach())  # keeps no graph of the first call
    req = Request(be, template, method, plain, runner, b.binder, _order(circuit, inputs, weights),
                  b.batched, dict(diff_options or {}), prepared)  # fmt: skip
    return req, task, b.link


def _check_observables(circuit: Circuit, m: Measurement) -> None:
    if isinstance(m, Expval):
        as_observables(list(m.observables))  # each a PauliSum, and at least one
    for o in getattr(m, "observables", ()):
        if o.wires and max(o.wires) >= circuit.n_qubits:
            raise ValueError(
                f"observable {o!r} acts on wire {max(o.wires)}, outside the"
                f" {circuit.n_qubits}-qubit circuit"
            )


def _check_backend(be: Backend, circuit: Circuit, noise_model: Any) -> dict[str, Any]:
    """The task options for ``be``, after checking that it can run ``circuit``."""
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
    if noise_model is None:
        return {}
    if not be.capabilities.supports_noise:
        raise ValueError(
            f"backend {be.name!r} does not simulate noise; use backend="
            "'density_matrix' (or 'statevector' trajectories) with noise_model="
        )
    return {"noise_model": noise_model}


def choose_auto(n: int, rows: int, dtype: torch.dtype, device: Any) -> Backend:
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
            stacklevel=5,
        )
        return be
    return get_backend("statevector")


def _order(
    circuit: Circuit, inputs: Mapping[str, Any] | None, weights: Mapping[str, Any] | None
) -> tuple[int, ...] | None:
    """Where each declared value (the circuit's inputs, then its weights) is among the values
    as given (inputs, then weights, each in its dict's order); ``None`` when in place."""
    given = [("input", k) for k in inputs or {}] + [("weight", k) for k in weights or {}]
    pos = {kn: i for i, kn in enumerate(given)}
    declared = [("input", k) for k in circuit.inputs] + [("weight", k) for k in circuit.weights]
    idx = tuple(pos[kn] for kn in declared)
    return None if idx == tuple(range(len(idx))) else idx
