"""The adjoint method as a torch autograd Function.

Memory holds two states whatever the depth (the final state and the sweep's cotangent), plus the
small per-gate data (2x2 .. 8x8 matrices, per sample where a gate depends on inputs), which grows
with the number of parameters as the parameters themselves do.
"""

from __future__ import annotations

from typing import Any

import torch

from ..backends.base import Backend, Task
from ..circuit.params import Link


def reduce_to(grad: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Sum a ``(B, P)`` gradient over the batch when ``theta`` had a single row."""
    if grad.shape[0] != theta.shape[0]:
        grad = grad.sum(dim=0, keepdim=True)
    return grad.to(theta.dtype)


class _Adjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, theta: torch.Tensor, backend: Backend, task: Task) -> torch.Tensor:
        ctx.backend, ctx.task, ctx.saved = backend, task, None
        ctx.save_for_backward(theta)
        plain = task.with_theta(theta.detach(), task.varying)
        out, ctx.saved = backend.execute_for_vjp(plain)
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple:
        (theta,) = ctx.saved_tensors
        saved, ctx.saved = ctx.saved, None  # the sweep may consume it: a repeat runs forward again
        if saved is not None:
            grad = ctx.backend.finish_vjp(saved, grad_out)
        else:
            grad = ctx.backend.vjp(ctx.task.with_theta(theta.detach(), ctx.task.varying), grad_out)
        return reduce_to(grad, theta), None, None


def adjoint(backend: Backend, task: Task) -> torch.Tensor:
    """Execute ``task``; gradients with respect to ``task.theta`` by the adjoint method."""
    return _Adjoint.apply(task.theta, backend, task)


class _LinkedAdjoint(torch.autograd.Function):
    """The adjoint method differentiated straight to the given tensors, where theta's columns
    are plain values of them (:class:`~hqml.circuit.params.Link`): no autograd graph for the
    binding, whose chain rule is a slice and a sum.

    The forward record is freed by the first backward; a repeat (``retain_graph=True``) runs the
    forward again from the task, and without a retained graph torch's own error says so."""

    @staticmethod
    def forward(ctx: Any, backend: Backend, task: Task, link: Link, *tensors: torch.Tensor) -> Any:
        ctx.backend, ctx.task, ctx.link, ctx.saved = backend, task, link, None
        ctx.save_for_backward(*tensors)  # read only by a repeat: marks whether the graph lives
        ctx.repeat = False
        out, ctx.saved = backend.execute_for_vjp(task)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple:
        saved, ctx.saved = ctx.saved, None
        if ctx.repeat:  # raises torch's error unless the graph was retained
            _ = ctx.saved_tensors
        ctx.repeat = True
        if saved is not None:
            grad = ctx.backend.finish_vjp(saved, grad_out)
        else:  # a backend without a kept forward, or a repeat: the task holds theta's values
            grad = ctx.backend.vjp(ctx.task, grad_out)
        return (None, None, None, *ctx.link.grads(grad, ctx.needs_input_grad[3:]))


def linked_adjoint(backend: Backend, task: Task, link: Link) -> torch.Tensor:
    """Execute ``task`` (theta read from ``link.tensors``); gradients flow to those tensors by the
    adjoint method."""
    plain = task.with_theta(task.theta.detach(), task.varying)
    return _LinkedAdjoint.apply(backend, plain, link, *link.tensors)
