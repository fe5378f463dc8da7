"""The calibration environment, the PPO agent and the Nelder-Mead baseline."""

import numpy as np
import pytest

pytest.importorskip("gymnasium")
pytest.importorskip("stable_baselines3")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from hqml.control import (  # noqa: E402
    CalibrationTask,
    PPOCalibrator,
    Pulse,
    TransmonCalibrationEnv,
    fixed_pulse_under_drift,
    gate_fidelity,
    miscalibrated,
    nelder_mead,
    sequence_probabilities,
    with_drift,
)
from hqml.control.transmon import IDEAL  # noqa: E402

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these


def test_env_follows_the_gymnasium_api_and_hides_the_fidelity():
    env = TransmonCalibrationEnv(CalibrationTask())
    check_env(env, skip_render_check=True)
    env = TransmonCalibrationEnv(CalibrationTask(shots=10_000))
    env.reset(seed=3)
    obs, reward, terminated, truncated, info = env.step(np.zeros(3))
    assert terminated and not truncated and info["shots"] == 10_000 * len(IDEAL)
    # the observation is what was measured: probabilities minus ideal, within shot noise
    want = sequence_probabilities(Pulse(duration=20.0), env.device()) - IDEAL
    assert np.max(np.abs(obs - want)) < 0.02
    assert reward == pytest.approx(-10 * float(obs.astype(float) @ obs.astype(float)), rel=1e-5)
    assert info["fidelity"] == pytest.approx(gate_fidelity(Pulse(duration=20.0), env.device()))


def test_task_maps_actions_to_pulses_and_back():
    task = CalibrationTask()
    p = task.pulse(np.array([0.5, -1.0, 2.0]))  # clipped to the box
    assert (p.amplitude, p.detuning, p.drag) == pytest.approx((1.1, -0.06, 1.5))
    np.testing.assert_allclose(task.action(p), [0.5, -1.0, 1.0])


def test_ppo_improves_the_fidelity_over_its_miscalibrated_start():
    task = CalibrationTask()
    device = miscalibrated(task, 0)
    start = gate_fidelity(Pulse(duration=task.duration), device)
    trace = PPOCalibrator(task, device, seed=0).run(1_280, record_every=640)
    assert start < 0.99
    assert trace.fidelity[0] == pytest.approx(start, abs=0.02)  # the untrained policy's mean
    assert trace.fidelity[-1] > 0.995 and 1 - trace.fidelity[-1] < 0.3 * (1 - start)
    assert trace.shots[-1] == 1_280 * task.shots_per_step
    # PPO finishes every rollout it starts: a budget that is not whole rollouts is refused
    with pytest.raises(ValueError, match=r"multiples of PPO's n_steps \(64\), got 100"):
        PPOCalibrator(task, device, seed=0).run(100)


def test_ppo_learning_rate_can_be_lowered_for_tracking():
    task = CalibrationTask()
    agent = PPOCalibrator(task, miscalibrated(task, 0), seed=0)
    agent.set_learning_rate(4e-4)
    agent.run(64)  # one update: SB3 sets the optimiser's rate from the schedule
    assert [g["lr"] for g in agent.model.policy.optimizer.param_groups] == [4e-4]
    with pytest.raises(ValueError, match="learning rate must be positive, got 0"):
        agent.set_learning_rate(0)


def test_nelder_mead_spends_its_budget_and_keeps_its_best_point():
    task = CalibrationTask(shots=200)
    device = miscalibrated(task, 3)
    budget = 150 * task.shots_per_step
    pulse, trace = nelder_mead(task, device, budget, seed=0)
    assert trace.shots[-1] <= budget and len(trace.shots) >= 140
    assert trace.fidelity[-1] == pytest.approx(gate_fidelity(pulse, device))
    assert trace.fidelity[-1] > trace.fidelity[0]
    with pytest.raises(ValueError, match="below one evaluation"):  # never overspends
        nelder_mead(task, device, task.shots_per_step - 1, seed=0)


def test_a_fixed_pulse_loses_fidelity_under_drift():
    task = with_drift(CalibrationTask(), offset=0.01, scale=0.02, period=1000.0)
    device = miscalibrated(task, 1)
    best, _ = nelder_mead(CalibrationTask(shots=2000), device, 300 * 12 * 2000, seed=1)
    times = list(np.linspace(0, 1000, 21))
    tr = fixed_pulse_under_drift(task, device, best, times, [0] * len(times))
    assert max(tr.fidelity) - min(tr.fidelity) > 1e-3
    assert min(tr.fidelity) < 0.999
