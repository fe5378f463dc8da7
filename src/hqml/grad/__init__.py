"""Differentiation methods: backprop, adjoint, parameter-shift, finite-diff, SPSA, and "best".

:func:`resolve_diff_method` turns the method asked for into the one a request uses (once per
request: :mod:`hqml.request`); :mod:`.adjoint` is the adjoint method's autograd Function and
:mod:`.shift` the shift rules, finite differences and SPSA. The front door wires the resolved
method into autograd (``hqml.execute._dispatch``).
"""

from __future__ import annotations

import torch

from ..backends.base import Backend, Sample, State, Task
from .shift import shift_rule

DIFF_METHODS = ("best", "backprop", "adjoint", "parameter-shift", "finite-diff", "spsa")
_EXACT = ("backprop", "adjoint")


# "best" per kind of request: the first of these methods the backend declares
_BEST = {
    "state": ("backprop",),
    "sample": (),
    "shots": ("parameter-shift", "finite-diff", "spsa"),
    "exact": ("adjoint", "backprop", "parameter-shift"),
}


def _kind(task: Task) -> str:
    if isinstance(task.measurement, State):
        return "state"
    if isinstance(task.measurement, Sample):
        return "sample"
    return "exact" if task.shots is None else "shots"


def _refusal(kind: str, method: str, task: Task) -> str | None:
    """Why ``method`` cannot differentiate this kind of request (one line naming the fix)."""
    if kind == "shots" and method in _EXACT:
        return (
            f"diff_method {method!r} is exact and cannot run with shots={task.shots};"
            " use 'parameter-shift' or shots=None"
        )
    if kind == "state" and method != "backprop":
        return "a state is differentiable by diff_method='backprop' only"
    return None


def resolve_diff_method(diff_method: str, backend: Backend, task: Task) -> str:
    """The concrete method for ``diff_method`` on ``backend`` (``"best"`` picks one; ``"none"``
    when nothing can differentiate the request).

    Raises:
        ValueError: unknown method, or one the backend or the measurement cannot use.
    """
    if diff_method not in DIFF_METHODS:
        raise ValueError(
            f"unknown diff_method {diff_method!r}; choose one of {', '.join(DIFF_METHODS)}"
        )
    caps = backend.diff_methods_for(task)
    if task.options.get("noise_model") is not None:  # the adjoint assumes a pure state
        if diff_method == "adjoint":
            raise ValueError(
                "diff_method 'adjoint' cannot differentiate through a noise_model;"
                " use 'backprop' or 'parameter-shift'"
            )
        caps = caps - {"adjoint"}
    kind = _kind(task)
    if diff_method == "best":
        if kind == "exact" and {"adjoint", "backprop"} <= caps:
            # backprop is faster while its saved states fit in memory; adjoint keeps two states
            # (and is the method torch.func transforms reach through: see .adjoint)
            if torch._C._are_functorch_transforms_active():
                return "adjoint"
            return "backprop" if backend.prefers_backprop(task) else "adjoint"
        return next((m for m in _BEST[kind] if m in caps), "none")
    if diff_method not in caps and diff_method in backend.capabilities.diff_methods:
        raise ValueError(
            f"backend {backend.name!r} cannot use diff_method {diff_method!r} for this request"
            " (a dynamic circuit without a deferred-measurement form, or a noise model);"
            f" it can use {', '.join(sorted(caps))}"
        )
    if diff_method not in caps:
        raise ValueError(
            f"backend {backend.name!r} does not support diff_method {diff_method!r};"
            f" it supports {', '.join(sorted(caps))}"
        )
    reason = _refusal(kind, diff_method, task)
    if reason is not None:
        raise ValueError(reason)
    return diff_method


__all__ = ["DIFF_METHODS", "resolve_diff_method", "shift_rule"]
