"""Repeated calls of one request, prepared once.

A training loop calls :func:`hqml.expval` with the same circuit, observables and tensor shapes
thousands of times. On a few qubits the compiled interpreter's work is tens of microseconds, and
even the memoised request (:mod:`hqml.execute`: theta gathered by torch, a task, the adjoint
Function around a runner) costs as much again. The front door asks the backend once per request
(:meth:`StatevectorBackend.prepare`); a prepared call gathers theta from the given tensors in
the kernels' library, runs the interpreter forward and, in the backward pass, the adjoint sweep,
and hands each tensor its gradient. Values and gradients are those of the generic path: the
same kernels on the same theta.

A request suits when it measures Z-type observables on the statevector backend's compiled
interpreter with the adjoint method (``diff_method="best"`` or ``"adjoint"``), exactly
(no shots, noise or seed), and every gate parameter is a plain input or weight value taken in
declaration order (the front door recognises the request again: :mod:`hqml.execute`).
``HQML_FASTCALL=0`` turns this module off. Tensors must be dense and on the CPU.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from ..base import Expval, Task
from . import choose, interpreter
from .dense_measure import measure_of
from .interpreter import INTERPRETER, diag_tensor, kernel_functions, table_copies
from .numpy_matrices import _NP


class PreparedCall:
    """What the generic path decided for one request (see the module docstring)."""

    def __init__(self, task: Task, prog: Any, diag: torch.Tensor, link: Any):
        self.prog, self.diag = prog, diag
        self.cdt = _NP[task.dtype]
        self.fns = kernel_functions(self.cdt)
        self.varying, self.needs = task.varying, task.needs_grad
        self.batch = task.theta.shape[0]
        self.real = task.theta.dtype
        # per given tensor, in declaration order: (batched?, rows it spans in theta, size)
        self.layout = [
            (is_batched, self.batch if is_batched else 1, size)
            for is_batched, size in zip(link.batched, link.sizes, strict=True)
        ]
        self.width = sum(link.sizes)
        self._put, self._take = table_copies(self.real)
        self.shapes = [t.shape for t in link.tensors]
        self.dtypes = [t.dtype for t in link.tensors]

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
            self.prog, theta, self.varying, self.cdt, self.diag, self.fns[0]
        )
        return values, saved

    def sweep(self, saved: Any, cot: torch.Tensor) -> torch.Tensor:
        """``dL/dtheta`` ``(B, P)`` by the interpreter's adjoint sweep (consumes ``saved``)."""
        return interpreter.kernel_backward(self.prog, saved, self.needs, cot=cot, fn=self.fns[1])

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


def prepare_call(task: Task, link: Any) -> PreparedCall | None:
    """The prepared call of a request whose first call built ``task`` (gate parameters read
    through ``link``), or ``None`` when the request does not suit (module docstring)."""
    if (
        os.environ.get("HQML_FASTCALL", "1").strip().lower() in ("0", "false", "off", "no")
        or not isinstance(task.measurement, Expval)
        or link is None
        or link.cols is not None
        or not link.tensors
        or any(t.device.type != "cpu" or t.layout != torch.strided for t in link.tensors)
    ):
        return None  # an expression or a reordering between the values and theta; or off-host
    # "best" and "adjoint" both run the interpreter's adjoint here ("best" picks backprop only
    # where no compiled engine runs the task)
    if choose.choose_engine(task) is not INTERPRETER:
        return None
    prog = task.memo["native"]
    if prog.given:
        return None
    cdt = _NP[task.dtype]
    diag = diag_tensor(measure_of(prog, task.measurement, cdt), cdt)
    if diag is None:
        return None
    return PreparedCall(task, prog, diag, link)
