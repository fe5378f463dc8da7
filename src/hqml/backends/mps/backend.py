"""``backend="mps"``: circuits as batched matrix product states, differentiable by backprop or
by a checkpointed sweep (``diff_method="adjoint"``, :mod:`.grad`), noisy by trajectories.

Options: ``max_bond`` (largest bond dimension kept, default 64), ``cutoff`` (compress every
two-qubit gate, dropping the smallest singular values whose summed weight stays under it;
default 0: no compression below ``max_bond``), ``max_truncation`` (raise
:class:`TruncationError` when a row's summed discarded weight exceeds it), ``dtype``
(simulate in complex64 or complex128 whatever the request's precision), ``long_range``
(``"swap"``: distant gates by swap networks; ``"mpo"``: controlled/diagonal ones as MPOs),
``backprop_memory`` (bytes: "best" switches from backprop to the sweep above it),
``checkpoint_every`` (the sweep's segment length), ``trajectories`` and ``seed`` (noise).

Every result carries what the truncations discarded: ``result.truncation`` (a
:class:`Truncation`, also ``backend.last_truncation``; ``backend.worst_truncation`` keeps the
call that discarded most) and a log line on the ``hqml.mps`` logger when anything was
discarded.

>>> import hqml
>>> from hqml.backends import get_backend
>>> be = get_backend("mps", max_bond=2)
>>> c = hqml.Circuit(3).h(0).cnot(0, 1).cnot(1, 2)
>>> v = hqml.expval(c, hqml.Z(0) @ hqml.Z(2), backend=be)
>>> round(float(v), 6), be.last_truncation.exact
(1.0, True)
"""

from __future__ import annotations

import logging
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import torch

from ...circuit.circuit import Circuit
from ...circuit.gates import real_dtype
from ...circuit.observables import PauliSum, Word, observable_terms
from ...limits import format_bytes
from ...sim import mps_measure as measure
from ...sim.mps import MPS, Options, Truncation, worst
from ...sim.mps_gates import apply_gate
from ..base import Backend, Capabilities, Expval, Probs, Sample, State, Task
from . import grad, memory
from .apply import Local, Plan, local_plans, mpo_plans, simulate
from .noise import execute_noisy

log = logging.getLogger("hqml.mps")


class TruncatedGradientWarning(UserWarning):
    """A gradient was asked of an MPS simulation that truncated: it is approximate."""


def _warn_truncated_gradient(report: Truncation) -> None:
    """Warn that a gradient is approximate, unless no cut dropped a singular value."""
    if report.full_rank:
        return
    if report.exact:  # values exact, but the dropped (zero) singular values' directions are lost
        warnings.warn(
            f"mps: gradient of a simulation whose cuts dropped singular values of zero weight"
            f" ({report.dropped} cut(s); the values are exact): the derivative along the"
            " directions they span is lost, so the gradient can be wrong; use cutoff=0 and a"
            " max_bond above the bonds reached to get the exact gradient",
            TruncatedGradientWarning,
            stacklevel=2,
        )
        return
    warnings.warn(
        f"mps: gradient of a truncated simulation ({report.summary()}): the derivative of the"
        " truncations themselves is not included, so it can differ from finite differences of"
        " the truncated values; raise max_bond until result.truncation.exact to trust it",
        TruncatedGradientWarning,
        stacklevel=2,
    )


MAX_QUBITS = 1024
STATE_MAX_QUBITS = 24  # a dense state from an MPS: 2^24 amplitudes per row (128 MiB complex64)
PROBS_MAX_WIRES = 20
_ROTATE = {
    "X": [[2**-0.5, 2**-0.5], [2**-0.5, -(2**-0.5)]],  # H
    "Y": [[2**-0.5, -1j * 2**-0.5], [2**-0.5, 1j * 2**-0.5]],  # H S^dagger
}


