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

Far from the target the first-order sequences are not linear and a linear law can run away, so
the calibrator can put a coarse stage in front (``coarse``: a maximum-likelihood fit of the
device from the sequences and a Ramsey pair, :mod:`.coarse`, then a jump to the fitted device's
best pulse), rerun it when the measured deviations say the pulse went astray (``guard``), and
lower its gain once calibrated (``hold_gain``, ``hold_below``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .calibrate import Trace
from .coarse import DeviceFit, best_action, model_device
from .env import CalibrationTask, gymnasium
from .transmon import RAMSEY, Pulse, Transmon, drifted, gate_fidelity, ideal, measure

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
        # sequences run besides the task's in every experiment (shots counted, not observed;
        # their P(1), with the task's, in ``reading``): the coarse stage's Ramsey pair
        self.extra: dict[str, tuple[tuple[str, ...], float]] = {}
        self.reading = np.zeros(0)

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
        t = self.task
        sequences = {**t.sequences, **self.extra}
        self.reading = measure(self.pulse(), self.device(), t.shots, self.np_random, sequences)
        self.shots_spent += t.shots * len(sequences)
        self.time += 1.0
        return self.reading[: len(t.sequences)] - ideal(t.sequences)

    def measure_at(self, x: np.ndarray) -> np.ndarray:
        """Move the pulse to ``x`` (clipped to the action box) and run one experiment there;
        the running averages start again from it. Returns the measured deviations."""
        self.x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
        self.d = self._measure()
        self.short, self.long = self.d.copy(), self.d.copy()
        return self.d

    def observation(self) -> np.ndarray:
        """The policy's observation now: the two running averages of the deviations."""
        return self._obs()

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
        coarse: experiments of a coarse first stage on the device (0: none): each runs the
            task's sequences and the Ramsey pair of :data:`~.transmon.RAMSEY` (their shots
            counted), fits the device to everything measured so far (:class:`.coarse.DeviceFit`)
            and moves the pulse to the fitted device's best; then one experiment at that pulse
            starts the policy's running averages, and the policy takes over.
        guard: when the short running average's root-mean-square deviation exceeds this, the
            pulse is outside the policy's linear range: the coarse stage runs again from there,
            its fit starting around the last one (None: never; needs ``coarse``).
        hold_gain: the policy's correction is multiplied by this once the long running
            average's root-mean-square deviation is below ``hold_below`` (gain scheduling: less
            shot noise passed into a pulse that is already calibrated).
        hold_below: see ``hold_gain`` (0: full gain always).
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
        coarse: int = 0,
        guard: float | None = None,
        hold_gain: float = 1.0,
        hold_below: float = 0.0,
        **ppo_options: Any,
    ):
        if coarse < 0 or (guard is not None and (guard <= 0 or coarse == 0)):
            raise ValueError(
                f"coarse must be >= 0 and guard positive with coarse > 0, got {coarse}, {guard}"
            )
        if not 0 < hold_gain <= 1 or hold_below < 0:
            raise ValueError(
                f"hold_gain must be in (0, 1] and hold_below >= 0, got {hold_gain}, {hold_below}"
            )
        self.coarse, self.guard, self.hold_gain, self.hold_below = (
            coarse,
            guard,
            hold_gain,
            hold_below,
        )
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
        task), from the nominal pulse; the first experiment gives the first observation (with a
        coarse stage, it is the first coarse experiment, and the pulse moves after it)."""
        task = task or self.task
        if len(task.sequences) != len(self.task.sequences):
            raise ValueError("the device's task must run the sequences the policy was trained on")
        self.env = FeedbackEnv(task, device, step=self.step)
        self.coarse_runs = 0  # coarse stages started (the first, then any by the guard)
        self._stage = "fine"
        if self.coarse:
            self._begin_coarse()
        self.obs, _ = self.env.reset(seed=seed)
        if self.coarse:
            self._coarse_step(measured=True)
        return self

    def _begin_coarse(self) -> None:
        # a rerun (by the guard) searches around the last fit: the device drifts slowly, it is
        # the pulse that went astray
        last = self._fit.estimate if self.coarse_runs else None
        self._fit, self._coarse_done = DeviceFit(self._env().task, last), 0
        self._stage = "coarse"
        self._env().extra = RAMSEY
        self.coarse_runs += 1

    def _coarse_step(self, measured: bool = False) -> None:
        """One coarse experiment (unless ``measured``: the reset's): fit, move to the best."""
        env = self._env()
        if not measured:
            env.measure_at(env.x)
        self._fit.add(env.pulse(), env.reading)
        env.x = best_action(env.task, model_device(env.task, *self._fit.fit()))
        self._coarse_done += 1
        if self._coarse_done >= self.coarse:  # next: one experiment to start the averages
            env.extra, self._stage = {}, "fresh"

    def gain(self) -> float:
        """The factor on the policy's correction now (gain scheduling, see the class doc)."""
        long = self._env().long
        return self.hold_gain if np.sqrt(np.mean(long**2)) < self.hold_below else 1.0

    def _experiment(self) -> None:
        env = self._env()
        if self._stage == "coarse":
            self._coarse_step()
            return
        if self._stage == "fresh":
            env.measure_at(env.x)
            self.obs, self._stage = env.observation(), "fine"
            return
        action, _ = self.model.predict(self.obs, deterministic=True)
        self.obs, _, _, _, _ = env.step(self.gain() * np.asarray(action, dtype=np.float64))
        if self.guard is not None and np.sqrt(np.mean(env.short**2)) > self.guard:
            self._begin_coarse()

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
        start, after the experiment that gave the first observation; with a coarse stage, the
        pulse it moved to)."""
        if experiments < 1 or record_every < 1:
            raise ValueError(
                f"experiments and record_every must be positive, got {experiments}, {record_every}"
            )
        env = self._env()
        trace = trace if trace is not None else Trace()
        if not trace.shots:
            trace.add(env.shots_spent, env.fidelity(), env.time)
        for k in range(1, experiments + 1):
            self._experiment()
            if k % record_every == 0 or k == experiments:
                trace.add(env.shots_spent, env.fidelity(), env.time)
        return trace
