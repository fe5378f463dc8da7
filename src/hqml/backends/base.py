"""The backend protocol: one required method, ``execute(tasks)``; the rest is declared.

A :class:`Task` is one circuit with its evaluated gate parameters ``theta`` (B, P) and one
measurement. Backends return one tensor per task: expectation values ``(B, K)``,
probabilities ``(B, 2**k)``, samples ``(B, shots, k)`` or states ``(B, 2**n)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

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
        token = self.circuit.cached(_MEMO_TOKEN, object)
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
_MEMO_TOKEN = ("hqml.backends.base", "task-memo")
# a simulator's memory bound on one call's stacked rows (rows x 2**n amplitudes)
MAX_STACKED_AMPLITUDES = 2**25


@dataclass(frozen=True)
class Capabilities:
    """What a backend declares it can do.

    ``diff_methods`` lists the differentiation methods ``hqml.grad`` may use with it:
    ``"parameter-shift"``, ``"finite-diff"`` and ``"spsa"`` need only :meth:`Backend.execute`;
    ``"adjoint"`` needs :meth:`Backend.vjp` (or :meth:`Backend.execute_for_vjp` with
    :meth:`Backend.finish_vjp`); ``"backprop"`` needs an ``execute`` that autograd records.
    """

    max_qubits: int = 30
    diff_methods: frozenset[str] = frozenset({"parameter-shift", "finite-diff", "spsa"})
    supports_shots: bool = True
    shots_only: bool = False
    supports_noise: bool = False
    measurements: frozenset[str] = frozenset({"expval", "probs", "sample", "state"})
    # whether execute holds 2^n amplitudes per row (the front door prices them first)
    holds_state: bool = True
    # runs dynamic circuits (mid-circuit measurement, reset, classical conditions)?
    dynamic: bool = False
    # may one instance serve every call of a repeated request? The front door then keeps it,
    # with the request's decisions (binding, differentiation method, runner), and later calls
    # of the request skip them. Local simulators say yes; adapters that count or price each
    # call say no (the default), and each call goes the generic way.
    reusable: bool = False


class Runner(Protocol):
    """What runs the tasks of one request (:meth:`Backend.runner`): values and, with ``keep``,
    a record for :meth:`backward`; ``backward`` gives ``d(sum(cotangent * values))/dtheta``."""

    def forward(self, task: Task, keep: bool) -> tuple[torch.Tensor, Any]: ...

    def backward(self, record: Any, cotangent: torch.Tensor) -> torch.Tensor: ...


class BackendRunner:
    """The default runner: the backend's own hooks (:meth:`Backend.execute`, and
    :meth:`Backend.execute_for_vjp` with :meth:`Backend.finish_vjp` for the adjoint method)."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def forward(self, task: Task, keep: bool) -> tuple[torch.Tensor, Any]:
        if keep:
            return self.backend.execute_for_vjp(task)
        return self.backend.execute([task])[0], None

    def backward(self, record: Any, cotangent: torch.Tensor) -> torch.Tensor:
        return self.backend.finish_vjp(record, cotangent)


