"""Noisy circuits by trajectories through the compiled kernel (:mod:`hqml.sim.native.trajectories`).

The kernel runs a flat program (per operation: a gate on one or two wires and the channel steps
after it). What depends only on the circuit's structure and the noise model (which channels
follow which gate, their Kraus operators lifted to the gate's wires, their cumulative weights,
the matrices of gates without parameters) is built once per noise model and circuit structure
(:func:`skeleton`, kept with the noise model while it lives and its rules do not change); a
call adds its gates' matrices and its draws. :class:`ChannelDraw` is what both this path and the
torch path (:mod:`hqml.backends.trajectories`) draw a channel's operators from.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch

from ..sim.native.trajectories import run_trajectories
from ..sim.program import Instruction
from .density_matrix import dense_matrix

MAX_KRAUS = 4  # Kraus operators of a channel that is not a mixture of unitaries (16 if it is)
_SKELETONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class ChannelDraw:
    """A channel's Kraus operators ``ks``, whether it is a mixture of unitaries (``K^dagger K``
    proportional to the identity for each), its weights and their cumulative sums (float64),
    and ``lower``, the least eigenvalue of ``K_0^dagger K_0``."""

    def __init__(self, channel: Any):
        ks = np.stack(channel.kraus)
        d = ks.shape[-1]
        gram = np.einsum("kba,kbc->kac", ks.conj(), ks)  # K^dagger K
        weights = np.real(np.einsum("kaa->k", gram)) / d
        self.mixture = bool(np.allclose(gram, weights[:, None, None] * np.eye(d), atol=1e-10))
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.cdf = torch.cumsum(self.weights, 0)
        # K_0 is drawn with probability at least this, whatever the state (the kernel draws it
        # without a pass over the state when the uniform draw is below it)
        self.lower = float(max(0.0, np.linalg.eigvalsh(gram[0]).min()))
        self.ks = ks
        self._lifted: dict[tuple, np.ndarray] = {}

    def lifted(self, pos: tuple[int, ...], k: int) -> np.ndarray:
        """The Kraus operators ``(K, 2**k, 2**k)`` (complex128) acting on positions ``pos`` of
        ``k`` wires (for a mixture of unitaries, each divided by the square root of its
        weight)."""
        if (pos, k) not in self._lifted:
            m = len(pos)
            rest = [i for i in range(k) if i not in pos]
            full = np.stack([np.kron(a, np.eye(2 ** (k - m))) for a in self.ks])
            order = list(pos) + rest
            perm = [order.index(i) for i in range(k)]
            full = full.reshape((-1,) + (2,) * (2 * k))
            full = full.transpose([0] + [1 + a for a in perm] + [1 + k + a for a in perm])
            if self.mixture:  # K / sqrt(w): each a unitary
                full = full / np.sqrt(self.weights.numpy())[(slice(None),) + (None,) * (2 * k)]
            self._lifted[(pos, k)] = full.reshape(-1, 2**k, 2**k).astype(np.complex128)
        return self._lifted[(pos, k)]


def partial_monomial(m: np.ndarray) -> bool:
    """Whether every matrix of ``(..., d, d)`` has at most one nonzero per row and column (a
    product ``B`` of such matrices has a diagonal ``B^H B``)."""
    nz = m != 0
    return bool((nz.sum(-1) <= 1).all() and (nz.sum(-2) <= 1).all())


class Skeleton:
    """The structure-only part of the kernel's program (see :func:`skeleton`)."""

    def __init__(self, ops: np.ndarray, steps: torch.Tensor, fixed: torch.Tensor,
                 cdfs: torch.Tensor, noisy: list[int], params: list[bool]):  # fmt: skip
        self.ops, self.steps, self.fixed, self.cdfs = ops, steps, fixed, cdfs
        self.noisy, self.params = noisy, params


def skeleton(c: Any, nm: Any) -> Skeleton | None:
    """The kernel's program for circuit ``c`` under noise model ``nm`` without the matrices of
    gates with parameters and without draws; ``None`` where the kernel cannot run it (a gate on
    more than two wires, a channel on other wires than its gate's, a channel that is not a
    mixture with over :data:`MAX_KRAUS` Kraus operators). Cached per noise model (while it
    lives) by the circuit's gates and wires and the model's rules."""
    key = (
        c.n_qubits,
        tuple((op.gate.name, tuple(op.wires), op.gate.num_params) for op in c.ops),
        tuple(id(rule) for rule in nm.rules),
    )
    cache = _SKELETONS.setdefault(nm, {})
    if key not in cache:
        if len(cache) > 64:  # many circuit structures under one model: keep the newest
            cache.pop(next(iter(cache)))
        # the entry holds the rules, so their ids in the key cannot be reused while it lives
        cache[key] = (_build_skeleton(c, nm), tuple(nm.rules))
    return cache[key][0]


