"""The torch plan engines: a circuit's cached plan (:mod:`.plan`) materialised into fused steps
(:mod:`.materialize`) and run by the kernels of :mod:`hqml.sim.fused`.

One class, three engines named by how single-qubit layers run: ``dense`` (one ``2^n x 2^n``
GEMM per layer on few qubits), ``layered`` (chunks of neighbouring wires) and ``native-layers``
(the compiled layer kernels of :mod:`hqml.sim.native`). Autograd records the forward pass
(backprop); the adjoint sweep runs without autograd and takes the steps' cotangents back to
``theta`` analytically (:mod:`.chain`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ...sim.fused import Step, adjoint_cotangents, run_steps
from ...sim.statevector import zero_state
from ..base import Task
from .chain import theta_gradient
from .materialize import materialize
from .measure import cotangent_state, measure_state
from .plan import get_plan


@dataclass
class PlanRecord:
    """What the plan engines' adjoint sweep reads."""

    engine: TorchPlanEngine
    task: Task
    theta: torch.Tensor
    steps: list[Step]
    state: torch.Tensor  # (B, 2**n) final states


class TorchPlanEngine:
    """The torch plan, its layers run as ``name`` says."""

    autograd = True

    def __init__(self, name: str, native_layers: bool):
        self.name, self.native_layers = name, native_layers

    def __repr__(self) -> str:
        return f"<engine {self.name}>"

    def supports(self, task: Task) -> bool:
        return True

    def steps(self, task: Task, theta: torch.Tensor, dense_batched: bool = True,
              tape: list | None = None) -> list[Step]:  # fmt: skip
        plan = get_plan(task.circuit, task.varying, theta.shape[0] > 1)
        return materialize(plan, task.circuit, theta, task.dtype, self.native_layers,
                           dense_batched, tape)  # fmt: skip

    def forward(self, task: Task, keep: bool) -> tuple[torch.Tensor, Any]:
        if keep:
            return self._forward_kept(task)
        n = task.circuit.n_qubits
        state = zero_state(n, 1, task.dtype, task.theta.device)
        state = run_steps(state, n, self.steps(task, task.theta))
        bs = task.theta.shape[0]
        if state.shape[0] != bs:
            state = state.expand(bs, -1)
        return measure_state(task, state), None

    def _forward_kept(self, task: Task) -> tuple[torch.Tensor, PlanRecord]:
        """The forward pass keeping the final state and the gate data with a record of how it
        was built (for the analytic chain rule to ``theta``)."""
        n = task.circuit.n_qubits
        theta = task.theta.detach()
        with torch.no_grad():
            steps = self.steps(task, theta, False, [])
            state = run_steps(zero_state(n, 1, task.dtype, theta.device), n, steps)
            bs = theta.shape[0]
            if state.shape[0] != bs:
                state = state.expand(bs, -1)
            out = measure_state(task, state)
        return out, PlanRecord(self, task, theta, steps, state)

    def backward(self, saved: PlanRecord, cotangent: torch.Tensor) -> torch.Tensor:
        n = saved.task.circuit.n_qubits
        with torch.no_grad():
            bs = max(saved.state.shape[0], cotangent.shape[0])
            state = saved.state.expand(bs, -1)
            lam = cotangent_state(state, n, saved.task.measurement, cotangent)
            cots = adjoint_cotangents(state, lam, n, saved.steps)
            return theta_gradient(saved.steps, cots, saved.theta)


DENSE = TorchPlanEngine("dense", native_layers=False)
LAYERED = TorchPlanEngine("layered", native_layers=False)
NATIVE_LAYERS = TorchPlanEngine("native-layers", native_layers=True)