class Backend(ABC):
    """Base class of backends: the whole contract between ``hqml.execute``/``hqml.grad`` and a
    backend.

    Only :meth:`execute` is required. Every other hook has a default that is correct for any
    backend; a backend overrides one to be faster or to gain a differentiation method (declared
    in :attr:`capabilities`):

    - :meth:`runner`: what runs a request's tasks, decided once per request (default: this
      backend's own hooks);
    - :meth:`prepare`: a prepared call for a request repeated with new tensors (default: none);
    - :meth:`prefers_backprop`: ``"best"`` picks backprop over adjoint for a task (default no);
    - the adjoint method: :meth:`vjp`, or the pair :meth:`execute_for_vjp` (a forward pass that
      keeps what the backward sweep needs) and :meth:`finish_vjp` (the sweep). Implementing the
      pair gives ``vjp`` for free; implementing ``vjp`` alone gives a backward pass that runs the
      forward again.
    """

    name: str = "backend"
    capabilities: Capabilities = Capabilities()

    @abstractmethod
    def execute(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        """Run each task; differentiable by autograd when ``"backprop"`` is declared."""

    def prepare(self, task: Task, link: Any, diff_method: str) -> Any:
        """A prepared call for a request the front door will repeat, or ``None`` (the default:
        later calls run the request's :meth:`runner`). Asked once per request, for exact,
        noiseless requests without a seed whose ``diff_method`` resolved to ``"adjoint"`` and
        whose gate parameters are plain values of the given tensors (``link``, a
        :class:`hqml.circuit.params.Link`, says how). A prepared call is a run of
        :class:`hqml.grad.adjoint.Adjoint` that takes the given tensors in declaration order
        (``forward(tensors)`` -> values and a record, ``sweep(record, cotangent)``,
        ``grads(swept, needed)``)."""
        return None

    def runner(self, task: Task, method: str) -> Runner:
        """What runs ``task`` (and the later tasks of its request, which differ only in theta)
        for the differentiation ``method`` (``"none"`` when nothing is differentiated; for
        ``"backprop"`` autograd must record it). Default: :class:`BackendRunner`, the
        backend's own hooks; a simulator returns its engine bound to the request."""
        return BackendRunner(self)

    def diff_methods_for(self, task: Task) -> frozenset[str]:
        """The differentiation methods usable for ``task`` (default: those declared in
        :attr:`capabilities`); a backend narrows them for requests it runs another way."""
        return self.capabilities.diff_methods

    def rows_per_call(self, task: Task) -> int | None:
        """How many rows of theta ``hqml.grad`` stacks into one :meth:`execute` call when it
        evaluates shifted copies of ``task`` (``None``: all of them in one call). Default: a
        simulator's memory bound, :data:`MAX_STACKED_AMPLITUDES` amplitudes per call."""
        return max(1, MAX_STACKED_AMPLITUDES // 2**task.circuit.n_qubits)

    def prefers_backprop(self, task: Task) -> bool:
        """Whether ``diff_method="best"`` should use backprop rather than adjoint for ``task``
        (asked only of backends that declare both). Default: no, adjoint holds less memory."""
        return False

    def execute_for_vjp(self, task: Task) -> tuple[torch.Tensor, Any]:
        """The task's values and what :meth:`finish_vjp` needs for their gradient.

        Default: the values of :meth:`execute` (without autograd) and the task itself, for which
        :meth:`finish_vjp` calls :meth:`vjp` (a backward pass that runs the forward again)."""
        with torch.no_grad():
            return self.execute([task])[0], task

    def finish_vjp(self, saved: Any, cotangent: torch.Tensor) -> torch.Tensor:
        """``d(sum(cotangent * output))/dtheta`` ``(B, P)`` from what :meth:`execute_for_vjp`
        kept (it may consume ``saved``). Default: :meth:`vjp` of the kept task."""
        return self.vjp(saved, cotangent)

    def vjp(self, task: Task, cotangent: torch.Tensor) -> torch.Tensor:
        """``d(sum(cotangent * output))/dtheta`` for an expval or probs task (adjoint method).

        Default: :meth:`execute_for_vjp` then :meth:`finish_vjp`, when the backend implements
        that pair."""
        _, saved = self.execute_for_vjp(task)
        if saved is task:  # neither the pair nor vjp is implemented
            raise NotImplementedError(
                f"backend {self.name!r} does not provide the adjoint method;"
                " use diff_method='parameter-shift' or 'finite-diff'"
            )
        return self.finish_vjp(saved, cotangent)

    def dynamic_fix(self) -> str:
        """Where to run a dynamic circuit instead, for a backend whose capabilities say it
        cannot (the end of the front door's one-line refusal)."""
        return "use backend='statevector' or 'density_matrix'"

    def overlaps(self, bra: Task, ket: Task) -> torch.Tensor:
        """``<psi(bra row i)|psi(ket row j)>``: ``(N, M)`` complex, for two tasks of the same
        circuit (their ``State`` measurement is implied). Default: the two batches of states
        from :meth:`execute` and one matrix product; a backend that holds no statevector (MPS)
        overrides it."""
        psi = self.execute([replace(bra, measurement=State()), replace(ket, measurement=State())])
        return psi[0].conj() @ psi[1].T

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
