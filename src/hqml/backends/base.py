"""The backend protocol: one required method, ``execute(tasks)``; the rest is declared.

A :class:`Task` is one circuit with its evaluated gate parameters ``theta`` (B, P) and one
measurement. Backends return one tensor per task: expectation values ``(B, K)``,
probabilities ``(B, 2**k)``, samples ``(B, shots, k)`` or states ``(B, 2**n)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum


@dataclass(frozen=True)
class Expval:
    observables: tuple[PauliSum, ...]


@dataclass(frozen=True)
class Probs:
    wires: tuple[int, ...]


@dataclass(frozen=True)
class Sample:
    wires: tuple[int, ...]


@dataclass(frozen=True)
class State:
    pass


Measurement = Expval | Probs | Sample | State


@dataclass
class Task:
    """One circuit execution request."""

    circuit: Circuit
    theta: torch.Tensor  # (B, P) real: gate parameters in circuit order
    measurement: Measurement
    dtype: torch.dtype = torch.complex64
    shots: int | None = None
    generator: torch.Generator | None = None
    varying: tuple[bool, ...] | None = None  # per column: differs between rows of theta?
    options: dict[str, Any] = field(default_factory=dict)
    # per column: does the caller need its gradient? (None: every column may)
    needs_grad: tuple[bool, ...] | None = None
    # backends' notes on this request (e.g. the engine chosen); read them through notes().
    # Not an init field: dataclasses.replace starts a new, empty one.
    _memo: dict[str, Any] = field(init=False, default_factory=dict, compare=False, repr=False)

    @property
    def memo(self) -> dict[str, Any]:
        """Backends' notes on this request, emptied whenever the circuit has been edited since
        they were written. :meth:`with_theta` shares them for the same batch size, device and
        ``varying``."""
        token = self.circuit._cache.get(_MEMO_TOKEN)
        if token is None:
            token = self.circuit._cache[_MEMO_TOKEN] = object()
        memo = self._memo
        if memo.get(_MEMO_TOKEN) is not token:
            memo.clear()
            memo[_MEMO_TOKEN] = token
        return memo

    def __getstate__(self) -> dict[str, Any]:  # notes stay in this process
        return {k: v for k, v in self.__dict__.items() if k != "_memo"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _memo={})

    def with_theta(self, theta: torch.Tensor, varying: tuple[bool, ...] | None = None) -> Task:
        out = Task(
            self.circuit,
            theta,
            self.measurement,
            self.dtype,
            self.shots,
            self.generator,
            varying,
            self.options,
            self.needs_grad,
        )
        if (
            theta.shape[0] == self.theta.shape[0]
            and theta.device == self.theta.device
            and varying == self.varying
        ):
            out._memo = self._memo
        return out


# key of the circuit's token that dates a task's memo (the circuit's cache is cleared on edits)
_MEMO_TOKEN = "task-memo"


@dataclass(frozen=True)
class Capabilities:
    """What a backend declares it can do."""

    max_qubits: int = 30
    diff_methods: frozenset[str] = frozenset({"parameter-shift", "finite-diff", "spsa"})
    supports_shots: bool = True
    shots_only: bool = False
    supports_noise: bool = False
    measurements: frozenset[str] = frozenset({"expval", "probs", "sample", "state"})


class Backend(ABC):
    """Base class of backends. Subclasses implement :meth:`execute`; :meth:`vjp` is optional."""

    name: str = "backend"
    capabilities: Capabilities = Capabilities()

    @abstractmethod
    def execute(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        """Run each task; differentiable by autograd when ``"backprop"`` is declared."""

    def vjp(self, task: Task, cotangent: torch.Tensor) -> torch.Tensor:
        """``d(sum(cotangent * output))/dtheta`` for an expval or probs task (adjoint method)."""
        raise NotImplementedError(f"backend {self.name!r} does not provide the adjoint method")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
