"""Monte Carlo trajectories: noisy circuits on the statevector simulator.

Each trajectory is a pure state. After every gate, each channel ``{K_k}`` of the noise model picks
one Kraus operator with probability ``||K_k psi||^2`` and renormalises; averages over trajectories
converge to the density-matrix results with error ``O(1/sqrt(T))``. Memory is that of ``T``
statevectors, so this reaches qubit counts the density matrix cannot.

``StatevectorBackend`` calls :func:`execute_trajectories` for tasks with a noise model; the number
of trajectories is the backend option ``trajectories`` (default 100):

>>> import hqml
>>> from hqml.noise import NoiseModel, bit_flip
>>> be = hqml.get_backend("statevector", trajectories=2000)
>>> c = hqml.Circuit(1).x(0)
>>> v = hqml.expval(c, hqml.Z(0), backend=be, noise_model=NoiseModel().add_channel(bit_flip(0.1)),
...                 seed=1)
>>> abs(float(v) + 0.8) < 0.05
True
"""

from __future__ import annotations

import numbers
from typing import Any

import torch

from ..circuit.observables import observable_terms
from ..sim import density, measure, native
from ..sim.program import Instruction, apply
from ..sim.statevector import apply_matrix, zero_state
from . import trajectory_kernel
from .base import Expval, Probs, Sample, State, Task
from .density_matrix import basis_rotation, dense_matrix, measured_words
from .instructions import build_program
from .trajectory_kernel import ChannelDraw

CHUNK_AMPLITUDES = 2**23  # trajectories run in chunks of at most this many amplitudes (rows x 2^n)


def _num_trajectories(options: dict[str, Any]) -> int:
    t = options.get("trajectories", 100)
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1:
        raise ValueError(
            f"trajectories must be a positive integer, got {t!r}; e.g."
            " hqml.get_backend('statevector', trajectories=1000)"
        )
    return int(t)


def _repeat(ins: Instruction, reps: int) -> Instruction:
    """The instruction with batched data repeated for each trajectory of a sample."""
    if ins.kind == "monomial":
        return ins
    unbatched = 2 if ins.kind == "matrix" else 1
    if ins.data.dim() == unbatched or ins.data.shape[0] == 1:
        return ins
    return Instruction(ins.kind, ins.wires, ins.data.repeat_interleave(reps, dim=0))


