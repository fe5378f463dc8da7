"""The torch plan engines: a circuit's cached plan (:mod:`.plan`) materialised into fused steps
(:mod:`.materialize`), run by the kernels of :mod:`hqml.sim.fused`, and measured.

One class, three engines named by how single-qubit layers run: ``dense`` (one ``2^n x 2^n``
GEMM per layer on few qubits), ``layered`` (chunks of neighbouring wires) and ``native-layers``
(the compiled layer kernels of :mod:`hqml.sim.native`). Autograd records the forward pass
(backprop); the adjoint sweep runs without autograd and takes the steps' cotangents back to
``theta`` analytically (:mod:`.chain`). An engine bound to a request (:class:`PlanRun`) holds its
plan and its observables' terms, so that a repeated request goes from the front door to the
kernels without planning or reading observables again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from ...circuit.observables import PauliSum, Word, observable_terms, z_only
from ...sim import measure
from ...sim.fused import Step, adjoint_cotangents, run_steps
from ...sim.statevector import apply_diagonal, apply_matrix
from ...sim.zwords import ZBasis, zbasis
from ..base import Expval, Probs, Sample, State, Task
from .chain import theta_gradient
from .materialize import materialize
from .plan import Plan, get_plan


@dataclass
class PlanRecord:
    """What the plan engines' adjoint sweep reads."""

    engine: PlanRun  # the run that made the record
    task: Task
    theta: torch.Tensor
    steps: list[Step]
    state: torch.Tensor  # (B, 2**n) final states


class PlanRun:
    """A plan engine bound to one request: its plan and its observables' terms."""

    def __init__(self, native_layers: bool, plan: Plan, terms: Any):
        self.native_layers, self.plan, self.terms = native_layers, plan, terms

    def steps(self, task: Task, theta: torch.Tensor, dense_batched: bool = True,
              tape: list | None = None) -> list[Step]:  # fmt: skip
        return materialize(self.plan, task.circuit, theta, task.dtype, self.native_layers,
                           dense_batched, tape)  # fmt: skip

    def forward(self, task: Task, keep: bool) -> tuple[torch.Tensor, Any]:
        if keep:
            return self._forward_kept(task)
        n = task.circuit.n_qubits
        state = run_steps(None, n, self.steps(task, task.theta), task.dtype, task.theta.device)
        bs = task.theta.shape[0]
        if state.shape[0] != bs:
            state = state.expand(bs, -1)
        return measure_state(task, state, self.terms), None

    def _forward_kept(self, task: Task) -> tuple[torch.Tensor, PlanRecord]:
        """The forward pass keeping the final state and the gate data with a record of how it
        was built (for the analytic chain rule to ``theta``)."""
        n = task.circuit.n_qubits
        theta = task.theta.detach()
        with torch.no_grad():
            steps = self.steps(task, theta, False, [])
            state = run_steps(None, n, steps, task.dtype, theta.device)
            bs = theta.shape[0]
            if state.shape[0] != bs:
                state = state.expand(bs, -1)
            out = measure_state(task, state, self.terms)
        return out, PlanRecord(self, task, theta, steps, state)

    def backward(self, saved: PlanRecord, cotangent: torch.Tensor) -> torch.Tensor:
        n = saved.task.circuit.n_qubits
        with torch.no_grad():
            bs = max(saved.state.shape[0], cotangent.shape[0])
            state = saved.state.expand(bs, -1)
            lam = cotangent_state(state, n, saved.task.measurement, cotangent, self.terms)
            cots = adjoint_cotangents(state, lam, n, saved.steps)
            return theta_gradient(saved.steps, cots, saved.theta)


class TorchPlanEngine:
    """The torch plan, its layers run as ``name`` says."""

    autograd = True

    def __init__(self, name: str, native_layers: bool):
        self.name, self.native_layers = name, native_layers

    def __repr__(self) -> str:
        return f"<engine {self.name}>"

    def supports(self, task: Task) -> bool:
        return True

    def bind(self, task: Task) -> PlanRun:
        plan = get_plan(task.circuit, task.varying, task.theta.shape[0] > 1)
        m = task.measurement
        terms = expval_terms(m.observables) if isinstance(m, Expval) else None
        return PlanRun(self.native_layers, plan, terms)

    def forward(self, task: Task, keep: bool) -> tuple[torch.Tensor, Any]:
        return self.bind(task).forward(task, keep)


DENSE = TorchPlanEngine("dense", native_layers=False)
LAYERED = TorchPlanEngine("layered", native_layers=False)
NATIVE_LAYERS = TorchPlanEngine("native-layers", native_layers=True)


# Z words measured as |psi|^2 @ signs while the (2^n, T) sign table stays this small
_ZSIGN_MAX_ELEMENTS = 2**24


