"""Noisy circuits on the MPS backend by Monte Carlo trajectories.

Each row of the batch runs ``trajectories`` pure MPS trajectories: after every gate, each
channel of the noise model draws one Kraus operator per trajectory (:mod:`hqml.sim.mps_noise`)
from a seeded generator, so a run is deterministic given ``seed=`` (or the backend's ``seed``
option). Results are the trajectory means (error ``O(1/sqrt(T))``); readout errors act on the
mean probabilities, as in the statevector's trajectories. Gates are not fused here (the noise
goes between them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...circuit.gates import real_dtype
from ...circuit.observables import observable_terms
from ...sim import density
from ...sim import measure as dense_measure
from ...sim import mps_measure as measure
from ...sim.mps import MPS, Options, Truncation
from ...sim.mps_gates import apply_gate
from ...sim.mps_noise import apply_kraus, mixture_weights
from ..base import Probs, Sample, State, Task
from ..density_matrix import basis_rotation, measured_words
from .apply import gate_matrices


def _generator(task: Task, seed: int | None) -> torch.Generator | None:
    if task.generator is None and seed is not None:
        return torch.Generator().manual_seed(int(seed))
    return task.generator


def trajectories_mps(task: Task, dtype: torch.dtype, options: Options, trajectories: int,
                     generator: torch.Generator | None) -> MPS:  # fmt: skip
    """The final MPS of every trajectory: rows ``b * T + t``."""
    nm = task.options["noise_model"]
    c = task.circuit
    theta = task.theta.to(real_dtype(dtype))
    rows = theta.shape[0] * trajectories
    varying = task.varying if theta.shape[0] > 1 else tuple([False] * theta.shape[1])
    theta = theta.repeat_interleave(trajectories, 0)
    mps = MPS.zeros(c.n_qubits, rows, dtype, theta.device, options)
    channels: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
    rand_device = generator.device if generator is not None else torch.device("cpu")
    for op, u in zip(c.ops, gate_matrices(c, theta, dtype, varying), strict=True):
        apply_gate(mps, u, op.wires)
        for channel, wires in nm.channels_for(op.gate.name, op.wires):
            if id(channel) not in channels:
                kraus = torch.as_tensor(np.stack(channel.kraus))
                w = mixture_weights(channel.kraus)
                channels[id(channel)] = (
                    kraus.to(dtype=dtype, device=theta.device),
                    None if w is None else torch.as_tensor(w, dtype=torch.float64),
                )
            kraus, weights = channels[id(channel)]
            uniform = torch.rand(rows, generator=generator, dtype=torch.float64, device=rand_device)
            apply_kraus(mps, kraus, wires, uniform, weights)
    return mps


def execute_noisy(task: Task, dtype: torch.dtype, options: Options, trajectories: int,
                  seed: int | None) -> tuple[torch.Tensor, Truncation]:  # fmt: skip
    """A noisy task's result (the noiseless result's shape) and the trajectories' truncation,
    per row the worst of its trajectories."""
    m = task.measurement
    if isinstance(m, State):
        raise ValueError(
            "a noisy state is mixed and has no state vector; use backend='density_matrix'"
            " for hqml.state with a noise model"
        )
    nm = task.options["noise_model"]
    generator = _generator(task, seed)
    bs = task.theta.shape[0]
    mps = trajectories_mps(task, dtype, options, trajectories, generator)

    def mean_probs(state: MPS, wires: list[int]) -> torch.Tensor:
        p = measure.probs(state, wires).reshape(bs, trajectories, -1).mean(1)
        if not nm.has_readout_errors:
            return p
        conf = [
            None if a is None else torch.as_tensor(a, device=p.device) for a in nm.confusions(wires)
        ]
        return density.apply_confusion(p, conf)

    out = _measure(m, task, mps, bs, trajectories, mean_probs, generator)
    return out, _report(mps.report, bs, trajectories)


def _measure(m: Any, task: Task, mps: MPS, bs: int, trajectories: int, mean_probs: Any,
             generator: torch.Generator | None) -> torch.Tensor:  # fmt: skip
    nm = task.options["noise_model"]
    if isinstance(m, (Probs, Sample)):
        p = mean_probs(mps, list(m.wires))
        if isinstance(m, Probs):
            return p
        idx = dense_measure.sample_indices(p, task.shots or 1, generator)
        return dense_measure.indices_to_bits(idx, len(m.wires))
    words, coeffs = observable_terms(m.observables)
    if task.shots is None and not nm.has_readout_errors:
        values = measure.expval_words(mps, words).reshape(bs, trajectories, -1).mean(1)
    else:

        def probs_fn(basis: dict[int, str], wires: list[int]) -> torch.Tensor:
            rotated = MPS(list(mps.tensors), list(mps.left_iso), list(mps.right_iso), mps.options)
            a = mps.tensors[0]
            for w, pauli in basis.items():
                if pauli != "Z":
                    apply_gate(rotated, basis_rotation(pauli, a.dtype, a.device), [w])
            return mean_probs(rotated, wires)

        a = mps.tensors[0]
        values = measured_words(probs_fn, words, bs, a.real.dtype, a.device, task.shots, generator)
    return values @ torch.as_tensor(coeffs, dtype=values.dtype, device=values.device)


def _report(rep: Truncation, bs: int, trajectories: int) -> Truncation:
    discarded = rep.discarded.reshape(bs, trajectories).amax(1)
    fidelity = rep.fidelity.reshape(bs, trajectories).amin(1)
    return Truncation(discarded, fidelity, rep.count, rep.max_bond, rep.cuts, rep.dropped)
