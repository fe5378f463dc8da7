"""Probabilistic error cancellation (PEC) for Pauli-type (depolarizing) gate noise.

If a gate ``G`` is followed by a Pauli channel ``D`` (``D(rho) = sum_P p_P P rho P``), the inverse
``D^-1`` is a Pauli "channel" with quasi-probabilities ``q_P`` (some negative), so the ideal gate
is ``G = sum_P q_P (P o D o G)``: the noisy gate followed by a noiseless Pauli frame ``P``.
Sampling one ``P`` per noisy gate with probability ``|q_P| / gamma_G`` and weighting the run by
``gamma sign`` gives an unbiased estimate of the ideal value; ``gamma = prod_G gamma_G`` is the
sampling overhead (the variance grows as ``gamma**2``).

Frames are the gate ``pauli_frame`` (a ``U`` gate the noise model never makes noisy: Pauli frames
are tracked in software on hardware). All sampled circuits run as one batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..backends.base import Backend, Expval, Task
from ..circuit.circuit import Circuit, Operation
from ..circuit.dynamic import require_static
from ..circuit.gates import GATES, Gate
from ..circuit.observables import PauliSum
from ..execute import expval as run_expval
from ..noise.channels import Channel, pauli_labels, pauli_probs_from_fidelities
from ..noise.model import NoiseModel
from .tasks import WrappingBackend, parametrized, rebind

FRAME_INPUT = "pec_frames"
_U = GATES["u"]
PAULI_FRAME = Gate(
    "pauli_frame",
    1,
    num_params=3,
    matrix_fn=_U.matrix,
    derivative_fn=_U.derivatives,
    spectra=_U.spectra,
    inverse=lambda p: (PAULI_FRAME, (-p[0], -p[2], -p[1])),
    label="Pf",
)
# U(theta, phi, lambda) angles of each Pauli (up to a global phase)
_FRAME_ANGLES = {
    "I": (0.0, 0.0, 0.0),
    "X": (np.pi, 0.0, np.pi),
    "Y": (np.pi, np.pi / 2, np.pi / 2),
    "Z": (0.0, 0.0, np.pi),
}


@dataclass
class GateRepresentation:
    """Quasi-probabilities of the Pauli frames that undo one gate's noise."""

    index: int  # operation index in the circuit
    wires: tuple[int, ...]
    labels: list[str]  # Pauli strings over ``wires``
    quasi: np.ndarray  # q_P, sum to 1
    gamma: float  # sum |q_P|


@dataclass
class PECResult:
    value: torch.Tensor
    std_error: torch.Tensor
    gamma: float
    num_samples: int
    representations: list[GateRepresentation] = field(default_factory=list, repr=False)


def _embed_kraus(k: np.ndarray, positions: Sequence[int], m: int) -> np.ndarray:
    """A Kraus operator on ``positions`` of ``m`` local wires as an ``2^m x 2^m`` matrix."""
    others = [i for i in range(m) if i not in positions]
    full = np.kron(k, np.eye(2 ** len(others)))
    order = list(positions) + others  # axis of full -> local wire
    perm = [order.index(i) for i in range(m)]
    t = full.reshape((2,) * (2 * m)).transpose(perm + [m + p for p in perm])
    return t.reshape(2**m, 2**m)


def gate_noise(noise_model: NoiseModel, op: Operation) -> Channel | None:
    """All channels the model puts after ``op``, composed into one channel on its wires."""
    chans = noise_model.channels_for(op.gate.name, op.wires)
    if not chans:
        return None
    m = len(op.wires)
    total: Channel | None = None
    for ch, wires in chans:
        pos = [op.wires.index(w) for w in wires]
        emb = Channel([_embed_kraus(k, pos, m) for k in ch.kraus], ch.name)
        total = emb if total is None else total.compose(emb)
    return total


