"""Repeated calls of one request, prepared once.

A training loop calls :func:`hqml.expval` with the same circuit, observables and tensor shapes
thousands of times. On a few qubits the compiled interpreter's work is tens of microseconds, and
the generic path around it (checking the inputs, building a task, choosing the engine and the
differentiation method, wrapping the result for autograd) costs as much again. Here the first
call of a request goes the generic way and, when the request suits, records what it decided;
later calls of the same request only gather theta from the given tensors, run the interpreter
forward and, in the backward pass, the adjoint sweep. Values and gradients are those of the
generic path: the same kernels on the same theta.

A request suits when it measures Z-type observables on the statevector backend's compiled
interpreter with the adjoint method (``diff_method="best"`` or ``"adjoint"``), exactly
(no shots, noise or seed), and every gate parameter is a plain input or weight value taken in
declaration order. It is recognised by the circuit (edits clear its cache, and this one with
it), the observables' contents, the backend's options, the dtype and device asked for, the engine
switches (``HQML_SMALL``, ``HQML_NATIVE``) and each given tensor's name, shape, dtype, device and
``requires_grad``. ``HQML_FASTCALL=0`` turns this module off.
Tensors must be dense and on the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from ...circuit.circuit import Circuit
from ...circuit.gates import complex_dtype, real_dtype
from ...circuit.params import _compiled, bind_parameters
from ..base import Backend, Expval, Task
from . import choose, interpreter
from .dense_measure import measure_of
from .interpreter import INTERPRETER, diag_tensor, table_copies
from .numpy_matrices import _NP

_CACHE_KEY = "hqml.prepared"
_UNSUITED = object()  # a request recorded as not suited
_MAX_REQUESTS = 64  # prepared requests kept per circuit (beyond, the record starts again)


class PreparedCall:
    """What the generic path decided for one request (see the module docstring)."""

    def __init__(self, task: Task, prog: Any, diag: torch.Tensor, bindings: Any):
        link = bindings.link
        self.prog, self.diag = prog, diag
        self.cdt = _NP[task.dtype]
        self.varying, self.needs = task.varying, task.needs_grad
        self.batch, self.batched = bindings.batch_size, bindings.batched
        self.real = task.theta.dtype
        # per given tensor, in declaration order: (batched?, rows it spans in theta, size)
        self.layout = [
            (is_batched, self.batch if is_batched else 1, size)
            for is_batched, size in zip(link.batched, link.sizes, strict=True)
        ]
        self.width = sum(link.sizes)
        self._put, self._take = table_copies(self.real)
        self.order: Any = None  # given order -> declaration order (set by run)
        self.shapes: list[torch.Size] = []
        self.dtypes: list[torch.dtype] = []

    def theta(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        """``(B, P)`` gate parameters: the given values side by side (copied by the kernels'
        library: a handful of torch calls would cost more than the circuit at a few qubits)."""
        theta = torch.empty((self.batch, self.width), dtype=self.real)
        out, off = theta.data_ptr(), 0
        for t, (_, rows, size) in zip(tensors, self.layout, strict=True):
            if t.dtype != self.real or not t.is_contiguous() or t.is_neg():
                t = t.detach().to(self.real).contiguous().resolve_neg()
            self._put(t.data_ptr(), rows, size, self.batch, self.width, off, out)
            off += size
        return theta

    def forward(self, tensors: Any) -> tuple[torch.Tensor, Any]:
        """The values and the interpreter's record for the given tensors (declaration order)."""
        theta = self.theta(tensors)
        _, values, saved = interpreter.kernel_forward(
            self.prog, theta, self.varying, self.cdt, self.diag
        )
        return values, saved

    def sweep(self, saved: Any, cot: torch.Tensor) -> torch.Tensor:
        """``dL/dtheta`` ``(B, P)`` by the interpreter's adjoint sweep (consumes ``saved``)."""
        return interpreter.kernel_backward(self.prog, saved, self.needs, cot=cot)

    def grads(self, grad: torch.Tensor, wanted: tuple[bool, ...]) -> list:
        """Each given tensor's gradient (``None`` where not ``wanted``): its columns of
        ``dL/dtheta``, summed over the batch for a tensor given once."""
        src = grad.data_ptr()
        out: list[torch.Tensor | None] = []
        off = 0
        for want, (is_batched, _, size), shape, dtype in zip(
            wanted, self.layout, self.shapes, self.dtypes, strict=True
        ):
            if want:
                g = torch.empty(shape, dtype=self.real)
                self._take(src, self.batch, self.width, off, size, 0 if is_batched else 1,
                           g.data_ptr())  # fmt: skip
                out.append(g if dtype == self.real else g.to(dtype))
            else:
                out.append(None)
            off += size
        return out


