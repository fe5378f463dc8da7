"""A driven transmon as a three-level system (qubit plus the leakage level), pulse by pulse.

In the frame rotating at the drive frequency, with n = a†a and the drive's quadratures
Omega_x(t), Omega_y(t):

    H(t) = Delta n + (alpha / 2) n (n - 1) + Omega_x(t) (a + a†) / 2 + Omega_y(t) i (a† - a) / 2

Delta = (qubit frequency offset) - (drive detuning). The pulse is a Gaussian of duration T
(sigma = T / 4, shifted to vanish at its ends) scaled so that ``amplitude = 1`` is a pi rotation
to first order, with a DRAG quadrature Omega_y = -drag * dOmega_x/dt / alpha (Motzoi et al.,
PRL 103, 110501, 2009). The evolution is exact for the piecewise-constant Hamiltonian on a fine
time grid (each step a 3x3 matrix exponential through eigh). Units: ns and rad/ns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

_N = np.diag([0.0, 1.0, 2.0])
_A = np.diag(np.sqrt([1.0, 2.0]), k=1)  # annihilation operator on 3 levels
_X3 = (_A + _A.T) / 2
_Y3 = 1j * (_A.T - _A) / 2
_X_TARGET = np.array([[0, 1], [1, 0]], dtype=complex)  # the X gate (global phase is free)


@dataclass(frozen=True)
class Transmon:
    """The device: qubit frequency offset from the nominal drive (rad/ns), anharmonicity
    (rad/ns), the drive line's amplitude scale, and readout errors P(1|0) and P(0|1)."""

    offset: float = 0.0
    alpha: float = -2 * np.pi * 0.30
    drive_scale: float = 1.0
    readout_01: float = 0.0
    readout_10: float = 0.0


@dataclass(frozen=True)
class Pulse:
    """What the experimenter sets: amplitude (1 = nominal pi pulse), drive detuning (rad/ns),
    DRAG coefficient and duration (ns)."""

    amplitude: float = 1.0
    detuning: float = 0.0
    drag: float = 0.0
    duration: float = 20.0

    def as_array(self) -> np.ndarray:
        return np.array([self.amplitude, self.detuning, self.drag, self.duration])


def pulse_unitary(
    pulse: Pulse, device: Transmon, phase: float = 0.0, scale: float = 1.0, steps: int = 96
) -> np.ndarray:
    """The 3x3 propagator of one pulse; ``phase`` rotates the drive axis (pi/2: a Y pulse),
    ``scale`` multiplies the amplitude (0.5: a half pulse)."""
    if pulse.duration <= 0:
        raise ValueError(f"pulse duration must be positive, got {pulse.duration}")
    dt = pulse.duration / steps
    t = (np.arange(steps) + 0.5) * dt
    sigma = pulse.duration / 4
    g = np.exp(-((t - pulse.duration / 2) ** 2) / (2 * sigma**2))
    g -= np.exp(-((pulse.duration / 2) ** 2) / (2 * sigma**2))
    dg = (
        -(t - pulse.duration / 2)
        / sigma**2
        * np.exp(-((t - pulse.duration / 2) ** 2) / (2 * sigma**2))
    )
    norm = np.pi / (g.sum() * dt)
    amp = pulse.amplitude * scale * device.drive_scale * norm
    ox, oy = amp * g, -pulse.drag * amp * dg / device.alpha
    # a drive phase phi turns (ox, oy) by phi
    cx, cy = ox * np.cos(phase) - oy * np.sin(phase), ox * np.sin(phase) + oy * np.cos(phase)
    delta = device.offset - pulse.detuning
    h0 = delta * _N + device.alpha / 2 * _N @ (_N - np.eye(3))
    hs = h0[None] + cx[:, None, None] * _X3[None] + cy[:, None, None] * _Y3[None]
    w, v = np.linalg.eigh(hs)
    us = np.einsum("kij,kj,klj->kil", v, np.exp(-1j * w * dt), v.conj())
    while len(us) > 1:  # time-ordered product, later steps on the left, pairwise
        if len(us) % 2:
            us = np.concatenate([us, np.eye(3, dtype=complex)[None]])
        us = us[1::2] @ us[0::2]
    return us[0]


def average_gate_fidelity(u: np.ndarray, target: np.ndarray = _X_TARGET) -> float:
    """Average gate fidelity of a 3-level propagator on the qubit subspace, leakage included:
    F = (Tr(M M†) + |Tr M|^2) / 6 with M = P target† U P (Pedersen, Moller and Molmer,
    Phys. Lett. A 367, 47, 2007); it does not depend on the global phase."""
    m = target.conj().T @ u[:2, :2]
    return float((np.trace(m @ m.conj().T).real + abs(np.trace(m)) ** 2) / 6)


def gate_fidelity(pulse: Pulse, device: Transmon) -> float:
    """The X gate's average fidelity: the score, never shown to an agent."""
    return average_gate_fidelity(pulse_unitary(pulse, device))