def represent(circuit: Circuit, noise_model: NoiseModel) -> list[GateRepresentation]:
    """The quasi-probability representation of every noisy gate of ``circuit``.

    Raises:
        ValueError: when a gate's noise is not a Pauli channel (e.g. amplitude damping).
    """
    require_static(circuit, "PEC")
    reps = []
    for i, op in enumerate(circuit.ops):
        ch = gate_noise(noise_model, op)
        if ch is None:
            continue
        probs = ch.pauli_probabilities()
        if probs is None:
            raise ValueError(
                f"PEC represents Pauli (depolarizing-type) noise; the noise after gate"
                f" {op.gate.name} on wires {list(op.wires)} is not a Pauli channel"
            )
        k = ch.num_wires
        labels = pauli_labels(k)
        fid = np.diag(ch.pauli_transfer_matrix())
        if (np.abs(fid) < 1e-9).any():
            raise ValueError(
                f"the noise after gate {op.gate.name} on wires {list(op.wires)} is not"
                " invertible (a Pauli fidelity is zero)"
            )
        quasi = pauli_probs_from_fidelities(1.0 / fid, k)
        reps.append(GateRepresentation(i, op.wires, labels, quasi, float(np.abs(quasi).sum())))
    return reps


def framed_circuit(circuit: Circuit, reps: Sequence[GateRepresentation]) -> tuple[Circuit, int]:
    """``circuit`` with a Pauli frame (parameters from the input ``pec_frames``) after each wire of
    each represented gate; returns it and the number of frames."""
    out = circuit.copy()
    n_frames = sum(len(r.wires) for r in reps)
    frames = out.input(FRAME_INPUT, (n_frames, 3)) if n_frames else None
    after = {r.index: r for r in reps}
    ops: list[Operation] = []
    f = 0
    for i, op in enumerate(circuit.ops):
        ops.append(op)
        r = after.get(i)
        if r is not None:
            for w in r.wires:
                ops.append(Operation(PAULI_FRAME, (w,), (frames[f, 0], frames[f, 1], frames[f, 2])))
                f += 1
    out.ops = ops
    out._touch()
    return out, n_frames


def sample_frames(
    reps: Sequence[GateRepresentation], num_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample ``num_samples`` circuits; return the distinct ones as frame angles ``(U, F, 3)``,
    their signs ``(U,)`` and how often each was drawn ``(U,)`` (an exact backend runs each once)."""
    picks = np.zeros((num_samples, len(reps)), dtype=np.int64)
    for g, r in enumerate(reps):
        picks[:, g] = rng.choice(len(r.labels), size=num_samples, p=np.abs(r.quasi) / r.gamma)
    if len(reps):
        uniq, counts = np.unique(picks, axis=0, return_counts=True)
    else:
        uniq, counts = picks[:1], np.array([num_samples])
    n_frames = sum(len(r.wires) for r in reps)
    angles = np.zeros((len(uniq), n_frames, 3))
    signs = np.ones(len(uniq))
    f = 0
    for g, r in enumerate(reps):
        signs *= np.sign(r.quasi[uniq[:, g]])
        for j in range(len(r.wires)):
            angles[:, f + j] = np.array([_FRAME_ANGLES[r.labels[p][j]] for p in uniq[:, g]])
        f += len(r.wires)
    return angles, signs, counts


def _estimate(
    vals: torch.Tensor, gamma: float, signs: np.ndarray, counts: np.ndarray, num_samples: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard error of ``gamma * sign * value`` over the samples: ``vals`` (B, U, K)."""
    w = torch.as_tensor(gamma * signs, dtype=vals.dtype, device=vals.device)[None, :, None]
    c = torch.as_tensor(counts, dtype=vals.dtype, device=vals.device)[None, :, None]
    x = w * vals
    mean = (c * x).sum(1) / num_samples
    var = ((c * (x - mean[:, None]) ** 2).sum(1) / max(num_samples - 1, 1)).detach()
    return mean, (var / num_samples).sqrt()


@dataclass(frozen=True)
class PEC:
    """Probabilistic error cancellation settings.

    Args:
        noise_model: the model whose gate noise is cancelled (Pauli channels after gates); the same
            model the executions run with.
        num_samples: sampled circuits per estimate.
        seed: seeds the sampling.
    """

    noise_model: NoiseModel
    num_samples: int = 1000
    seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.noise_model, NoiseModel):
            raise TypeError("PEC needs the hqml.noise.NoiseModel the circuits run with")
        if (
            isinstance(self.num_samples, bool)
            or not isinstance(self.num_samples, int)
            or self.num_samples < 1
        ):
            raise ValueError(f"num_samples must be a positive integer, got {self.num_samples!r}")

    def gamma(self, circuit: Circuit) -> float:
        """The sampling overhead ``prod_G gamma_G`` of ``circuit``."""
        return float(np.prod([r.gamma for r in represent(circuit, self.noise_model)]))

    def expval(
        self,
        circuit: Circuit,
        observables: PauliSum | Sequence[PauliSum],
        *,
        inputs: Mapping[str, Any] | None = None,
        weights: Mapping[str, Any] | None = None,
        backend: Backend | str = "density_matrix",
        **kwargs: Any,
    ) -> PECResult:
        """PEC estimate of ``hqml.expval(circuit, observables, ...)`` without the gate noise.

        Extra keyword arguments (``dtype``, ``shots``, ``diff_method``) go to ``hqml.expval``,
        which runs all sampled circuits as one batch with ``noise_model`` set.
        """
        reps = represent(circuit, self.noise_model)
        framed, n_frames = framed_circuit(circuit, reps)
        if kwargs.get("shots") is not None:
            raise ValueError(
                "PEC.expval evaluates each sampled circuit exactly; use shots=None (or"
                " wrap a shot-based backend with PEC.backend)"
            )
        angles, signs, counts = sample_frames(
            reps, self.num_samples, np.random.default_rng(self.seed)
        )
        n = len(counts)
        batch = None
        rep_inputs: dict[str, Any] = {}
        for name, v in (inputs or {}).items():
            t = torch.as_tensor(v)
            if t.dim() == len(circuit.inputs[name].shape) + 1:
                batch = t.shape[0]
            rep_inputs[name] = t
        b = batch or 1
        for name, t in list(rep_inputs.items()):
            t = (
                t
                if t.dim() == len(circuit.inputs[name].shape) + 1
                else t.unsqueeze(0).expand(b, *t.shape)
            )
            rep_inputs[name] = t.repeat_interleave(n, dim=0)
        if n_frames:
            rdt = next(
                (t.dtype for t in rep_inputs.values() if t.is_floating_point()), torch.float64
            )
            rep_inputs[FRAME_INPUT] = torch.as_tensor(np.tile(angles, (b, 1, 1)), dtype=rdt)
        single = isinstance(observables, PauliSum)
        vals = run_expval(
            framed,
            observables,
            inputs=rep_inputs or None,
            weights=weights,
            backend=backend,
            noise_model=self.noise_model,
            **kwargs,
        )
        vals = vals.reshape(b, n, -1) if rep_inputs else vals.reshape(1, 1, -1)
        g = float(np.prod([r.gamma for r in reps]))
        est, se = _estimate(vals, g, signs, counts, self.num_samples)
        if batch is None:
            est, se = est[0], se[0]
        if single:
            est, se = est[..., 0], se[..., 0]
        return PECResult(est, se, g, self.num_samples, reps)

    def backend(self, base: Backend | str, **options: Any) -> PECBackend:
        return PECBackend(base, self, **options)


