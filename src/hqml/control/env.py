"""A Gymnasium environment for calibrating a transmon's X pulse from shot outcomes.

Each step is one experiment on the device: the action (in [-1, 1]^3) sets the pulse's amplitude,
drive detuning and DRAG coefficient within ``ranges`` around the nominal pulse, every calibration
sequence is run with ``shots`` shots (the cost), and the observation is the measured P(1) of each
sequence minus its ideal value. The reward is minus ten times the squared distance of the
measured probabilities from the ideal ones, which an experimenter can compute. Episodes are one
step long (the formulation of Sivak et al., PRX 12, 011059, 2022, for model-free calibration):
the policy's mean action is the calibration, and training online on the device is calibrating.
The device itself (its miscalibration, drawn by a seeded or the first reset unless one is given,
and its slow drift as steps go by) persists across unseeded resets. The true gate fidelity is in
``info["fidelity"]`` for scoring and plots only; it is never part of the observation or the reward.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .transmon import SEQUENCES, TRACKING, Pulse, Transmon, drifted, gate_fidelity, ideal, measure

try:
    import gymnasium
except ImportError:  # pragma: no cover - the extra is installed in the tests
    raise ImportError("hqml.control needs gymnasium: pip install 'hqml[control]'") from None


@dataclass(frozen=True)
class CalibrationTask:
    """The calibration problem.

    Args:
        device: the transmon before miscalibration and drift.
        duration: pulse duration in ns (fixed during calibration).
        shots: shots per sequence per experiment.
        ranges: the action +-1 reaches amplitude 1 +- r0, detuning +- r1 (rad/ns), DRAG +- r2.
        offset_spread: the first reset draws the qubit's frequency offset from +-this (rad/ns).
        scale_spread: ... and the drive-line scale from 1 +- this.
        drift_offset: amplitude of the slow frequency drift (rad/ns).
        drift_scale: relative amplitude of the slow drive-scale drift.
        drift_period: drift period in experiments (steps).
        tracking: also run the first-order sequences of :data:`TRACKING` in every experiment
            (more shots per experiment; the observation then has their deviations too).
    """

    device: Transmon = Transmon()
    duration: float = 20.0
    shots: int = 20
    ranges: tuple[float, float, float] = (0.2, 0.06, 1.5)
    offset_spread: float = 0.05
    scale_spread: float = 0.15
    drift_offset: float = 0.0
    drift_scale: float = 0.0
    drift_period: float = 1e5
    tracking: bool = False

    def __post_init__(self) -> None:
        if self.shots < 1 or self.duration <= 0 or min(self.ranges) <= 0:
            raise ValueError("shots, duration and ranges must be positive")

    @property
    def sequences(self) -> dict[str, tuple[tuple[str, ...], float]]:
        """The calibration sequences every experiment runs."""
        return {**SEQUENCES, **TRACKING} if self.tracking else SEQUENCES

    @property
    def shots_per_step(self) -> int:
        return self.shots * len(self.sequences)

    def deviations(self, pulse: Pulse, device: Transmon, rng: np.random.Generator) -> np.ndarray:
        """One experiment: the measured P(1) of every sequence minus its ideal value."""
        return measure(pulse, device, self.shots, rng, self.sequences) - ideal(self.sequences)

    def pulse(self, action: np.ndarray) -> Pulse:
        """The pulse that an action in [-1, 1]^3 sets."""
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0) * np.asarray(self.ranges)
        return Pulse(1.0 + a[0], a[1], a[2], self.duration)

    def action(self, pulse: Pulse) -> np.ndarray:
        """The action that sets ``pulse`` (inverse of :meth:`pulse`, unclipped)."""
        x = np.array([pulse.amplitude - 1.0, pulse.detuning, pulse.drag])
        return x / np.asarray(self.ranges)


class TransmonCalibrationEnv(gymnasium.Env):
    """One experiment per step on a miscalibrated, drifting transmon; see the module doc."""

    metadata = {"render_modes": []}

    def __init__(self, task: CalibrationTask | None = None, device: Transmon | None = None):
        super().__init__()
        self.task = task or CalibrationTask()
        n = len(self.task.sequences)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, shape=(n,), dtype=np.float32)
        self.given = device  # None: drawn by a seeded (or the first) reset
        self.base = device
        self.time = 0.0
        self.shots_spent = 0

    def device(self) -> Transmon:
        """The device now (after drift); for scoring only."""
        assert self.base is not None, "call reset() first"
        t = self.task
        if t.drift_offset == 0 and t.drift_scale == 0:
            return self.base
        return drifted(self.base, self.time, t.drift_offset, t.drift_scale, t.drift_period)

    def fidelity(self, pulse: Pulse) -> float:
        """The true X-gate fidelity of ``pulse`` on the device now (never given to agents)."""
        return gate_fidelity(pulse, self.device())

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:  # a new session: the clock and the shot count start again
            self.time, self.shots_spent = 0.0, 0
            self.base = self.given
        if self.base is None:
            t, rng = self.task, self.np_random
            self.base = replace(
                t.device,
                offset=t.device.offset + rng.uniform(-1, 1) * t.offset_spread,
                drive_scale=t.device.drive_scale * (1 + rng.uniform(-1, 1) * t.scale_spread),
            )
        return np.zeros(len(self.task.sequences), np.float32), {"shots": self.shots_spent}

    def step(self, action: np.ndarray):
        pulse = self.task.pulse(action)
        deviation = self.task.deviations(pulse, self.device(), self.np_random)
        self.shots_spent += self.task.shots_per_step
        info = {"fidelity": self.fidelity(pulse), "shots": self.shots_spent}
        self.time += 1.0
        reward = -10.0 * float(deviation @ deviation)
        return deviation.astype(np.float32), reward, True, False, info
