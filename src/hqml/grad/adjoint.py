"""The adjoint method as one torch autograd Function.

:class:`Adjoint` wraps a *run*: something that computes values from some tensors and keeps a
record (:meth:`Run.forward`), takes a cotangent back to the gate parameters theta with the
backend's adjoint sweep (:meth:`Run.sweep`), and maps that to the tensors' gradients
(:meth:`Run.grads`). Three runs use it: theta itself (:class:`ThetaRun`), the given tensors when
theta's columns are plain values of them (:class:`LinkedRun`: no autograd graph for the
binding, whose chain rule is a slice and a sum), and a backend's prepared call.

Memory holds two states whatever the depth (the final state and the sweep's cotangent), plus the
small per-gate data. The forward record is freed by the first backward; a repeat
(``retain_graph=True``) runs the forward again, and without a retained graph torch's own error
says so.

The Function has ``setup_context`` and a ``vmap`` rule, so ``torch.func.grad``, ``jacrev`` and
``vmap`` work through a :class:`ThetaRun` (the front door uses one under function transforms):
a vmapped theta ``(V, B, P)`` runs as one batch of ``V * B`` rows, and a vmapped cotangent (the
rows of a Jacobian) as one sweep over ``V`` copies of the batch. Forward mode (``jacfwd``) has no
cheap rule here (it would cost one sweep per output) and is refused.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import torch

from ..backends.base import Backend, Runner, Task
from ..circuit.params import Link

_HANDOFF = threading.local()  # the record from forward to setup_context (same thread, next call)


class Run(Protocol):
    def forward(self, tensors: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, Any]: ...

    def sweep(self, record: Any, cotangent: torch.Tensor) -> Any: ...

    def grads(self, swept: Any, needed: tuple[bool, ...]) -> list[torch.Tensor | None]: ...


def reduce_to(grad: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Sum a ``(B, P)`` gradient over the batch when ``theta`` had a single row."""
    if grad.shape[0] != theta.shape[0]:
        grad = grad.sum(dim=0, keepdim=True)
    return grad.to(theta.dtype)


class Adjoint(torch.autograd.Function):
    """``Adjoint.apply(run, *tensors)``: the run's values, differentiable to ``tensors``."""

    @classmethod
    def apply(cls, *args: Any) -> Any:  # type: ignore[override]
        if torch._C._are_functorch_transforms_active():
            return super().apply(*args)  # torch.func's dispatch (this class's vmap rule)
        # outside torch.func, torch's Python wrapper only binds default arguments (there are
        # none) by inspect.signature, which costs more than a few-qubit circuit: call its base
        return super(torch.autograd.Function, cls).apply(*args)

    @staticmethod
    def forward(run: Run, *tensors: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        values, _HANDOFF.record = run.forward(tensors)
        return values

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        ctx.run, ctx.record = inputs[0], getattr(_HANDOFF, "record", None)
        _HANDOFF.record = None
        ctx.save_for_backward(*inputs[1:])  # read by a repeat: marks whether the graph lives
        ctx.repeat = False

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, cotangent: torch.Tensor) -> tuple:
        record, ctx.record = ctx.record, None  # the sweep may consume it
        if torch._C._are_functorch_transforms_active() and isinstance(ctx.run, ThetaRun):
            # under torch.func the cotangent (the rows of jacrev) or theta (vmap of grad) may be
            # vmapped: the sweep as a function with its own vmap rule
            (theta,) = ctx.saved_tensors
            return None, _Sweep.apply(ctx.run, record, theta, cotangent)
        if ctx.repeat or record is None:  # raises torch's error unless the graph was retained
            tensors = ctx.saved_tensors
            if record is None:
                record = ctx.run.forward(tensors)[1]
        ctx.repeat = True
        swept = ctx.run.sweep(record, cotangent)  # once_differentiable: no graph to detach
        return (None, *ctx.run.grads(swept, ctx.needs_input_grad[1:]))

    @staticmethod
    def vmap(info: Any, in_dims: tuple, run: Run, *tensors: torch.Tensor) -> tuple:
        if not isinstance(run, ThetaRun):
            raise RuntimeError("torch.func.vmap reaches the adjoint method through theta only")
        (theta,), (dim,) = tensors, in_dims[1:]
        if dim is None:
            return Adjoint.apply(run, theta), None
        theta = theta.movedim(dim, 0)
        v, b, p = theta.shape
        out = Adjoint.apply(run.varying_rows(), theta.reshape(v * b, p))
        return out.reshape((v, b) + out.shape[1:]), 0

    @staticmethod
    def jvp(ctx: Any, *tangents: Any) -> Any:
        raise RuntimeError(
            "forward-mode differentiation (torch.func.jacfwd/jvp) is not available with"
            " diff_method='adjoint'; use torch.func.jacrev or diff_method='backprop'"
        )