class PECBackend(WrappingBackend):
    """Wraps a backend: expectation values come back as PEC estimates (the task's noise model must
    be the PEC's); differentiable by backprop when the base backend is."""

    label = "pec"
    keeps = frozenset({"backprop", "finite-diff", "spsa"})
    answers = frozenset({"expval"})

    def __init__(self, base: Backend | str, pec: PEC, **options: Any):
        super().__init__(base, **options)
        self.pec = pec

    def execute_one(self, task: Task) -> torch.Tensor:
        if not isinstance(task.measurement, Expval):
            raise ValueError(f"{self.name} estimates expectation values only")
        if task.options.get("noise_model") is not self.pec.noise_model:
            raise ValueError(f"{self.name}: run with noise_model= the PEC's own noise model")
        base = parametrized(task)
        reps = represent(base, self.pec.noise_model)
        framed, n_frames = framed_circuit(base, reps)
        rng = np.random.default_rng(self.pec.seed)
        angles, signs, counts = sample_frames(reps, self.pec.num_samples, rng)
        if task.shots is not None:  # shot noise must be independent per sampled circuit
            angles = np.repeat(angles, counts, axis=0)
            signs = np.repeat(signs, counts)
            counts = np.ones(len(signs), dtype=np.int64)
        n = len(counts)
        bs = task.theta.shape[0]
        extra = {}
        if n_frames:
            extra[FRAME_INPUT] = torch.as_tensor(
                np.tile(angles, (bs, 1, 1)), dtype=task.theta.dtype, device=task.theta.device
            )
        vals = self.run_base([rebind(task, framed, extra_inputs=extra, repeat=n)])[0]
        g = float(np.prod([r.gamma for r in reps]))
        return _estimate(vals.reshape(bs, n, -1), g, signs, counts, self.pec.num_samples)[0]
