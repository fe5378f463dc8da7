"""The protocol every statevector engine implements, and the record an adjoint sweep reads.

An engine runs a :class:`~hqml.backends.base.Task` forward and, for the adjoint method, keeps
what its backward sweep needs in a typed record (a dataclass per engine). Which engine runs a
task is decided by :func:`.choose.choose_engine`; a new engine is a new module implementing this
protocol and a row in that chooser's table.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from ..base import Expval, Probs, State, Task

_COMPLEX = (torch.complex64, torch.complex128)


class Engine(Protocol):
    """One way of simulating a statevector task."""

    name: str
    # whether autograd records :meth:`forward` (the engines that can serve backprop)
    autograd: bool

    def supports(self, task: Task) -> bool:
        """Whether this engine can run ``task`` at all (the chooser decides whether it should)."""
        ...

    def bind(self, task: Task) -> Any:
        """This engine bound to ``task``'s request (what it looks up once: a program or plan,
        the measurement): a :class:`~hqml.backends.base.Runner` for the request's tasks. Its
        ``forward(task, keep)`` gives the values and, with ``keep``, a record (a dataclass
        whose ``engine`` field is the runner) that its ``backward(record, cotangent)`` reads
        (the sweep may consume it) for ``d(sum(cotangent * values))/dtheta`` ``(B, P)``."""
        ...

    def forward(self, task: Task, keep: bool) -> tuple[torch.Tensor, Any]:
        """``bind(task).forward(task, keep)``: one task, decided for itself."""
        ...


def exact_on_cpu(task: Task) -> bool:
    """What the engines outside torch need: an exact, noiseless expval, probs or state of a
    complex64/128 register on the CPU."""
    return (
        task.shots is None
        and task.theta.device.type == "cpu"
        and task.dtype in _COMPLEX
        and isinstance(task.measurement, (Expval, Probs, State))
        and task.options.get("noise_model") is None
    )