class _Sweep(torch.autograd.Function):
    """``dL/dtheta`` for a cotangent, as a function torch.func can vmap over the cotangent."""

    @staticmethod
    def forward(  # type: ignore[override]
        run: ThetaRun, record: Any, theta: torch.Tensor, cotangent: torch.Tensor
    ) -> torch.Tensor:
        if record is None:
            record = run.forward((theta,))[1]
        return reduce_to(run.sweep(record, cotangent), theta)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        pass

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple:
        raise RuntimeError("second derivatives are not available with diff_method='adjoint'")

    @staticmethod
    def vmap(info: Any, in_dims: tuple, run: ThetaRun, record: Any, theta: torch.Tensor,
             cotangent: torch.Tensor) -> tuple:  # fmt: skip
        t_dim, c_dim = in_dims[2:]
        if t_dim is not None:
            theta = theta.movedim(t_dim, 0)
        else:
            theta = theta.expand(info.batch_size, *theta.shape)
        if c_dim is not None:
            cotangent = cotangent.movedim(c_dim, 0)
        else:
            cotangent = cotangent.expand(info.batch_size, *cotangent.shape)
        v, b, p = theta.shape
        rows = max(b, cotangent.shape[1])
        theta_t = theta.expand(v, rows, p).reshape(v * rows, p)
        cot = cotangent.expand(v, rows, *cotangent.shape[2:]).reshape(v * rows, -1)
        tiled = run.varying_rows()
        grad = tiled.sweep(tiled.forward((theta_t,))[1], cot).reshape(v, rows, p)
        if b != rows:
            grad = grad.sum(dim=1, keepdim=True)
        return grad.to(theta.dtype), 0


class ThetaRun:
    """The task's values as a function of theta ``(B, P)``, run by ``runner`` (a
    :class:`~hqml.backends.base.Runner` of the task's request; ``None``: the backend's runner
    for each forward pass, whose theta may have any number of rows). Records are
    ``(runner, engine record)``."""

    def __init__(self, backend: Backend, task: Task, runner: Runner | None = None):
        self.backend, self.task, self.runner = backend, task, runner

    def varying_rows(self) -> ThetaRun:
        """The same request for any number of rows of theta, which may all differ."""
        empty = torch.empty(0, self.task.theta.shape[-1], dtype=self.task.theta.dtype)
        return ThetaRun(self.backend, self.task.with_theta(empty, None))

    def forward(self, tensors: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, Any]:
        (theta,) = tensors
        task, runner = self.task, self.runner
        if theta is not task.theta or runner is None:  # engines detach theta themselves
            task = task.with_theta(theta.detach(), task.varying)
            runner = self.backend.runner(task, "adjoint")
        values, record = runner.forward(task, True)
        return values, (runner, record)

    def sweep(self, record: Any, cotangent: torch.Tensor) -> torch.Tensor:
        runner, record = record
        return runner.backward(record, cotangent)

    def grads(self, swept: torch.Tensor, needed: tuple[bool, ...]) -> list[torch.Tensor | None]:
        return [reduce_to(swept, self.task.theta)]


class LinkedRun:
    """The task's values as a function of the given tensors theta reads (``link.tensors``)."""

    def __init__(self, runner: Runner, task: Task, link: Link):
        self.runner, self.task, self.link = runner, task, link

    def forward(self, tensors: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, Any]:
        return self.runner.forward(self.task, True)  # the task holds theta's values

    def sweep(self, record: Any, cotangent: torch.Tensor) -> torch.Tensor:
        return self.runner.backward(record, cotangent)

    def grads(self, swept: torch.Tensor, needed: tuple[bool, ...]) -> list[torch.Tensor | None]:
        return self.link.grads(swept, needed)


def adjoint(
    backend: Backend, task: Task, link: Link | None = None, runner: Runner | None = None
) -> torch.Tensor:
    """Execute ``task`` (by ``runner``, default the backend's runner for it); gradients by the
    adjoint method, to ``task.theta`` or, with ``link``, straight to the link's tensors."""
    if runner is None:
        runner = backend.runner(task, "adjoint")
    if link is None:
        return Adjoint.apply(ThetaRun(backend, task, runner), task.theta)
    return Adjoint.apply(LinkedRun(runner, task, link), *link.tensors)