class _KrausSampler:
    """Draws one Kraus operator per trajectory; unitary mixtures draw before applying."""

    def __init__(self, channel: Any, dtype: torch.dtype, device: Any):
        draw = ChannelDraw(channel)
        self.kraus = torch.as_tensor(draw.ks, dtype=dtype, device=device)
        self.mixture, self.weights, self.cdf = draw.mixture, draw.weights, draw.cdf
        self._draw, self._lifted = draw, {}

    def lifted(self, pos: tuple[int, ...], k: int) -> torch.Tensor:
        """The Kraus operators ``(K, 2**k, 2**k)`` acting on positions ``pos`` of ``k`` wires
        (for a mixture of unitaries, each divided by the square root of its weight)."""
        if (pos, k) not in self._lifted:
            self._lifted[(pos, k)] = torch.as_tensor(
                self._draw.lifted(pos, k), dtype=self.kraus.dtype, device=self.kraus.device
            )
        return self._lifted[(pos, k)]

    def pick(self, probs: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        """Per row, the index drawn from (unnormalised) ``probs`` ``(R, K)`` by ``uniform``."""
        cdf = torch.cumsum(probs.to(torch.float64), 1)
        u = uniform.to(cdf.device)[:, None] * cdf[:, -1:]
        return (cdf <= u).sum(1).clamp_max(probs.shape[1] - 1)

    def apply(
        self, state: torch.Tensor, n: int, wires: tuple[int, ...], uniform: torch.Tensor
    ) -> torch.Tensor:
        rows = state.shape[0]
        if self.mixture:
            cdf = torch.cumsum(self.weights, 0).to(uniform.device)
            k = torch.searchsorted(cdf, uniform.clamp_max(cdf[-1].item() * (1 - 1e-12)), right=True)
            k = k.clamp_max(len(self.weights) - 1).to(state.device)
            scale = self.weights.to(state.device)[k].rsqrt().to(state.real.dtype)
            out = apply_matrix(state, n, self.kraus[k], wires)
            return out * scale[:, None]
        branches = torch.stack(
            [apply_matrix(state, n, kr, wires) for kr in self.kraus]
        )  # (K, R, D)
        norms = (branches.real.square() + branches.imag.square()).sum(-1).T  # (R, K)
        cdf = torch.cumsum(norms.detach().to(torch.float64), 1)
        u = uniform.to(cdf.device)[:, None] * cdf[:, -1:]
        k = (cdf <= u).sum(1).clamp_max(len(self.kraus) - 1)
        chosen = branches[k, torch.arange(rows, device=state.device)]
        return chosen * norms[torch.arange(rows, device=state.device), k].rsqrt()[:, None]


def trajectory_states(
    task: Task, trajectories: int, generator: torch.Generator | None = None, single_z: bool = False
) -> torch.Tensor:
    """Final states of every trajectory: ``(B * T, 2**n)``, rows ``b * T + t``. Through the
    compiled kernel where it runs (:mod:`.trajectory_kernel`: the same draws give the same
    rows), else gate by gate in torch. With ``single_z``, every wire's ``<Z>`` per row
    ``(B * T, n)`` instead (the kernel then keeps no state)."""
    c = task.circuit
    n = c.n_qubits
    nm = task.options["noise_model"]
    bs = task.theta.shape[0]
    rows = bs * trajectories
    program = build_program(c, task.theta, task.dtype, task.varying)
    samplers: dict[int, _KrausSampler] = {}
    rand_device = generator.device if generator is not None else torch.device("cpu")
    if native_kernel_runs(task):
        sk = trajectory_kernel.skeleton(c, nm)
        if sk is not None:
            out = trajectory_kernel.states(sk, c, program, task, trajectories, generator,
                                           rand_device, single_z)  # fmt: skip
            return out.to(task.dtype.to_real()) if single_z else out
    state = zero_state(n, rows, task.dtype, task.theta.device)
    for op, ins in zip(c.ops, program, strict=True):
        ins = _repeat(ins, trajectories)
        chans = nm.channels_for(op.gate.name, op.wires)
        for channel, _ in chans:
            if id(channel) not in samplers:
                samplers[id(channel)] = _KrausSampler(channel, task.dtype, state.device)
        if chans and all(set(w) <= set(ins.wires) for _, w in chans):
            draws = torch.rand(len(chans), rows, generator=generator, dtype=torch.float64,
                               device=rand_device)  # fmt: skip
            steps = [(samplers[id(ch)], w) for ch, w in chans]
            state = _noisy_gate(state, n, ins, steps, draws)
            continue
        state = apply(state, n, ins)
        for channel, wires in chans:
            u = torch.rand(rows, generator=generator, dtype=torch.float64, device=rand_device)
            state = samplers[id(channel)].apply(state, n, wires, u)
    if single_z:
        return measure.expval_words(state, n, [((w, "Z"),) for w in range(n)])
    return state


def native_kernel_runs(task: Task) -> bool:
    """Whether :func:`trajectory_states` may take the compiled kernel for ``task`` (its
    circuit aside): a CPU complex64/complex128 task that autograd does not record, the library
    loaded (``HQML_NATIVE=0`` turns it off) and, on this CPU, measured faster than the torch
    path (:func:`hqml.sim.native.beats_torch`, kind ``"trajectories"``)."""
    if task.dtype not in (torch.complex64, torch.complex128) or task.theta.device.type != "cpu":
        return False
    if torch.is_grad_enabled() and task.theta.requires_grad:
        return False
    return native.available() and native.beats_torch("trajectories", task.dtype)


def _noisy_gate(
    state: torch.Tensor,
    n: int,
    ins: Instruction,
    steps: list[tuple[_KrausSampler, tuple[int, ...]]],
    draws: torch.Tensor,
) -> torch.Tensor:
    """A gate and the channels after it on its wires, in one pass over the states: each row's
    operator ``K_j ... K_1 U`` (``d x d``) is drawn first, from the reduced density matrix of
    the gate's wires (needed only by channels that are not mixtures of unitaries), then
    applied. Exact: the branch probabilities are ``tr(K M rho_W M^dagger K^dagger)``."""
    rows, wires = state.shape[0], tuple(ins.wires)
    k = len(wires)
    m = dense_matrix(ins, state.dtype, state.device)
    m = m.expand(rows, -1, -1) if m.dim() == 2 or m.shape[0] == 1 else m
    rho_w = None
    ar = torch.arange(rows, device=state.device)
    for (sampler, cw), u in zip(steps, draws, strict=True):
        lifted = sampler.lifted(tuple(wires.index(w) for w in cw), k)
        if sampler.mixture:  # lifted operators are scaled to unitaries
            cdf = sampler.cdf
            pick = torch.searchsorted(cdf, u * cdf[-1], right=True).clamp_max(len(cdf) - 1)
            m = lifted[pick.to(state.device)] @ m
            continue
        if rho_w is None:
            rho_w = _reduced(state, n, wires)
        branches = lifted[None] @ m[:, None]  # (R, K, d, d)
        probs = ((branches @ rho_w[:, None]) * branches.conj()).sum((-2, -1)).real
        pick = sampler.pick(probs, u).to(state.device)
        m = branches[ar, pick] * probs[ar, pick].clamp_min(1e-300).rsqrt()[:, None, None]
    return _apply_rows(state, n, m, wires)


def _contiguous(n: int, wires: tuple[int, ...]) -> bool:
    return list(wires) == list(range(wires[0], wires[0] + len(wires)))


def _reduced(state: torch.Tensor, n: int, wires: tuple[int, ...]) -> torch.Tensor:
    """The reduced density matrices ``(R, d, d)`` of ``wires`` (in that order)."""
    rows, k = state.shape[0], len(wires)
    d = 2**k
    if not _contiguous(n, wires):
        psi = torch.movedim(state.reshape((-1,) + (2,) * n), [1 + w for w in wires],
                            list(range(1, k + 1))).reshape(rows, d, -1)  # fmt: skip
        return psi @ psi.conj().transpose(1, 2)
    left, right = 2 ** wires[0], 2 ** (n - wires[0] - k)
    v = state.reshape(rows, left, d, right)
    if right >= left:  # per left index, (d x right) @ (right x d)
        return (v @ v.conj().transpose(-1, -2)).sum(1)
    if d * right > 8:  # the wires' axis moved first (one copy): the Gram below costs (d right)^2
        p = v.transpose(1, 2).reshape(rows, d, left * right)
        return p @ p.conj().transpose(1, 2)
    u = state.reshape(rows, left, d * right)  # u^T conj(u), then the trace over right
    g = u.transpose(1, 2) @ u.conj()
    return g.reshape(rows, d, right, d, right).diagonal(dim1=2, dim2=4).sum(-1)


def _apply_rows(
    state: torch.Tensor, n: int, m: torch.Tensor, wires: tuple[int, ...]
) -> torch.Tensor:
    """A different ``d x d`` matrix per row on ``wires`` (``m`` is ``(R, d, d)``): one wire by
    the native layer kernel where it runs (not under autograd: its backward assumes unitary
    factors, and a drawn Kraus operator is not one)."""
    grad = torch.is_grad_enabled() and (state.requires_grad or m.requires_grad)
    if len(wires) == 1 and not grad and native.usable(state.device, state.dtype, n):
        return native.apply_layer(state.contiguous(), n, wires, m[:, None])
    if not _contiguous(n, wires):
        return apply_matrix(state, n, m, wires)
    rows, k = state.shape[0], len(wires)
    d, left, right = 2**k, 2 ** wires[0], 2 ** (n - wires[0] - k)
    if right >= 8:
        out = m[:, None] @ state.reshape(rows, left, d, right)
        return out.reshape(rows, -1)
    eye = torch.eye(right, dtype=m.dtype, device=m.device)
    big = (m[:, :, None, :, None] * eye[None, None, :, None, :]).reshape(rows, d * right, d * right)
    return (state.reshape(rows, left, d * right) @ big.transpose(1, 2)).reshape(rows, -1)


def _confused(p: torch.Tensor, nm: Any, wires: list[int]) -> torch.Tensor:
    if not nm.has_readout_errors:
        return p
    conf = [
        None if a is None else torch.as_tensor(a, device=p.device) for a in nm.confusions(wires)
    ]
    return density.apply_confusion(p, conf)


def _chunked_mean(task: Task, trajectories: int, generator: torch.Generator | None) -> torch.Tensor:
    """Exact probabilities or expectation values averaged over the trajectories, run in chunks
    of at most :data:`CHUNK_AMPLITUDES` amplitudes (each chunk draws from the same generator)."""
    m, n, bs = task.measurement, task.circuit.n_qubits, task.theta.shape[0]
    per = max(1, min(trajectories, CHUNK_AMPLITUDES // (bs * 2**n)))
    singles = None
    if isinstance(m, Expval):
        words, coeffs = observable_terms(m.observables)
        if words and all(len(w) == 1 and w[0][1] == "Z" for w in words):
            singles = [w[0][0] for w in words]  # each a one-wire Z: no state needs keeping
    total: torch.Tensor | None = None
    for start in range(0, trajectories, per):
        t = min(per, trajectories - start)
        if singles is not None:
            part = trajectory_states(task, t, generator, single_z=True)[:, singles]
        elif isinstance(m, Probs):
            part = measure.probabilities(trajectory_states(task, t, generator), n, list(m.wires))
        else:
            part = measure.expval_words(trajectory_states(task, t, generator), n, words)
        part = part.reshape(bs, t, -1).sum(1)
        total = part if total is None else total + part
    mean = total / trajectories  # type: ignore[operator]
    if isinstance(m, Probs):
        return mean
    return mean @ torch.as_tensor(coeffs, dtype=mean.dtype, device=mean.device)


def execute_trajectories(options: dict[str, Any], task: Task) -> torch.Tensor:
    """Run a noisy task by trajectories; the result has the noiseless backend's shape.
    ``options`` are the backend's: ``trajectories`` (default 100) and ``seed``.

    Raises:
        ValueError: for ``State`` (a noisy state is mixed: use ``backend="density_matrix"``).
    """
    m = task.measurement
    if isinstance(m, State):
        raise ValueError(
            "a noisy state is mixed and has no statevector; use backend='density_matrix'"
            " for hqml.state with a noise model"
        )
    generator = task.generator
    seed = options.get("seed")
    if generator is None and seed is not None:
        generator = torch.Generator().manual_seed(int(seed))
    trajectories = _num_trajectories(options)
    nm = task.options["noise_model"]
    n = task.circuit.n_qubits
    bs = task.theta.shape[0]
    if task.shots is None and not nm.has_readout_errors and isinstance(m, (Probs, Expval)):
        return _chunked_mean(task, trajectories, generator)
    states = trajectory_states(task, trajectories, generator)

    def mean_probs(s: torch.Tensor, wires: list[int]) -> torch.Tensor:
        p = measure.probabilities(s, n, wires)
        p = p.reshape(bs, trajectories, -1).mean(1)
        return _confused(p, nm, wires)

    if isinstance(m, (Probs, Sample)):
        p = mean_probs(states, list(m.wires))
        if isinstance(m, Probs):
            return p
        idx = measure.sample_indices(p, task.shots or 1, generator)
        return measure.indices_to_bits(idx, len(m.wires))
    if isinstance(m, Expval):
        words, coeffs = observable_terms(m.observables)
        if task.shots is None and not nm.has_readout_errors:
            values = measure.expval_words(states, n, words).reshape(bs, trajectories, -1).mean(1)
        else:

            def probs_fn(basis: dict[int, str], wires: list[int]) -> torch.Tensor:
                s = states
                for w, pauli in basis.items():
                    if pauli != "Z":
                        s = apply_matrix(s, n, basis_rotation(pauli, s.dtype, s.device), [w])
                return mean_probs(s, wires)

            values = measured_words(
                probs_fn, words, bs, states.real.dtype, states.device, task.shots, generator
            )
        return values @ torch.as_tensor(coeffs, dtype=values.dtype, device=values.device)
    raise TypeError(f"unknown measurement {m!r}")
