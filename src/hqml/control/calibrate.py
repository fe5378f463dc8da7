"""Calibration loops: a PPO agent trained online on the device, and the Nelder-Mead baseline.

Both see only shot outcomes of the calibration sequences and pay ``task.shots_per_step`` shots
per experiment; both are scored by the true gate fidelity, recorded in a :class:`Trace` against
the shots spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .env import CalibrationTask, TransmonCalibrationEnv
from .transmon import Pulse, Transmon, drifted, gate_fidelity

ROLLOUT = 64  # PPO's default n_steps: experiments per policy update


@dataclass
class Trace:
    """Fidelity against shots spent (and experiments run, the clock of the drift)."""

    shots: list[int] = field(default_factory=list)
    fidelity: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)

    def add(self, shots: int, fidelity: float, time: float = 0.0) -> None:
        self.shots.append(int(shots))
        self.fidelity.append(float(fidelity))
        self.time.append(float(time))

    def shots_to_reach(self, target: float) -> int | None:
        """Shots spent when the fidelity first reached ``target`` (None if never)."""
        return next(
            (s for s, f in zip(self.shots, self.fidelity, strict=True) if f >= target), None
        )

    def shots_to_hold(self, target: float) -> int | None:
        """Shots spent from which the fidelity stayed >= ``target`` at every later recorded
        point to the end (None if it ends below): a crossing that is lost again (a lucky
        best-measured point, later replaced) does not count."""
        if not self.fidelity or self.fidelity[-1] < target:
            return None
        k = len(self.fidelity) - 1
        while k > 0 and self.fidelity[k - 1] >= target:
            k -= 1
        return self.shots[k]


def miscalibrated(task: CalibrationTask, seed: int) -> Transmon:
    """A device drawn as the environment's first reset draws it."""
    env = TransmonCalibrationEnv(task)
    env.reset(seed=seed)
    return env.device()


class PPOCalibrator:
    """PPO (Stable-Baselines3) trained online: the policy's mean action is the calibration.

    Args:
        task: the calibration problem.
        device: the device to calibrate.
        seed: seeds the policy and the shot noise.
        ppo_options: overrides of the PPO settings (one-step episodes: gamma and GAE lambda 0).
    """

    def __init__(self, task: CalibrationTask, device: Transmon, seed: int = 0, **ppo_options: Any):
        try:
            from stable_baselines3 import PPO
        except ImportError:
            raise ImportError("PPO needs stable-baselines3: pip install 'hqml[control]'") from None
        self.env = TransmonCalibrationEnv(task, device)
        self.env.reset(seed=seed)
        options = {
            "n_steps": ROLLOUT,
            "batch_size": ROLLOUT,
            "n_epochs": 10,
            "learning_rate": 3e-3,
            "gamma": 0.0,
            "gae_lambda": 0.0,
            "ent_coef": 0.0,
            "seed": seed,
            "device": "cpu",
            "verbose": 0,
            "policy_kwargs": {"log_std_init": -1.0},
            **ppo_options,
        }
        self.model = PPO("MlpPolicy", self.env, **options)
        self.task = task

    def pulse(self) -> Pulse:
        """The calibrated pulse: the policy's deterministic action."""
        obs = np.zeros(len(self.task.sequences), np.float32)
        action, _ = self.model.predict(obs, deterministic=True)
        return self.task.pulse(action)

    def set_learning_rate(self, lr: float) -> None:
        """PPO's learning rate from the next update on (e.g. lower once calibrated, to track
        drift without the jitter of full-size steps)."""
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.model.learning_rate = lr
        self.model.lr_schedule = lambda _progress_remaining: float(lr)  # SB3 reads it per update

    def run(self, experiments: int, record_every: int = 64, trace: Trace | None = None) -> Trace:
        """Train online for ``experiments`` steps, recording the calibration's true fidelity
        every ``record_every`` steps; both must be whole PPO rollouts (multiples of
        ``n_steps``), since PPO always finishes a rollout and would spend more shots."""
        n = self.model.n_steps
        if experiments < 1 or experiments % n or record_every < 1 or record_every % n:
            raise ValueError(
                f"experiments and record_every must be positive multiples of PPO's n_steps "
                f"({n}), got {experiments} and {record_every}"
            )
        trace = trace if trace is not None else Trace()
        if not trace.shots:
            trace.add(self.env.shots_spent, self.env.fidelity(self.pulse()), self.env.time)
        done = 0
        while done < experiments:
            chunk = min(record_every, experiments - done)
            self.model.learn(chunk, reset_num_timesteps=False)
            done += chunk
            trace.add(self.env.shots_spent, self.env.fidelity(self.pulse()), self.env.time)
        return trace


def nelder_mead(
    task: CalibrationTask,
    device: Transmon,
    shot_budget: int,
    seed: int = 0,
    start: Pulse | None = None,
) -> tuple[Pulse, Trace]:
    """The model-free baseline: Nelder-Mead on the measured distance from the ideal outcomes,
    over the same parameters as the agent's actions, each evaluation one experiment; stops when
    ``shot_budget`` is spent. Returns the best pulse measured and its true-fidelity trace."""
    from scipy.optimize import minimize

    if shot_budget < task.shots_per_step:
        raise ValueError(
            f"shot budget {shot_budget} is below one evaluation ({task.shots_per_step} shots)"
        )
    rng = np.random.default_rng(seed)
    x0 = task.action(start or Pulse(duration=task.duration))
    trace = Trace()
    best = {"cost": np.inf, "x": x0}

    def cost(x: np.ndarray) -> float:
        pulse = task.pulse(x)
        dev = task.deviations(pulse, device, rng)
        c = float(dev @ dev)
        if c < best["cost"]:
            best.update(cost=c, x=np.array(x))
        trace.add(
            (len(trace.shots) + 1) * task.shots_per_step,
            gate_fidelity(task.pulse(best["x"]), device),
            len(trace.shots) + 1,
        )
        return c

    simplex = np.vstack([x0] + [x0 + 0.25 * np.eye(3)[k] for k in range(3)])
    minimize(
        cost,
        x0,
        method="Nelder-Mead",
        options={
            "maxfev": shot_budget // task.shots_per_step,
            "initial_simplex": simplex,
            "xatol": 0.0,
            "fatol": 0.0,
        },
    )
    return task.pulse(best["x"]), trace


def fixed_pulse_under_drift(
    task: CalibrationTask, device: Transmon, pulse: Pulse, times: list[float], shots: list[int]
) -> Trace:
    """The true fidelity of a pulse calibrated once, as the device drifts (no recalibration)."""
    trace = Trace()
    for t, s in zip(times, shots, strict=True):
        now = drifted(device, t, task.drift_offset, task.drift_scale, task.drift_period)
        trace.add(s, gate_fidelity(pulse, now), t)
    return trace


def with_drift(
    task: CalibrationTask, offset: float, scale: float, period: float
) -> CalibrationTask:
    """``task`` with slow drift switched on."""
    return replace(task, drift_offset=offset, drift_scale=scale, drift_period=period)
