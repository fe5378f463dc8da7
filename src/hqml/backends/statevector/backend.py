"""The local batched statevector simulator as a backend (``"statevector"``).

Every request goes to one engine (:mod:`.engine`), chosen once per request by
:func:`.choose.choose_engine`; noisy tasks run by Monte Carlo trajectories
(:mod:`hqml.backends.trajectories`). Repeated requests can be prepared (:meth:`prepare`,
:mod:`.prepared`), and a request's engine bound to it (:meth:`runner`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..base import Backend, Capabilities, Runner, Task
from ..trajectories import execute_trajectories
from . import choose, limits, prepared, shots
from .dynamic import deferred_task, execute_dynamic
from .plan import get_plan


class StatevectorBackend(Backend):
    """Exact batched statevector simulation in torch (CPU or CUDA)."""

    name = "statevector"
    capabilities = Capabilities(
        max_qubits=30,
        diff_methods=frozenset({"backprop", "adjoint", "parameter-shift", "finite-diff", "spsa"}),
        supports_noise=True,  # by Monte Carlo trajectories (hqml.backends.trajectories)
        dynamic=True,  # deferred measurement, branch enumeration or per-shot sampling
        reusable=True,
    )

    def __init__(self, **options: Any):
        self.options = options

    def execute(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        out = []
        for t in tasks:
            if t.circuit.is_dynamic:
                deferred = deferred_task(t)
                if isinstance(deferred, str):
                    out.append(execute_dynamic(t))
                    continue
                t = deferred
            if t.options.get("noise_model") is not None:
                out.append(execute_trajectories(self.options, t))
                continue
            if t.shots is not None and not (torch.is_grad_enabled() and t.theta.requires_grad):
                sampled = shots.sampled_z_expval(t, choose.choose_engine)
                if sampled is not None:  # Z words from exact states: one draw of all counts
                    out.append(sampled)
                    continue
            engine = choose.choose_engine(t)
            if not engine.autograd and torch.is_grad_enabled() and t.theta.requires_grad:
                engine = choose.plan_engine(t)  # backprop: an engine autograd records
            out.append(engine.forward(t, False)[0])
        return out

    def prefers_backprop(self, task: Task) -> bool:
        """Backprop when its saved states fit in the budget (backend option
        ``backprop_budget_bytes``, default :attr:`.limits.Limits.backprop_budget_bytes`) and no
        compiled engine runs the adjoint."""
        if task.circuit.is_dynamic:
            task = self._deferred(task)
        if choose.compiled_adjoint(task):
            return False
        plan = get_plan(task.circuit, task.varying, task.theta.shape[0] > 1)
        itemsize = torch.empty((), dtype=task.dtype).element_size()
        saved = (len(plan.items) + 2) * task.theta.shape[0] * 2**task.circuit.n_qubits * itemsize
        budget = self.options.get("backprop_budget_bytes", limits.LIMITS.backprop_budget_bytes)
        return saved * 2 <= budget

    def execute_for_vjp(self, task: Task) -> tuple[torch.Tensor, Any]:
        """The forward pass of the chosen engine, keeping what its adjoint sweep needs."""
        if task.circuit.is_dynamic:
            task = self._deferred(task)
        return choose.choose_engine(task).forward(task, True)

    def diff_methods_for(self, task: Task) -> frozenset[str]:
        """A dynamic circuit is differentiable by adjoint and backprop only where the
        deferred-measurement rewrite makes it unitary."""
        caps = self.capabilities.diff_methods
        if task.circuit.is_dynamic and isinstance(deferred_task(task), str):
            return caps - {"adjoint", "backprop"}
        return caps

    @staticmethod
    def _deferred(task: Task) -> Task:
        deferred = deferred_task(task)
        if isinstance(deferred, str):
            raise ValueError(
                f"the adjoint method needs a unitary circuit, and this dynamic circuit has no"
                f" deferred-measurement form ({deferred}); use diff_method='parameter-shift'"
                " or 'finite-diff'"
            )
        return deferred

    def finish_vjp(self, saved: Any, cotangent: torch.Tensor) -> torch.Tensor:
        return saved.engine.backward(saved, cotangent)

    def runner(self, task: Task, method: str) -> Runner:
        """The engine chosen for the request, bound to it (its program or plan and its
        measurement); an engine autograd records for ``"backprop"``. Dynamic and noisy
        requests run through :meth:`execute` (the default runner)."""
        if task.circuit.is_dynamic or task.options.get("noise_model") is not None:
            return super().runner(task, method)
        engine = choose.choose_engine(task)
        if method == "backprop" and not engine.autograd:
            engine = choose.plan_engine(task)
        return engine.bind(task)

    def prepare(self, task: Task, link: Any, diff_method: str) -> prepared.PreparedCall | None:
        """A prepared call for an exact Z-type expval with the adjoint method on the
        interpreter (see :mod:`.prepared`); ``None`` for any other request."""
        if task.circuit.is_dynamic or diff_method != "adjoint":
            return None
        return prepared.prepare_call(task, link)