def measure_state(task: Task, state: torch.Tensor, terms: Any = None) -> torch.Tensor:
    """The task's measurement of the final states ``(B, 2**n)`` (``terms``: the observables'
    :func:`~hqml.circuit.observables.observable_terms`, when known)."""
    n = task.circuit.n_qubits
    m = task.measurement
    if isinstance(m, State):
        return state
    if isinstance(m, Probs):
        return measure.probabilities(state, n, m.wires)
    if isinstance(m, Sample):
        probs = measure.probabilities(state, n, m.wires)
        idx = measure.sample_indices(probs, task.shots or 1, task.generator)
        return measure.indices_to_bits(idx, len(m.wires))
    if isinstance(m, Expval):
        words, coeffs, z = terms or expval_terms(m.observables)
        if task.shots is None:
            values = _exact_words(state, n, words, z)
        else:
            values = _sampled_words(state, n, words, task.shots, task.generator)
        return values @ torch.as_tensor(coeffs, dtype=values.dtype, device=values.device)
    raise TypeError(f"unknown measurement {m!r}")


def _sampled_words(
    state: torch.Tensor,
    n: int,
    words: list[Word],
    shots: int,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Estimate each word from ``shots`` samples of its qubit-wise commuting group's basis."""
    bs = state.shape[0]
    out = torch.zeros(bs, len(words), dtype=state.real.dtype, device=state.device)
    groups = PauliSum({w: 1.0 for w in words if w}).group_qwc()
    h = torch.tensor([[1, 1], [1, -1]], dtype=state.dtype, device=state.device) / 2**0.5
    hsdg = h @ torch.tensor([[1, 0], [0, -1j]], dtype=state.dtype, device=state.device)
    index = {w: i for i, w in enumerate(words)}
    if () in index:
        out[:, index[()]] = 1.0
    for group in groups:
        basis: dict[int, str] = {}
        for word in group.terms:
            basis.update(word)
        wires = sorted(basis)
        rotated = state
        for w in wires:
            if basis[w] == "X":
                rotated = apply_matrix(rotated, n, h, [w])
            elif basis[w] == "Y":
                rotated = apply_matrix(rotated, n, hsdg, [w])
        probs = measure.probabilities(rotated, n, wires)
        # the group's outcome counts (a multinomial draw: the shots' sufficient statistic)
        counts = measure.sample_counts(probs, shots, generator)
        signs = measure.word_signs(
            len(wires), [[wires.index(w) for w, _ in word] for word in group.terms]
        )
        values = counts @ torch.from_numpy(signs).to(counts) / shots
        for t, word in enumerate(group.terms):
            out[:, index[word]] = values[:, t].to(out.dtype)
    return out


def _zsigns(n: int, words: list[Word], dtype: torch.dtype, device: Any) -> torch.Tensor:
    """``(2**n, T)`` eigenvalues of Z-type words on every basis state (cached)."""
    return _zsigns_cached(n, tuple(words), dtype, str(device))


@lru_cache(maxsize=64)
def _zsigns_cached(n: int, words: tuple, dtype: torch.dtype, device: str) -> torch.Tensor:
    signs = measure.word_signs(n, [[w for w, _ in word] for word in words])
    return torch.from_numpy(signs).to(dtype=dtype, device=device)


def expval_terms(observables: Any) -> tuple[list[Word], Any, bool]:
    """The observables' unique words, their coefficient matrix (``observable_terms``), and
    whether every word is a Z word (measured from ``|psi|^2``)."""
    words, coeffs = observable_terms(observables)
    return words, coeffs, bool(words) and z_only(words)


def _zbasis(n: int, words: list[Word]) -> ZBasis:
    """Z words as a :class:`~hqml.sim.zwords.ZBasis` (beyond the sign table's size)."""
    return zbasis(n, tuple(tuple(sorted(w for w, _ in word)) for word in words))


def _exact_words(state: torch.Tensor, n: int, words: list[Word], z: bool) -> torch.Tensor:
    if not z:
        return measure.expval_words(state, n, words)
    probs = torch.mul(state.real, state.real).addcmul_(state.imag, state.imag)  # one buffer
    if len(words) * 2**n <= _ZSIGN_MAX_ELEMENTS:
        return probs @ _zsigns(n, words, probs.dtype, state.device)
    return _zbasis(n, words).correlate(probs)


def cotangent_state(
    state: torch.Tensor, n: int, m: Any, cotangent: torch.Tensor, terms: Any = None
) -> torch.Tensor:
    """``O psi`` for the Hermitian ``O`` whose expectation the cotangent weighs."""
    if isinstance(m, Probs):
        return apply_diagonal(state, n, cotangent.to(state.dtype), m.wires)
    if not isinstance(m, Expval):
        raise ValueError("the adjoint method differentiates expval and probs only")
    words, coeffs, z = terms or expval_terms(m.observables)
    rdt = state.real.dtype
    w = cotangent.to(rdt) @ torch.as_tensor(coeffs.T, dtype=rdt, device=state.device)  # (B, T)
    if z and len(words) * 2**n <= _ZSIGN_MAX_ELEMENTS:
        return state * (w @ _zsigns(n, words, rdt, state.device).T)
    if z:
        return state * _zbasis(n, words).diagonal(w)
    lam = torch.zeros_like(state)
    for t, word in enumerate(words):
        lam = lam + w[:, t : t + 1] * measure.apply_word(state, n, word)
    return lam