def _options(max_bond: Any, cutoff: Any, max_truncation: Any) -> Options:
    if isinstance(max_bond, bool) or not isinstance(max_bond, numbers.Integral) or max_bond < 1:
        raise ValueError(f"mps: max_bond must be a positive integer, got {max_bond!r}")
    if isinstance(cutoff, bool) or not isinstance(cutoff, numbers.Real) or not 0 <= cutoff < 1:
        raise ValueError(f"mps: cutoff must be a number in [0, 1), got {cutoff!r}")
    if max_truncation is not None and (
        isinstance(max_truncation, bool)
        or not isinstance(max_truncation, numbers.Real)
        or max_truncation < 0
    ):
        raise ValueError(f"mps: max_truncation must be a number >= 0, got {max_truncation!r}")
    mt = None if max_truncation is None else float(max_truncation)
    return Options(int(max_bond), float(cutoff), mt)


def _count(name: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"mps: {name} must be an integer >= {least}, got {value!r}")


class MPSBackend(Backend):
    """Matrix product state simulation (batched, torch, CPU or CUDA)."""

    name = "mps"
    capabilities = Capabilities(
        max_qubits=MAX_QUBITS,
        diff_methods=frozenset({"backprop", "adjoint", "parameter-shift", "finite-diff", "spsa"}),
        holds_state=False,
        supports_noise=True,  # by Monte Carlo trajectories (.noise)
        reusable=True,
    )

    def __init__(
        self,
        max_bond: int = 64,
        cutoff: float = 0.0,
        max_truncation: float | None = None,
        dtype: torch.dtype | None = None,
        backprop_memory: int = 2**30,
        checkpoint_every: int | None = None,
        trajectories: int = 100,
        seed: int | None = None,
        long_range: str = "swap",
    ):
        self.options = _options(max_bond, cutoff, max_truncation)
        _count("backprop_memory", backprop_memory, 1)
        _count("trajectories", trajectories, 1)
        if checkpoint_every is not None:
            _count("checkpoint_every", checkpoint_every, 1)
        if seed is not None:
            _count("seed", seed, 0)
        self.backprop_memory = int(backprop_memory)
        self.checkpoint_every = checkpoint_every
        self.trajectories, self.seed = int(trajectories), seed
        if long_range not in ("mpo", "swap"):
            raise ValueError(f"mps: long_range must be 'mpo' or 'swap', got {long_range!r}")
        self.long_range = long_range
        if dtype is not None and dtype not in (torch.complex64, torch.complex128):
            raise ValueError(f"mps: dtype must be torch.complex64 or torch.complex128, got {dtype}")
        self.dtype = dtype
        self.last_truncation: Truncation | None = None
        self.worst_truncation: Truncation | None = None  # the most discarded over every call

    def __repr__(self) -> str:
        o = self.options
        return f"<MPSBackend max_bond={o.max_bond} cutoff={o.cutoff:g}>"

    def rows_per_call(self, task: Task) -> int:
        """Rows of theta a shifted-copy gradient stacks into one call: the statevector's budget
        of complex numbers spent on MPS rows priced from the bonds the circuit can reach
        (:mod:`.memory`), not on ``2^n`` amplitudes."""
        noisy = task.options.get("noise_model") is not None
        traj = self.trajectories if noisy else 1
        return memory.rows_per_call(task, self.options.max_bond, self._mpo(task.circuit), traj)

    def _mpo(self, circuit: Circuit) -> list[bool] | None:
        """Which operations go as MPOs (``None``: none, all by swaps)."""
        plans = self._plans(circuit)
        return None if plans is None else [p is not None for p in plans]

    def prefers_backprop(self, task: Task) -> bool:
        """Backprop (faster) while its estimated saved tensors stay under ``backprop_memory``;
        above, the checkpointed sweep of :mod:`.grad` (memory ``~sqrt(depth)``)."""
        dtype = self.dtype or task.dtype
        rows = task.theta.shape[0]
        need = grad.backprop_bytes(task.circuit, rows, dtype, self.options.max_bond)
        return need <= self.backprop_memory

    def execute_for_vjp(self, task: Task) -> tuple[torch.Tensor, Any]:
        """The values (no autograd) and the checkpoints of the sweep (:mod:`.grad`)."""
        m = task.measurement
        if not isinstance(m, (Expval, Probs)) or task.shots is not None:
            raise ValueError(
                "mps: diff_method='adjoint' differentiates exact expval and probs;"
                " use diff_method='parameter-shift' (shots) or 'backprop'"
            )
        self._check(task)
        dtype = self.dtype or task.dtype
        theta = task.theta.to(real_dtype(dtype))
        every = self.checkpoint_every
        plans = self._plans(task.circuit)
        local = self._local(task.circuit)
        mps, saved = grad.forward(
            task.circuit, theta, dtype, self.options, task.varying, every, plans, local
        )
        with torch.no_grad():
            out = self._finish(self._measure(mps, task), task)
        self._report(out, mps.report)
        _warn_truncated_gradient(mps.report)
        return out, (task, saved)

    def finish_vjp(self, saved: Any, cotangent: torch.Tensor) -> torch.Tensor:
        task, checkpoints = saved
        g = grad.sweep(checkpoints, lambda mps: self._measure(mps, task), cotangent)
        return g.to(task.theta.dtype)

    def simulate(self, task: Task) -> MPS:
        """The task's final MPS, one row per row of ``task.theta``."""
        dtype = self.dtype or task.dtype
        theta = task.theta.to(real_dtype(dtype))
        plans = self._plans(task.circuit)
        local = self._local(task.circuit)
        return simulate(task.circuit, theta, dtype, self.options, task.varying, plans, local)

    def _local(self, circuit: Circuit) -> list[Local]:
        """Which neighbouring gates go by their operator Schmidt split, kept with the circuit."""
        return circuit.cached(("hqml.backends.mps", "local-plans"), lambda: local_plans(circuit))

    def _plans(self, circuit: Circuit) -> list[Plan] | None:
        """How distant two-qubit gates go (``None``: all by swaps), kept with the circuit."""
        if self.long_range == "swap":
            return None
        return circuit.cached(("hqml.backends.mps", "mpo-plans"), lambda: mpo_plans(circuit))

    def overlaps(self, bra: Task, ket: Task) -> torch.Tensor:
        """``<psi(bra_i)|psi(ket_j)>`` as MPS inner products: ``(N, M)``; the result's
        ``truncation`` is the bra's and ket's reports, combined (fidelity: the product)."""
        for t in (bra, ket):
            self._price(t, measured=False)
        a, b = self.simulate(bra), self.simulate(ket)
        out = measure.overlap_matrix(a, b).to(bra.dtype)
        ra, rb = a.report, b.report
        report = Truncation(
            ra.discarded.max() + rb.discarded.max(),
            ra.fidelity.min() * rb.fidelity.min(),
            ra.count + rb.count,
            max(ra.max_bond, rb.max_bond),
            ra.cuts + rb.cuts,
            ra.dropped + rb.dropped,
        )
        report.discarded, report.fidelity = report.discarded[None], report.fidelity[None]
        self._report(out, report)
        return out

    def _report(self, out: torch.Tensor, report: Truncation) -> None:
        self.last_truncation = report
        # a copy where the largest bond changes: an earlier result's report stays as it was
        self.worst_truncation = worst(self.worst_truncation, report)
        out.truncation = report  # type: ignore[attr-defined]
        if not report.exact:
            log.info("%s", report.summary())

    def execute(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        return [self._execute_one(t) for t in tasks]

    def _execute_one(self, task: Task) -> torch.Tensor:
        self._check(task, backprop=torch.is_grad_enabled() and task.theta.requires_grad)
        if task.options.get("noise_model") is not None:
            dtype = self.dtype or task.dtype
            out, report = execute_noisy(task, dtype, self.options, self.trajectories, self.seed)
            out = self._finish(out, task)
            self._report(out, report)
            if out.requires_grad:  # backprop through the trajectories' truncations
                _warn_truncated_gradient(report)
            return out
        mps = self.simulate(task)
        out = self._finish(self._measure(mps, task), task)
        self._report(out, mps.report)
        if out.requires_grad:  # backprop through the truncations
            _warn_truncated_gradient(mps.report)
        return out

    def _finish(self, out: torch.Tensor, task: Task) -> torch.Tensor:
        rows = task.theta.shape[0]
        if out.shape[0] != rows:
            out = out.expand(rows, *out.shape[1:])
        if out.is_floating_point():
            return out.to(real_dtype(task.dtype))
        if out.is_complex():
            return out.to(task.dtype)
        return out

    def _price(self, task: Task, backprop: bool = False, measured: bool = True) -> None:
        """Refuse, before simulating, rows whose MPS do not fit in memory (:mod:`.memory`)."""
        noisy = task.options.get("noise_model") is not None
        memory.check_memory(
            task,
            self.dtype or task.dtype,
            self.options.max_bond,
            None if noisy else self._mpo(task.circuit),
            self.trajectories if noisy else 1,
            backprop=backprop,
            measured=measured,
        )

    def _check(self, task: Task, backprop: bool = False) -> None:
        """Refuse, before simulating, a dense result too large to build, or rows whose MPS
        would not fit in memory."""
        m = task.measurement
        n = task.circuit.n_qubits
        if isinstance(m, State) and n > STATE_MAX_QUBITS:
            need = format_bytes(2**n * task.dtype.itemsize)
            raise ValueError(
                f"mps: the state of {n} qubits has 2^{n} amplitudes ({need} per row), over the"
                f" {STATE_MAX_QUBITS}-qubit limit of state(); ask for expval, probs or sample"
            )
        if isinstance(m, Probs) and len(m.wires) > PROBS_MAX_WIRES:
            raise ValueError(
                f"mps: probs on {len(m.wires)} wires has 2^{len(m.wires)} values per row;"
                f" ask for at most {PROBS_MAX_WIRES} wires, or sample"
            )
        self._price(task, backprop)

    def _measure(self, mps: MPS, task: Task) -> torch.Tensor:
        m = task.measurement
        if isinstance(m, State):
            return measure.dense_state(mps)
        if isinstance(m, Probs):
            return measure.probs(mps, m.wires)
        if isinstance(m, Sample):
            return measure.sample(mps, m.wires, task.shots or 1, task.generator)
        if isinstance(m, Expval):
            words, coeffs = observable_terms(m.observables)
            if task.shots is None:
                values = measure.expval_words(mps, words)
            else:
                values = self._sampled_words(mps, words, task.shots, task.generator)
            return values @ torch.as_tensor(coeffs, dtype=values.dtype, device=values.device)
        raise TypeError(f"unknown measurement {m!r}")

    def _sampled_words(
        self, mps: MPS, words: list[Word], shots: int, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Pauli words estimated from ``shots`` samples per qubit-wise commuting group."""
        a = mps.tensors[0]
        real = a.real.dtype
        values: dict[Word, torch.Tensor] = {(): torch.ones(a.shape[0], dtype=real, device=a.device)}
        for group in PauliSum({w: 1.0 for w in words if w}).group_qwc():
            basis: dict[int, str] = {}
            for word in group.terms:
                basis.update(word)
            rotated = MPS(list(mps.tensors), list(mps.left_iso), list(mps.right_iso), mps.options)
            for w, p in basis.items():
                if p != "Z":
                    rot = torch.tensor(_ROTATE[p], dtype=a.dtype, device=a.device)
                    apply_gate(rotated, rot, [w])
            wires = sorted(basis)
            bits = measure.sample(rotated, wires, shots, generator)  # (B, S, k)
            for word in group.terms:
                sel = [wires.index(w) for w, _ in word]
                parity = bits[..., sel].sum(-1) % 2
                values[word] = (1 - 2 * parity).to(real).mean(-1)
        return torch.stack([values[w] for w in words], dim=1)
