"""Closed-loop calibration: a PPO feedback policy that observes recent measured deviations.

The one-step agent of :mod:`.calibrate` sees nothing of the device (its mean action is the
calibration), so it follows drift only through its updates. Here the policy observes what an
experimenter has measured: the deviations of the last experiment and two running averages of
them (a short and a long exponential window), over the sequences of a ``tracking`` task, whose
first-order sequences (:data:`~.transmon.TRACKING`) give the sign of the amplitude and
detuning errors. Its action is a correction to the current pulse (at most ``step`` of each
action range per experiment); the reward is minus ten times the squared measured deviation after
the correction. The policy is trained (PPO) on simulated devices drawn from the task's spreads,
then run on each device as a fixed feedback law: measure, correct, measure ... Every experiment
on the device costs ``task.shots_per_step`` shots; the simulated training experiments are
counted separately (``pretrain_experiments``). The true fidelity is for scoring only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .calibrate import Trace
from .env import CalibrationTask, gymnasium
from .transmon import Pulse, Transmon, drifted, gate_fidelity

_LINEAR = {"pi": [], "vf": [64, 64]}
SHORT, LONG = 0.25, 0.05  # weights of the newest experiment in the two running averages


class FeedbackEnv(gymnasium.Env):
    """One experiment per step; episodes of ``length`` steps on one device (drawn from the
    task's spreads at each reset unless ``device`` is given). The clock of the drift runs on
    across resets of a given device."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        task: CalibrationTask,
        device: Transmon | None = None,
        length: int = 64,
        step: float = 0.1,
    ):
        super().__init__()
        if not task.tracking:
            raise ValueError("FeedbackEnv needs a tracking task: CalibrationTask(tracking=True)")
        if length < 1 or not 0 < step <= 1:
            raise ValueError(f"length must be positive and step in (0, 1], got {length}, {step}")
        self.task, self.given, self.length, self.step_size = task, device, length, step
        n = len(task.sequences)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, shape=(2 * n,), dtype=np.float32)
        self.base, self.x, self.time, self.steps, self.shots_spent = None, np.zeros(3), 0.0, 0, 0

    def device(self) -> Transmon:
        """The device now (after drift); for scoring only."""
        t = self.task
        if t.drift_offset == 0 and t.drift_scale == 0:
            return self.base
        return drifted(self.base, self.time, t.drift_offset, t.drift_scale, t.drift_period)

    def pulse(self) -> Pulse:
        """The current calibration."""
        return self.task.pulse(self.x)

    def fidelity(self) -> float:
        """The true X-gate fidelity of the current calibration (never given to the policy)."""
        return gate_fidelity(self.pulse(), self.device())

    def _measure(self) -> np.ndarray:
        d = self.task.deviations(self.pulse(), self.device(), self.np_random)
        self.shots_spent += self.task.shots_per_step
        self.time += 1.0
        return d

    def _obs(self) -> np.ndarray:
        return np.clip(np.concatenate([self.short, self.long]), -1, 1).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        t, rng = self.task, self.np_random
        if seed is not None:  # a new session: the clock and the shot count start again
            self.time, self.shots_spent = 0.0, 0
        if self.given is None:  # training: a fresh simulated device, from nominal or anywhere
            self.base = replace(
                t.device,
                offset=t.device.offset + rng.uniform(-1, 1) * t.offset_spread,
                drive_scale=t.device.drive_scale * (1 + rng.uniform(-1, 1) * t.scale_spread),
            )
            self.x = np.zeros(3) if rng.uniform() < 0.5 else rng.uniform(-0.8, 0.8, 3)
        elif self.base is None or seed is not None:
            self.base, self.x = self.given, np.zeros(3)
        self.steps = 0
        self.d = self._measure()
        self.short, self.long = self.d.copy(), self.d.copy()
        return self._obs(), {"shots": self.shots_spent}

    def step(self, action: np.ndarray):
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self.x = np.clip(self.x + self.step_size * a, -1.0, 1.0)
        self.d = self._measure()
        self.short += SHORT * (self.d - self.short)
        self.long += LONG * (self.d - self.long)
        self.steps += 1
        info = {"shots": self.shots_spent}  # the fidelity: fidelity(), for scoring only
        reward = -10.0 * float(self.d @ self.d)
        return self._obs(), reward, False, self.steps >= self.length, info


