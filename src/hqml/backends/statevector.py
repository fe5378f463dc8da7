"""The local batched statevector simulator as a backend (``"statevector"``)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum
from ..sim import measure, native
from ..sim.fused import Step, adjoint_cotangents, run_steps
from ..sim.program import Instruction
from ..sim.statevector import apply_diagonal, zero_state
from . import small, small_native
from .base import Backend, Capabilities, Expval, Probs, Sample, State, Task
from .chain import theta_gradient
from .materialize import gate_step, materialize
from .plan import get_plan


def build_program(
    circuit: Circuit,
    theta: torch.Tensor,
    dtype: torch.dtype,
    varying: Sequence[bool] | None = None,
) -> list[Instruction]:
    """One unfused instruction per operation (the noisy simulators insert channels between)."""
    batched_theta = theta.shape[0] > 1
    program: list[Instruction] = []
    col = 0
    for op in circuit.ops:
        cols = tuple(range(col, col + op.gate.num_params))
        col += op.gate.num_params
        batched = batched_theta and (varying is None or any(varying[c] for c in cols))
        step = gate_step(op, cols, batched, theta, dtype)
        program.append(Instruction(step.kind, step.wires, step.data, cols))
    return program


def observable_terms(observables: Sequence[PauliSum]) -> tuple[list[tuple], np.ndarray]:
    """Unique Pauli words across observables and the real coefficient matrix ``C`` (T, K)."""
    index: dict[tuple, int] = {}
    entries = []
    for k, obs in enumerate(observables):
        if not obs.is_hermitian():
            raise ValueError(
                f"observable {obs!r} is not Hermitian (complex coefficients); "
                "expectation values need a Hermitian observable"
            )
        for word, c in obs.terms.items():
            t = index.setdefault(word, len(index))
            entries.append((t, k, c.real))
    coeffs = np.zeros((len(index), len(observables)))
    for t, k, c in entries:
        coeffs[t, k] += c
    return list(index), coeffs


class StatevectorBackend(Backend):
    """Exact batched statevector simulation in torch (CPU or CUDA)."""

    name = "statevector"
    capabilities = Capabilities(
        max_qubits=30,
        diff_methods=frozenset({"backprop", "adjoint", "parameter-shift", "finite-diff", "spsa"}),
        supports_noise=True,  # by Monte Carlo trajectories (hqml.noise.trajectories)
    )

    def __init__(self, **options: Any):
        self.options = options

    # --- forward ----------------------------------------------------------------------------
    def _steps(self, task: Task, theta: torch.Tensor, dense_batched: bool = True) -> list[Step]:
        plan = get_plan(task.circuit, task.varying, theta.shape[0] > 1)
        return materialize(plan, task.circuit, theta, task.dtype, dense_batched)

    def _final_state(self, task: Task) -> torch.Tensor:
        c = task.circuit
        state = zero_state(c.n_qubits, 1, task.dtype, task.theta.device)
        return run_steps(state, c.n_qubits, self._steps(task, task.theta))

    def execute(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        out = []
        for t in tasks:
            if t.options.get("noise_model") is not None:
                from ..noise.trajectories import execute_trajectories

                out.append(execute_trajectories(self, t))
            else:
                out.append(self._execute_one(t))
        return out

    def _execute_one(self, task: Task) -> torch.Tensor:
        if small.usable(task) and not (torch.is_grad_enabled() and task.theta.requires_grad):
            return self._small_forward(task)[0]
        state = self._final_state(task)
        bs = task.theta.shape[0]
        if state.shape[0] != bs:
            state = state.expand(bs, -1)
        return self._measure(task, state)

    def _measure(self, task: Task, state: torch.Tensor) -> torch.Tensor:
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
            words, coeffs = observable_terms(m.observables)
            if task.shots is None:
                values = _exact_words(state, n, words)
            else:
                values = self._sampled_words(state, n, words, task.shots, task.generator)
            return values @ torch.as_tensor(coeffs, dtype=values.dtype, device=values.device)
        raise TypeError(f"unknown measurement {m!r}")

    def _sampled_words(
        self,
        state: torch.Tensor,
        n: int,
        words: list[tuple],
        shots: int,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """Estimate each word from ``shots`` samples of its qubit-wise commuting group's basis."""
        from ..sim.statevector import apply_matrix

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
            idx = measure.sample_indices(probs, shots, generator)
            bits = measure.indices_to_bits(idx, len(wires))  # (B, shots, k)
            for word in group.terms:
                cols = [wires.index(w) for w, _ in word]
                parity = bits[..., cols].sum(dim=-1) % 2
                out[:, index[word]] = (1 - 2 * parity).to(out.dtype).mean(dim=1)
        return out

    # memory that backprop may use for the states it saves (about one per fused step)
    BACKPROP_BUDGET_BYTES = 2**30

    def prefers_backprop(self, task: Task) -> bool:
        """Backprop when its saved states fit in :attr:`BACKPROP_BUDGET_BYTES` (not on small
        registers, where the NumPy engine's adjoint is several times faster)."""
        if small.usable(task):
            return False
        if native.usable(task.theta.device, task.dtype, task.circuit.n_qubits):
            return False  # the native adjoint is as fast or faster and holds two states
        plan = get_plan(task.circuit, task.varying, task.theta.shape[0] > 1)
        itemsize = torch.empty((), dtype=task.dtype).element_size()
        saved = (
            (len(plan.items) + 2) * task.theta.shape[0] * 2**task.circuit.n_qubits * itemsize * 2
        )
        return saved <= self.options.get("backprop_budget_bytes", self.BACKPROP_BUDGET_BYTES)

    # --- adjoint ----------------------------------------------------------------------------
    def vjp(self, task: Task, cotangent: torch.Tensor) -> torch.Tensor:
        _, saved = self.execute_for_vjp(task)
        return self.finish_vjp(saved, cotangent)

    def _small_forward(self, task: Task, keep: bool = False) -> tuple[torch.Tensor, Any]:
        theta = task.theta.detach()
        cdt = small._NP[task.dtype]
        prog: Any = small.native_program(task)
        if prog is not None:  # the compiled interpreter
            meas = small.measure_of(prog, task.measurement, cdt)
            diag = small_native.diag_tensor(meas, cdt)
            theta = theta.to(small.REAL_TORCH[cdt]).contiguous()
            state, values, saved = small_native.forward(prog, theta, task.varying, cdt, diag)
            if values is not None:
                kept = ("small", task, prog, meas, state, None, saved, cdt) if keep else None
                return values, kept
        else:  # the NumPy engine
            prog = small.program(task.circuit, task.varying, theta.shape[0] > 1)
            theta_np = theta.numpy().astype(small.real_of(cdt), copy=False)
            state, saved = small.run(prog, theta_np, cdt, keep)
            meas = small.measure_of(prog, task.measurement, cdt)
        out, extra = small.measure(meas, state)
        result = torch.from_numpy(np.ascontiguousarray(out))
        return result, (("small", task, prog, meas, state, extra, saved, cdt) if keep else None)

    def _small_vjp(self, saved: Any, cotangent: torch.Tensor) -> torch.Tensor:
        _, task, prog, meas, state, extra, trace, cdt = saved
        if meas.state:
            raise ValueError("a state is differentiable by diff_method='backprop' only")
        native_prog = isinstance(prog, small_native.NativeProgram)
        if native_prog and trace[-1] is not None:  # the kernels measured: they take the cotangent
            return small_native.backward(prog, trace, task.needs_grad, cot=cotangent.detach())
        cot = cotangent.detach().numpy()
        if cot.shape[0] != state.shape[0]:
            cot = np.broadcast_to(cot, (state.shape[0],) + cot.shape[1:])
        lam = small.cotangent_state(meas, state, extra, cot.astype(state.real.dtype, copy=False))
        if native_prog:
            lam = np.ascontiguousarray(lam)
            return small_native.backward(prog, trace, task.needs_grad, lam=lam)
        grad = small.gradient(prog, trace, lam, tuple(task.theta.shape), task.needs_grad, cdt)
        return torch.from_numpy(grad)

    def execute_for_vjp(self, task: Task) -> tuple[torch.Tensor, Any]:
        """Forward pass that keeps what the adjoint sweep needs: the final state and the gate
        data with a record of how it was built (for the analytic chain rule to ``theta``)."""
        if small.usable(task):
            return self._small_forward(task, keep=True)
        n = task.circuit.n_qubits
        theta = task.theta.detach()
        with torch.no_grad():
            plan = get_plan(task.circuit, task.varying, theta.shape[0] > 1)
            tape: list = []
            steps = materialize(plan, task.circuit, theta, task.dtype, False, tape)
            state = run_steps(zero_state(n, 1, task.dtype, theta.device), n, steps)
            bs = theta.shape[0]
            if state.shape[0] != bs:
                state = state.expand(bs, -1)
            out = self._measure(task, state)
        return out, (task, theta, steps, state)

    def finish_vjp(self, saved: Any, cotangent: torch.Tensor) -> torch.Tensor:
        if saved[0] == "small":
            return self._small_vjp(saved, cotangent)
        task, theta, steps, state = saved
        n = task.circuit.n_qubits
        with torch.no_grad():
            bs = max(state.shape[0], cotangent.shape[0])
            state = state.expand(bs, -1)
            lam = _cotangent_state(state, n, task.measurement, cotangent)
            cots = adjoint_cotangents(state, lam, n, steps)
            return theta_gradient(steps, cots, theta)