def _build_skeleton(c: Any, nm: Any) -> Skeleton | None:
    n = c.n_qubits
    draws: dict[int, ChannelDraw] = {}
    ops, steps, fixed, cdfs, noisy, params = [], [], [], [], [], []
    size = cdf_size = 0
    kraus: dict[tuple, int] = {}
    for op in c.ops:
        wires = tuple(int(w) for w in op.wires)
        k = len(wires)
        chans = nm.channels_for(op.gate.name, op.wires)
        if not 1 <= k <= 2 or any(not set(w) <= set(wires) for _, w in chans):
            return None
        first, sparse = len(steps), True
        for channel, cw in chans:
            draw = draws.setdefault(id(channel), ChannelDraw(channel))
            if len(draw.ks) > (16 if draw.mixture else MAX_KRAUS):
                return None
            pos = tuple(wires.index(w) for w in cw)
            lifted = draw.lifted(pos, k)
            sparse = sparse and partial_monomial(lifted)
            if (id(channel), pos, k) not in kraus:
                kraus[id(channel), pos, k] = size
                fixed.append(lifted.reshape(-1))
                size += lifted.size
            steps.append([int(draw.mixture), len(draw.ks), kraus[id(channel), pos, k], cdf_size])
            cdfs.append(
                draw.cdf if draw.mixture else torch.tensor([draw.lower], dtype=torch.float64)
            )
            cdf_size += len(cdfs[-1])
        offset = -1
        if op.gate.num_params == 0:  # a fixed matrix: built once
            m = op.gate.matrix(dtype=torch.complex128).numpy().reshape(-1)
            offset, size = size, size + m.size
            fixed.append(m)
        # sparse: the Kraus operators allow populations only; the gate is checked per call
        ops.append([k, n - 1 - wires[0], n - 1 - wires[-1], offset, 0, first, len(steps),
                    int(sparse)])  # fmt: skip
        noisy.append(len(chans))
        params.append(op.gate.num_params > 0)
    return Skeleton(
        np.array(ops, dtype=np.int64).reshape(-1, 8),
        torch.tensor(steps, dtype=torch.int64).reshape(-1, 4),
        torch.from_numpy(np.concatenate(fixed) if fixed else np.zeros(1, np.complex128)),
        torch.cat(cdfs) if cdfs else torch.zeros(1, dtype=torch.float64),
        noisy,
        params,
    )


def states(
    sk: Skeleton,
    c: Any,
    program: list[Instruction],
    task: Any,
    trajectories: int,
    generator: torch.Generator | None,
    rand_device: Any,
    single_z: bool = False,
) -> torch.Tensor:
    """Final states ``(B * T, 2**n)`` (rows ``b * T + t``) by the kernel, drawing the uniforms
    exactly as the torch loop does (one ``(channels, rows)`` draw per noisy operation, in
    order), so the same generator gives the same rows; with ``single_z``, instead of the
    states, every wire's ``<Z>`` per row ``(B * T, n)`` (float64; no state is kept)."""
    bs, n = task.theta.shape[0], c.n_qubits
    rows = bs * trajectories
    ops = sk.ops.copy()
    mats, size = [sk.fixed], sk.fixed.numel()
    for i, (ins, has_params) in enumerate(zip(program, sk.params, strict=True)):
        if ins.kind not in ("monomial", "diagonal"):
            ops[i, 7] = 0  # a dense gate: the branches need the whole reduced density matrix
        if not has_params:
            continue
        m = dense_matrix(ins, task.dtype, task.theta.device).detach()
        per_sample = m.dim() == 3 and m.shape[0] > 1
        if per_sample and m.shape[0] != bs:
            raise ValueError(f"{m.shape[0]} matrices for a batch of {bs}")
        m = m.to(torch.complex128).reshape(-1)
        ops[i, 3], ops[i, 4] = size, int(per_sample)
        mats.append(m)
        size += m.numel()
    draws = [
        torch.rand(count, rows, generator=generator, dtype=torch.float64, device=rand_device)
        for count in sk.noisy
        if count
    ]
    uniform = torch.cat(draws).cpu() if draws else torch.zeros(0, rows, dtype=torch.float64)
    states, zs = run_trajectories(rows, n, task.dtype, trajectories, torch.from_numpy(ops),
                                  sk.steps, torch.cat(mats), sk.cdfs, uniform,
                                  states=not single_z, single_z=single_z)  # fmt: skip
    return zs if single_z else states
