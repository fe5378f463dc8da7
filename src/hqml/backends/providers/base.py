"""The base of provider backends: declared device capabilities checked before sending, typed
provider errors, one packed submission per call, and accounting of every call.

A provider backend implements three hooks: :meth:`ProviderBackend.check_gates` (refuse what the
device cannot take), :meth:`ProviderBackend.plan` (how many jobs and circuits a call will
submit, known before sending) and :meth:`ProviderBackend.submit` (send them and return one tensor
per task). :meth:`ProviderBackend.execute` does the rest in this order: check every task, plan,
price, check the budgets, submit, translate the provider's errors, record the call.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ...accounting import Budget, BudgetExceeded, Ledger, PriceTable, ProviderCall, active_prices
from ...accounting import check as check_budgets
from ...accounting import record as record_call
from ..base import Backend, Capabilities, Expval, Probs, Sample, State, Task
from .errors import DeviceOffline, ProviderError, QueueFull, UnsupportedRequest, classify


@dataclass(frozen=True)
class ProviderCapabilities(Capabilities):
    """A device's declared limits (``None``: no limit known).

    ``exact``: whether it can return exact expectation values (``shots=None``); a device that
    cannot is ``shots_only``. ``native_gates``: the device's own instruction names (for
    information: hqml gates are translated by the provider's compiler; gates with no
    translation are refused by :meth:`ProviderBackend.check_gates`).
    """

    exact: bool = False
    native_gates: frozenset[str] = frozenset()
    max_circuits_per_job: int | None = None
    max_shots: int | None = None


@dataclass
class Submission:
    """What :meth:`ProviderBackend.submit` returns: one tensor per task and the jobs' facts."""

    outputs: list[torch.Tensor]
    job_ids: tuple[str, ...] = ()
    queue_s: float = 0.0
    run_s: float = 0.0


def _kind(m: Any) -> str:
    return {Expval: "expval", Probs: "probs", Sample: "sample", State: "state"}[type(m)]