def lookup(
    be: Backend,
    circuit: Circuit,
    measurement: Any,
    inputs: Mapping[str, Any] | None,
    weights: Mapping[str, Any] | None,
    diff_method: str,
    dtype: torch.dtype | None,
    device: Any,
) -> tuple[PreparedCall, list[torch.Tensor]] | None:
    """The prepared call of this request and its tensors in declaration order, else ``None``
    (the caller goes the generic way). Preparing happens here, on the first call of a request."""
    if (
        not isinstance(measurement, Expval)
        or os.environ.get("HQML_FASTCALL", "1").strip().lower() in ("0", "false", "off", "no")
        or diff_method not in ("best", "adjoint")
        or torch._C._are_functorch_transforms_active()  # wrapped tensors have no data pointer
        or (device is not None and torch.device(device).type != "cpu")
    ):
        return None
    inputs, weights = inputs or {}, weights or {}
    tensors: list[torch.Tensor] = []
    try:  # a name gives a new backend instance per call: the options identify it
        options = tuple(sorted(be.options.items())) if be.options else ()
        hash(options)
    except TypeError:
        return None
    sig: list[Any] = [
        options,
        diff_method,
        dtype,
        tuple(o.key() for o in measurement.observables),
        os.environ.get("HQML_SMALL"),
        os.environ.get("HQML_NATIVE"),
    ]
    for kind, table in (("input", inputs), ("weight", weights)):
        for name, t in table.items():
            if not isinstance(t, torch.Tensor):
                return None
            tensors.append(t)
            sig.append((kind, name, t.shape, t.dtype, t.device, t.layout, t.requires_grad))
    key = tuple(sig)
    cache = circuit.cached(_CACHE_KEY, dict)
    if len(cache) > _MAX_REQUESTS:
        cache.clear()
    call = cache.get(key)
    if call is None:
        call = _prepare(circuit, measurement, inputs, weights, be, dtype)
        if call is not _UNSUITED:  # complete before other threads can see it
            call.order = _order(circuit, inputs, weights)
            call.shapes = [t.shape for t in call.order(tensors)]
            call.dtypes = [t.dtype for t in call.order(tensors)]
        cache[key] = call
    if call is _UNSUITED:
        return None
    return call, call.order(tensors)


def _order(circuit: Circuit, inputs: Mapping[str, Any], weights: Mapping[str, Any]) -> Any:
    """Maps the tensors as given (inputs, then weights, each in its dict's order) to declaration
    order."""
    given = [("input", k) for k in inputs] + [("weight", k) for k in weights]
    pos = {kn: i for i, kn in enumerate(given)}
    idx = [pos[(kind, name)] for kind, name, _, _ in _compiled(circuit).declared]
    if idx == list(range(len(idx))):
        return lambda ts: ts
    return lambda ts: [ts[i] for i in idx]


def _prepare(
    circuit: Circuit,
    measurement: Expval,
    inputs: Mapping[str, Any],
    weights: Mapping[str, Any],
    be: Backend,
    dtype: torch.dtype | None,
) -> PreparedCall | object:
    given = [*inputs.values(), *weights.values()]
    if any(t.device.type != "cpu" or t.layout != torch.strided for t in given):
        return _UNSUITED  # the kernels read dense host memory
    b = bind_parameters(circuit, inputs, weights, real_dtype(dtype) if dtype else None, None)
    if b.link is None or b.link.cols is not None or not b.link.tensors:
        return _UNSUITED  # an expression or a reordering between the values and theta
    cdt = dtype or complex_dtype(b.theta.dtype)
    task = Task(circuit, b.theta, measurement, cdt, None, None, b.varying, {}, b.needs_grad)
    # "best" and "adjoint" both run the interpreter's adjoint here ("best" picks backprop only
    # where no compiled engine runs the task)
    if choose.choose_engine(task) is not INTERPRETER:
        return _UNSUITED
    prog = task.memo["native"]
    if prog.given:
        return _UNSUITED
    diag = diag_tensor(measure_of(prog, measurement, _NP[cdt]), _NP[cdt])
    if diag is None:
        return _UNSUITED
    return PreparedCall(task, prog, diag, b)