# calibration sequences of full X and Y pulses applied to |0>, with P(1) of a perfect X gate:
# odd powers of X amplify amplitude errors, X/Y products (AllXY-like) phase, detuning and
# DRAG errors, with opposite signs in XY and YX
SEQUENCES: dict[str, tuple[tuple[str, ...], float]] = {
    "X": (("X",), 1.0),
    "X3": (("X",) * 3, 1.0),
    "X5": (("X",) * 5, 1.0),
    "X7": (("X",) * 7, 1.0),
    "XY": (("X", "Y"), 0.0),
    "YX": (("Y", "X"), 0.0),
    "XYX": (("X", "Y", "X"), 1.0),
    "YXY": (("Y", "X", "Y"), 1.0),
    "XYXY": (("X", "Y") * 2, 0.0),
    "YXYX": (("Y", "X") * 2, 0.0),
    "(XY)3X": (("X", "Y") * 3 + ("X",), 1.0),
    "(YX)3Y": (("Y", "X") * 3 + ("Y",), 1.0),
}


# first-order error amplification for closed-loop tracking: a half pulse (x = X/2, y = Y/2, at
# half amplitude) puts the state on the equator, where P(1) = 1/2 moves linearly with the
# errors of the full pulses that follow (x X X X: amplitude; x Y: detuning and DRAG; y Y Y X:
# amplitude, detuning and DRAG with other weights); with the X pulse calibrated, each reads 1/2
TRACKING: dict[str, tuple[tuple[str, ...], float]] = {
    "xXXX": (("x", "X", "X", "X"), 0.5),
    "xXX": (("x", "X", "X"), 0.5),
    "xY": (("x", "Y"), 0.5),
    "yYYX": (("y", "Y", "Y", "X"), 0.5),
}

# Ramsey-like sequences for a coarse first stage (:mod:`.coarse`): two half pulses around a
# wait ("w", free evolution for WAIT pulse durations) read the phase that the frequency offset
# minus the drive detuning accumulates (about Delta x 64 ns, pulses included, at WAIT = 2 and
# 20 ns pulses) in both quadratures (x w x: cos, x w y: sin): the pair alone reads |Delta| up
# to 0.049 rad/ns without ambiguity (|phase| < pi), the other sequences tell the wraps apart
# beyond; the values are those of Delta = 0 with perfect half pulses
RAMSEY: dict[str, tuple[tuple[str, ...], float]] = {
    "xwx": (("x", "w", "x"), 1.0),
    "xwy": (("x", "w", "y"), 0.5),
}
WAIT = 2.0

_GATES = {"X": (0.0, 1.0), "Y": (np.pi / 2, 1.0), "x": (0.0, 0.5), "y": (np.pi / 2, 0.5)}


def sequence_probabilities(
    pulse: Pulse,
    device: Transmon,
    sequences: dict[str, tuple[tuple[str, ...], float]] = SEQUENCES,
) -> np.ndarray:
    """P(reading 1) of every sequence (default :data:`SEQUENCES`; level 2 reads as 1), before
    readout error."""
    used = {g for word, _ in sequences.values() for g in word}
    pulses = used - {"w"}
    on_x = {s: pulse_unitary(pulse, device, 0.0, s) for s in {_GATES[g][1] for g in pulses}}
    # a drive phase phi conjugates the propagator by exp(i phi n) (n commutes with the rest)
    gates = {}
    if "w" in used:  # free evolution in the drive's frame: diagonal
        n = np.diag(_N)
        h = (device.offset - pulse.detuning) * n + device.alpha / 2 * n * (n - 1)
        gates["w"] = np.diag(np.exp(-1j * h * WAIT * pulse.duration))
    for g in pulses:
        phase, s = _GATES[g]
        r = np.exp(1j * phase * np.diag(_N))
        gates[g] = r[:, None] * on_x[s] * r.conj()[None, :]
    out = np.empty(len(sequences))
    for k, (word, _) in enumerate(sequences.values()):
        psi = np.array([1.0, 0.0, 0.0], dtype=complex)
        for g in word:
            psi = gates[g] @ psi
        out[k] = float(np.sum(np.abs(psi[1:]) ** 2))
    return np.clip(out, 0.0, 1.0)


def measure(
    pulse: Pulse,
    device: Transmon,
    shots: int,
    rng: np.random.Generator,
    sequences: dict[str, tuple[tuple[str, ...], float]] = SEQUENCES,
) -> np.ndarray:
    """Estimated P(1) of every sequence from ``shots`` shots each, with readout error."""
    p = sequence_probabilities(pulse, device, sequences)
    p = p * (1 - device.readout_10) + (1 - p) * device.readout_01
    return rng.binomial(shots, p) / shots


def ideal(sequences: dict[str, tuple[tuple[str, ...], float]]) -> np.ndarray:
    """The P(1) of every sequence for a perfect X gate."""
    return np.array([v[1] for v in sequences.values()])


IDEAL = ideal(SEQUENCES)


def drifted(
    device: Transmon, time: float, offset_amp: float, scale_amp: float, period: float
) -> Transmon:
    """The device after ``time`` (in calibration steps) of slow sinusoidal drift."""
    phase = 2 * np.pi * time / period
    return replace(
        device,
        offset=device.offset + offset_amp * np.sin(phase),
        drive_scale=device.drive_scale * (1 + scale_amp * np.sin(0.7 * phase + 1.0)),
    )