class ProviderBackend(Backend):
    """A device of a quantum provider, reached through the provider's own SDK.

    A task with ``options["keep_gates"]`` (ZNE's folded circuits) is compiled without
    optimisation, so that no gate is cancelled.

    Args:
        device: the provider's device name.
        shots: default shots per circuit for tasks that give none (``None``: tasks must give
            shots unless the device computes exact values).
        seed: seeds the simulators of local devices (per call, a new draw from this seed).
        budget: a :class:`hqml.accounting.Budget` (or ``{"shots": .., "jobs": .., "money": ..}``)
            for this backend's calls; calls that would exceed it are refused before sending.
        prices: a :class:`hqml.accounting.PriceTable` (default: those of the enclosing
            ``hqml.accounting.track`` block, else the dated public list prices).
        fallback: a backend that runs a call, with a warning, when the device is offline or its
            queue is full.
    """

    provider = "provider"
    capabilities: ProviderCapabilities = ProviderCapabilities()

    def __init__(
        self,
        device: str,
        *,
        shots: int | None = None,
        seed: int | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        prices: PriceTable | None = None,
        fallback: Backend | None = None,
    ):
        if shots is not None and (
            isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1
        ):
            raise ValueError(f"shots must be a positive integer or None, got {shots!r}")
        self.device = device
        self.name = f"{self.provider}:{device}"
        self.shots = None if shots is None else int(shots)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.ledger = Ledger(budget)
        self.prices = prices  # None: the run's (accounting.track) or the defaults
        self.fallback = fallback

    # -- hooks ---------------------------------------------------------------------------------

    def check_gates(self, task: Task) -> None:
        """Raise :class:`UnsupportedRequest` for a gate the device cannot run (default: none)."""

    def plan(self, tasks: Sequence[Task], shots: Sequence[int | None]) -> tuple[int, list[int]]:
        """``(jobs, circuits per task)`` that :meth:`submit` will send (before sending)."""
        raise NotImplementedError

    def submit(
        self, tasks: Sequence[Task], shots: Sequence[int | None], seed: int | None
    ) -> Submission:
        """Send the tasks (packed as :meth:`plan` said) and return their values."""
        raise NotImplementedError

    def rows_per_call(self, task: Task) -> int | None:
        """All rows in one call: the provider packs them into as few jobs as it allows."""
        return None

    def dynamic_fix(self) -> str:
        return (
            f"{self.name} takes no classical feed-forward from hqml; send it to"
            " 'qiskit:aer_simulator', a Qiskit device whose target has if_else (e.g."
            " 'qiskit:fake_manila') or 'pennylane:default.qubit', or simulate it with"
            " backend='statevector' or 'density_matrix'"
        )

    # -- the call ------------------------------------------------------------------------------

    def task_shots(self, task: Task) -> int | None:
        return task.shots if task.shots is not None else self.shots

    def check_task(self, task: Task, shots: int | None) -> None:
        """Refuse, in one line and before sending, what the device cannot run as asked."""
        caps, kind = self.capabilities, _kind(task.measurement)
        n = task.circuit.n_qubits
        if kind not in caps.measurements:
            fix = " use hqml.probs(..., shots=N)" if kind == "probs" else ""
            raise UnsupportedRequest(
                f"{self.name} cannot return {kind}; it measures"
                f" {', '.join(sorted(caps.measurements))}.{fix}"
            )
        if n > caps.max_qubits:
            raise UnsupportedRequest(
                f"{self.name} has {caps.max_qubits} qubits; the circuit needs {n}:"
                " use a wider device or fewer wires"
            )
        if shots is None and not caps.exact:
            raise UnsupportedRequest(
                f"{self.name} measures with shots only and cannot return exact values;"
                " pass shots=N (or create the backend with shots=N)"
            )
        if shots is not None and caps.max_shots is not None and shots > caps.max_shots:
            raise UnsupportedRequest(
                f"{self.name} takes at most {caps.max_shots} shots per circuit; got {shots}"
            )
        if task.circuit.is_dynamic and not caps.dynamic:
            raise UnsupportedRequest(
                f"{self.name} cannot run dynamic circuits (mid-circuit measure, reset or"
                f" classical conditions); {self.dynamic_fix()}"
            )
        if isinstance(task.measurement, Expval):
            for o in task.measurement.observables:
                if not o.is_hermitian():  # a device would keep only the real part, or fail
                    raise UnsupportedRequest(
                        f"observable {o!r} is not Hermitian (complex coefficients); expectation"
                        " values need a Hermitian observable"
                    )
        if task.options.get("noise_model") is not None:
            raise UnsupportedRequest(
                f"{self.name} runs the device's own noise; drop noise_model= (or simulate it"
                " with backend='density_matrix')"
            )
        self.check_gates(task)

    def _call_seed(self, tasks: Sequence[Task]) -> int | None:
        gen = next((t.generator for t in tasks if t.generator is not None), None)
        if gen is not None:
            return int(torch.randint(1, 2**31 - 1, (1,), generator=gen))
        if self.seed is not None:
            return int(self._rng.integers(1, 2**31 - 1))
        return None

    def execute(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        tasks = list(tasks)
        shots = [self.task_shots(t) for t in tasks]
        for t, s in zip(tasks, shots, strict=True):
            self.check_task(t, s)
        jobs, circuits = self.plan(tasks, shots)
        prices = self.prices or active_prices()
        price = prices.price(self.name)
        total_shots = sum(c * (s or 0) for c, s in zip(circuits, shots, strict=True))
        planned = ProviderCall(
            self.name, jobs, sum(circuits), total_shots,
            cost=prices.estimate(self.name, jobs, total_shots),
            priced=price.known, unchecked=price.unchecked(self.name),
        )  # fmt: skip
        check_budgets(planned, self.ledger)  # refuses before anything is sent
        start = time.perf_counter()
        try:
            sub = self.submit(tasks, shots, self._call_seed(tasks))
        except (UnsupportedRequest, BudgetExceeded):
            raise
        except Exception as exc:  # the provider's own errors, typed
            err = classify(self.name, exc)
            if self.fallback is not None and isinstance(err, QueueFull | DeviceOffline):
                warnings.warn(
                    f"{err}; running on the fallback backend {self.fallback.name!r} instead",
                    RuntimeWarning, stacklevel=2,
                )  # fmt: skip
                return self.fallback.execute(tasks)
            raise err from exc
        wall = time.perf_counter() - start
        cost = planned.cost
        if price.min_seconds_per_task:  # billed by run time: the time it took
            cost = prices.estimate(self.name, jobs, total_shots, seconds=sub.run_s or wall)
        call = ProviderCall(
            self.name, jobs, sum(circuits), total_shots, cost=cost,
            queue_s=sub.queue_s, run_s=sub.run_s or wall, job_ids=sub.job_ids,
            priced=planned.priced,
        )  # fmt: skip
        record_call(call, self.ledger)
        return [out.to(device=t.theta.device) for out, t in zip(sub.outputs, tasks, strict=True)]


__all__ = ["ProviderBackend", "ProviderCapabilities", "ProviderError", "Submission"]
