"""Surface-code memory experiments from Stim: circuits, sampled syndromes and their geometry.

A :class:`SurfaceCodeMemory` names one experiment (distance, rounds, basis, noise) and builds it
with Stim's own generator (``surface_code:rotated_memory_x|z``). :meth:`SurfaceCodeMemory.sample`
draws detection events and observable flips in-process at Stim's speed; :class:`DetectorLayout`
keeps the detectors' coordinates so that a model can see the code's geometry: detector ``k`` sits
at ``(t, i, j)`` on a ``(rounds + 1, d + 1, d + 1)`` lattice (Stim puts stabiliser ancillas on
even coordinates ``0..2d``; time is the round index).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

NOISE_KINDS = ("depolarizing", "biased")


def _stim() -> Any:
    try:
        import stim
    except ImportError:
        raise ImportError("hqml.qec needs stim: pip install 'hqml[qec]'") from None
    return stim


@dataclass(frozen=True)
class Syndromes:
    """Sampled shots: ``detectors`` (shots, n_detectors) and ``flips`` (shots,), both bool."""

    detectors: np.ndarray
    flips: np.ndarray

    def __len__(self) -> int:
        return len(self.flips)


@dataclass(frozen=True)
class DetectorLayout:
    """Where each detector sits: integer ``(t, i, j)`` per detector on a ``shape`` lattice."""

    t: np.ndarray
    i: np.ndarray
    j: np.ndarray
    shape: tuple[int, int, int]

    def mask(self) -> np.ndarray:
        """(T, H, W) float32 array, 1 where a detector exists."""
        out = np.zeros(self.shape, dtype=np.float32)
        out[self.t, self.i, self.j] = 1.0
        return out

    def to_lattice(self, detectors: np.ndarray) -> np.ndarray:
        """(shots, n_detectors) events -> (shots, T, H, W) float32 lattice, 0 where none."""
        out = np.zeros((len(detectors), *self.shape), dtype=np.float32)
        out[:, self.t, self.i, self.j] = detectors
        return out


@dataclass(frozen=True)
class SurfaceCodeMemory:
    """A rotated surface-code memory experiment with circuit-level noise.

    Args:
        distance: code distance d (odd, >= 3).
        p: physical error rate used for every noise location (Stim's generator arguments
            ``after_clifford_depolarization``, ``before_round_data_depolarization``,
            ``before_measure_flip_probability`` and ``after_reset_flip_probability``).
        rounds: syndrome rounds (default d).
        basis: ``"z"`` or ``"x"`` memory.
        noise: ``"depolarizing"`` or ``"biased"``: single-qubit depolarising channels become
            Pauli channels with the same total rate and the bias eta = pz / (px + py) = ``bias``;
            two-qubit depolarising noise after each CNOT keeps its correlated errors.
        bias: eta of the biased variant (0.5 is depolarising).

    >>> exp = SurfaceCodeMemory(3, 0.005)
    >>> s = exp.sample(100, seed=1)
    >>> s.detectors.shape, s.flips.shape
    ((100, 24), (100,))
    """

    distance: int
    p: float
    rounds: int | None = None
    basis: str = "z"
    noise: str = "depolarizing"
    bias: float = 10.0

    def __post_init__(self) -> None:
        if self.distance < 3 or self.distance % 2 == 0:
            raise ValueError(f"distance must be odd and >= 3, got {self.distance}")
        if not 0.0 <= self.p < 0.5:
            raise ValueError(f"p must be in [0, 0.5), got {self.p}")
        if self.rounds is not None and self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if self.basis not in ("x", "z"):
            raise ValueError(f"basis must be 'x' or 'z', got {self.basis!r}")
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"noise must be one of {', '.join(NOISE_KINDS)}, got {self.noise!r}")
        if self.bias <= 0:
            raise ValueError(f"bias must be positive, got {self.bias}")

    @property
    def n_rounds(self) -> int:
        return self.distance if self.rounds is None else self.rounds

    @cached_property
    def circuit(self) -> Any:
        """The Stim circuit (built once)."""
        stim = _stim()
        c = stim.Circuit.generated(
            f"surface_code:rotated_memory_{self.basis}",
            distance=self.distance,
            rounds=self.n_rounds,
            after_clifford_depolarization=self.p,
            before_round_data_depolarization=self.p,
            before_measure_flip_probability=self.p,
            after_reset_flip_probability=self.p,
        )
        return _bias_single_qubit_noise(c, self.bias) if self.noise == "biased" else c

    @cached_property
    def layout(self) -> DetectorLayout:
        coords = self.circuit.get_detector_coordinates()
        xyz = np.array([coords[k] for k in range(self.circuit.num_detectors)], dtype=np.float64)
        d, r = self.distance, self.n_rounds
        return DetectorLayout(
            t=xyz[:, 2].astype(np.int64),
            i=(xyz[:, 0] // 2).astype(np.int64),
            j=(xyz[:, 1] // 2).astype(np.int64),
            shape=(r + 1, d + 1, d + 1),
        )

    def detector_error_model(self) -> Any:
        """Stim's detector error model (errors decomposed into graphlike pieces for matching)."""
        return self.circuit.detector_error_model(decompose_errors=True)

    def sample(self, shots: int, seed: int) -> Syndromes:
        """Sample ``shots`` shots with Stim's detector sampler, seeded."""
        if shots < 1:
            raise ValueError(f"shots must be positive, got {shots}")
        sampler = self.circuit.compile_detector_sampler(seed=seed)
        det, obs = sampler.sample(shots, separate_observables=True)
        return Syndromes(det, obs[:, 0])


def _bias_single_qubit_noise(circuit: Any, bias: float) -> Any:
    stim = _stim()
    out = stim.Circuit()
    for inst in circuit:
        if isinstance(inst, stim.CircuitRepeatBlock):
            body = _bias_single_qubit_noise(inst.body_copy(), bias)
            out.append(stim.CircuitRepeatBlock(inst.repeat_count, body))
        elif inst.name == "DEPOLARIZE1":
            p = inst.gate_args_copy()[0]
            pz = p * bias / (bias + 1.0)
            px = py = (p - pz) / 2.0
            out.append("PAULI_CHANNEL_1", inst.targets_copy(), [px, py, pz])
        else:
            out.append(inst)
    return out


def logical_error_per_round(failures: int, shots: int, rounds: int) -> tuple[float, float]:
    """Logical error rate per round and its one-sigma binomial error.

    Over ``rounds`` independent rounds with per-round flip probability e, the total flip
    probability is P = (1 - (1 - 2e)^rounds) / 2, so e = (1 - (1 - 2P)^(1/rounds)) / 2. The error
    on P is the binomial sqrt(P(1-P)/shots), carried to e by the derivative.

    No per-round rate in [0, 1/2] gives P > 1/2 (a decoder worse than a coin): that is nan, and
    P = 1/2 is e = 1/2 with an unbounded error, never a clamped finite number.
    """
    if shots < 1:
        raise ValueError("shots must be positive")
    if not 0 <= failures <= shots:
        raise ValueError(f"failures must be in [0, shots], got {failures} of {shots}")
    p_total = failures / shots
    if p_total >= 0.5:
        return (0.5 if p_total == 0.5 else float("nan")), float("nan")
    sigma = np.sqrt(max(p_total * (1 - p_total), 1.0 / shots) / shots)
    base = 1.0 - 2.0 * p_total
    per_round = 0.5 * (1.0 - base ** (1.0 / rounds))
    deriv = base ** (1.0 / rounds - 1.0) / rounds
    return float(per_round), float(sigma * deriv)
