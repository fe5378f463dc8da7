"""Differentiation methods: backprop, adjoint, parameter-shift, finite-diff, SPSA, and "best"."""

from __future__ import annotations

from typing import Any

import torch

from ..backends.base import Backend, Sample, State, Task
from ..circuit.params import Link
from .adjoint import adjoint, linked_adjoint
from .shift import shift_rule, shifted

DIFF_METHODS = ("best", "backprop", "adjoint", "parameter-shift", "finite-diff", "spsa")
_EXACT = ("backprop", "adjoint")


def resolve_diff_method(diff_method: str, backend: Backend, task: Task) -> str:
    """The concrete method for ``diff_method`` on ``backend`` (``"best"`` picks one).

    Raises:
        ValueError: unknown method, or one the backend or the measurement cannot use.
    """
    if diff_method not in DIFF_METHODS:
        raise ValueError(
            f"unknown diff_method {diff_method!r}; choose one of {', '.join(DIFF_METHODS)}"
        )
    caps = backend.capabilities.diff_methods
    m = task.measurement
    noisy = task.options.get("noise_model") is not None
    if noisy:  # the adjoint sweep assumes a pure state and unitary gates
        if diff_method == "adjoint":
            raise ValueError(
                "diff_method 'adjoint' cannot differentiate through a noise_model;"
                " use 'backprop' or 'parameter-shift'"
            )
        caps = caps - {"adjoint"}
    if diff_method == "best":
        if isinstance(m, State):
            return "backprop" if "backprop" in caps else "none"
        if isinstance(m, Sample):
            return "none"
        if task.shots is not None:
            for method in ("parameter-shift", "finite-diff", "spsa"):
                if method in caps:
                    return method
            return "none"
        if {"adjoint", "backprop"} <= caps:
            # backprop is faster while its saved states fit in memory; adjoint keeps two states
            return "backprop" if backend.prefers_backprop(task) else "adjoint"
        for method in ("adjoint", "backprop", "parameter-shift"):
            if method in caps:
                return method
        return "none"
    if diff_method not in caps:
        raise ValueError(
            f"backend {backend.name!r} does not support diff_method {diff_method!r};"
            f" it supports {', '.join(sorted(caps))}"
        )
    if task.shots is not None and diff_method in _EXACT:
        raise ValueError(
            f"diff_method {diff_method!r} is exact and cannot run with shots={task.shots};"
            " use 'parameter-shift' or shots=None"
        )
    if isinstance(m, State) and diff_method != "backprop":
        raise ValueError("a state is differentiable by diff_method='backprop' only")
    return diff_method


def execute_task(
    backend: Backend,
    task: Task,
    diff_method: str = "best",
    options: dict[str, Any] | None = None,
    link: Link | None = None,
) -> torch.Tensor:
    """Run one task; the result is differentiable with respect to ``task.theta`` (with ``link``,
    the adjoint method differentiates to the link's tensors directly)."""
    method = resolve_diff_method(diff_method, backend, task)
    needs_grad = torch.is_grad_enabled() and task.theta.requires_grad
    if not needs_grad or method == "none":
        with torch.no_grad():
            return backend.execute([task])[0]
    if method == "backprop":
        return backend.execute([task])[0]
    if method == "adjoint":
        return adjoint(backend, task) if link is None else linked_adjoint(backend, task, link)
    return shifted(backend, task, method, options)


__all__ = ["DIFF_METHODS", "execute_task", "resolve_diff_method", "shift_rule"]