class FeedbackCalibrator:
    """PPO trained on simulated devices, then run as a fixed feedback law on a device.

    Args:
        task: a tracking task (its spreads draw the training devices, without drift).
        seed: seeds the policy and the training devices.
        pretrain_experiments: simulated experiments of training (8 devices at a time).
        step: the largest correction per experiment, as a fraction of each action range.
        linear: the policy's mean is linear in the observation, without bias (zero
            deviations, zero correction); otherwise SB3's default MLP.
        ppo_options: overrides of the PPO settings.

    :meth:`start` puts it on a device (with that task's drift, if any); :meth:`run` calibrates.
    """

    def __init__(
        self,
        task: CalibrationTask,
        seed: int = 0,
        pretrain_experiments: int = 32_768,
        step: float = 0.05,
        linear: bool = True,
        **ppo_options: Any,
    ):
        try:
            from stable_baselines3 import PPO
            from stable_baselines3.common.env_util import make_vec_env
        except ImportError:
            raise ImportError("PPO needs stable-baselines3: pip install 'hqml[control]'") from None
        if pretrain_experiments < 1:
            raise ValueError(f"pretrain_experiments must be positive, got {pretrain_experiments}")
        sim_task = replace(task, drift_offset=0.0, drift_scale=0.0)
        venv = make_vec_env(lambda: FeedbackEnv(sim_task, step=step), n_envs=8, seed=seed)
        options = {
            "n_steps": 64,
            "batch_size": 256,
            "n_epochs": 10,
            "learning_rate": 3e-3,
            "gamma": 0.0,
            "gae_lambda": 0.9,
            "ent_coef": 0.0,
            "seed": seed,
            "device": "cpu",
            "verbose": 0,
            "policy_kwargs": {"log_std_init": -1.0},
            **ppo_options,
        }
        if linear:  # a linear law, no bias: what reads ideal is left alone
            options["policy_kwargs"] = {**options["policy_kwargs"], "net_arch": _LINEAR}
        self.model = PPO("MlpPolicy", venv, **options)
        if linear:
            self.model.policy.action_net.bias.data.zero_()
            self.model.policy.action_net.bias.requires_grad_(False)
        self.model.learn(pretrain_experiments)
        self.pretrain_experiments = int(self.model.num_timesteps)
        venv.close()
        self.task, self.step, self.env = task, step, None

    def start(
        self, device: Transmon, seed: int = 0, task: CalibrationTask | None = None
    ) -> FeedbackCalibrator:
        """Put the policy on ``device`` (``task``: its drift and shots; default the training
        task), from the nominal pulse; the first experiment gives the first observation."""
        task = task or self.task
        if len(task.sequences) != len(self.task.sequences):
            raise ValueError("the device's task must run the sequences the policy was trained on")
        self.env = FeedbackEnv(task, device, step=self.step)
        self.obs, _ = self.env.reset(seed=seed)
        return self

    def pulse(self) -> Pulse:
        """The current calibration."""
        return self._env().pulse()

    def _env(self) -> FeedbackEnv:
        if self.env is None:
            raise ValueError("put the calibrator on a device first: start(device)")
        return self.env

    def run(self, experiments: int, record_every: int = 1, trace: Trace | None = None) -> Trace:
        """Run the feedback loop on the device for ``experiments`` experiments, recording the
        true fidelity of the calibration every ``record_every`` of them (the first point is the
        start, after the experiment that gave the first observation)."""
        if experiments < 1 or record_every < 1:
            raise ValueError(
                f"experiments and record_every must be positive, got {experiments}, {record_every}"
            )
        env = self._env()
        trace = trace if trace is not None else Trace()
        if not trace.shots:
            trace.add(env.shots_spent, env.fidelity(), env.time)
        for k in range(1, experiments + 1):
            action, _ = self.model.predict(self.obs, deterministic=True)
            self.obs, _, _, _, _ = env.step(action)
            if k % record_every == 0 or k == experiments:
                trace.add(env.shots_spent, env.fidelity(), env.time)
        return trace