def _zsigns(n: int, words: list[tuple], dtype: torch.dtype, device: Any) -> torch.Tensor:
    """``(2**n, T)`` eigenvalues of Z-type words on every basis state (cached)."""
    return _zsigns_cached(n, tuple(words), dtype, str(device))


@lru_cache(maxsize=64)
def _zsigns_cached(n: int, words: tuple, dtype: torch.dtype, device: str) -> torch.Tensor:
    idx = torch.arange(2**n, device=device)
    cols = []
    for word in words:
        parity = torch.zeros_like(idx)
        for w, _ in word:
            parity ^= (idx >> (n - 1 - w)) & 1
        cols.append(1 - 2 * parity)
    return torch.stack(cols, dim=1).to(dtype)


def _z_only(words: list[tuple]) -> bool:
    return all(p == "Z" for word in words for _, p in word)


def _exact_words(state: torch.Tensor, n: int, words: list[tuple]) -> torch.Tensor:
    if words and _z_only(words) and len(words) * 2**n <= 2**24:
        probs = state.real.square() + state.imag.square()
        return probs @ _zsigns(n, words, probs.dtype, state.device)
    return measure.expval_words(state, n, words)


def _cotangent_state(state: torch.Tensor, n: int, m: Any, cotangent: torch.Tensor) -> torch.Tensor:
    """``O psi`` for the Hermitian ``O`` whose expectation the cotangent weighs."""
    if isinstance(m, Probs):
        return apply_diagonal(state, n, cotangent.to(state.dtype), m.wires)
    if not isinstance(m, Expval):
        raise ValueError("the adjoint method differentiates expval and probs only")
    words, coeffs = observable_terms(m.observables)
    rdt = state.real.dtype
    w = cotangent.to(rdt) @ torch.as_tensor(coeffs.T, dtype=rdt, device=state.device)  # (B, T)
    if words and _z_only(words) and len(words) * 2**n <= 2**24:
        return state * (w @ _zsigns(n, words, rdt, state.device).T)
    lam = torch.zeros_like(state)
    for t, word in enumerate(words):
        lam = lam + w[:, t : t + 1] * measure.apply_word(state, n, word)
    return lam
