"""Rewriting a backend task's circuit while keeping its evaluated parameters differentiable, and
the base class of the backends that wrap another one (:class:`WrappingBackend`).

A task carries numbers ``theta`` (B, P), not symbols. :func:`parametrized` rebuilds the circuit
with gate parameter ``j`` = input symbol ``theta[j]``; a transform (folding, inserting Pauli
frames) then keeps these symbols, and :func:`rebind` evaluates the new circuit's parameters from
the task's ``theta`` (plus any extra inputs) with the ordinary, differentiable binding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..backends.base import Backend, Capabilities, Task
from ..backends.mps import Truncation, worst
from ..backends.registry import get_backend
from ..circuit.circuit import Circuit, Operation
from ..circuit.dynamic import require_static
from ..circuit.gates import real_dtype
from ..circuit.params import bind_parameters

THETA = "task_theta"


def parametrized(task: Task) -> Circuit:
    """The task's circuit with parameter ``j`` replaced by the input symbol ``task_theta[j]``."""
    c = task.circuit
    require_static(c, "error mitigation")
    out = Circuit(c.n_qubits)
    p = task.theta.shape[1]
    sym = out.input(THETA, p) if p else None
    col = 0
    for op in c.ops:
        k = op.gate.num_params
        params = tuple(sym[col + i] for i in range(k)) if k else ()
        out.ops.append(Operation(op.gate, op.wires, params))
        col += k
    out._touch()
    return out


def rebind(
    task: Task,
    circuit: Circuit,
    measurement: Any = None,
    extra_inputs: Mapping[str, torch.Tensor] | None = None,
    repeat: int = 1,
) -> Task:
    """A task running ``circuit`` (built on :func:`parametrized`) with the task's ``theta``.

    Each row of ``theta`` is repeated ``repeat`` times (rows ``b * repeat + r``); ``extra_inputs``
    have ``B * repeat`` rows.
    """
    theta = task.theta
    if repeat > 1:
        theta = theta.repeat_interleave(repeat, dim=0)
    given: dict[str, Any] = dict(extra_inputs or {})
    if THETA in circuit.inputs:
        given[THETA] = theta
    # in declaration order: bind_parameters lays values out in the order they are given
    inputs = {name: given[name] for name in circuit.inputs if name in given}
    rows = theta.shape[0]
    b = bind_parameters(circuit, inputs, None, real_dtype(task.dtype), theta.device)
    new_theta = b.theta if b.theta.shape[0] == rows else b.theta.expand(rows, -1)
    m = task.measurement if measurement is None else measurement
    return Task(circuit, new_theta, m, task.dtype, task.shots, task.generator, None, task.options)


class WrappingBackend(Backend):
    """A backend that runs its tasks on ``base`` and post-processes the results (the mitigation
    wrappers). Subclasses name themselves (``label``), the differentiation methods of the base
    that stay valid (``keeps``) and the measurements they answer (``answers``); each runs one
    task in :meth:`execute_one`, calling the base through :meth:`run_base`.

    What the base's truncations discarded (an MPS base) is kept, never dropped by the
    post-processing: each result carries ``truncation``, the report of the base run (of all
    that one task needed: folded circuits, measurement bases, sampled frames) that discarded
    most; ``last_truncation`` and ``worst_truncation`` as on the MPS backend."""

    label = "wrapped"
    last_truncation: Truncation | None = None
    worst_truncation: Truncation | None = None
    keeps: frozenset[str] = frozenset({"backprop", "finite-diff", "spsa"})
    answers: frozenset[str] = frozenset({"expval"})

    def __init__(self, base: Backend | str, **options: Any):
        self.base = get_backend(base, **options)
        self.name = f"{self.label}({self.base.name})"
        caps = self.base.capabilities
        self.capabilities = Capabilities(
            max_qubits=caps.max_qubits,
            diff_methods=frozenset(caps.diff_methods & self.keeps),
            supports_shots=caps.supports_shots,
            shots_only=caps.shots_only,
            supports_noise=caps.supports_noise,
            measurements=self.answers,
        )

    def rows_per_call(self, task: Task) -> int | None:
        return self.base.rows_per_call(task)

    def execute(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        out = []
        for task in tasks:
            self._reports: Truncation | None = None
            value = self.execute_one(task)
            if self._reports is not None:  # the base truncated: say so on the mitigated value
                value.truncation = self._reports  # type: ignore[attr-defined]
                self.last_truncation = self._reports
                self.worst_truncation = worst(self.worst_truncation, self._reports)
            out.append(value)
        return out

    def execute_one(self, task: Task) -> torch.Tensor:
        """The mitigated result of one task."""
        raise NotImplementedError

    def run_base(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        """The base backend's results, noting each one's truncation report (if any)."""
        runs = self.base.execute(tasks)
        for r in runs:
            self._reports = worst(self._reports, getattr(r, "truncation", None))
        return runs
