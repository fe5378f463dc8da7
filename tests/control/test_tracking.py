"""Closed-loop calibration: the first-order tracking sequences against two-level rotations, the
feedback environment, and a PPO feedback policy that keeps a drifting device calibrated."""

import numpy as np
import pytest

pytest.importorskip("gymnasium")
pytest.importorskip("stable_baselines3")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from hqml.control import (  # noqa: E402
    CalibrationTask,
    Pulse,
    Trace,
    Transmon,
    fixed_pulse_under_drift,
    gate_fidelity,
    miscalibrated,
    sequence_probabilities,
    with_drift,
)
from hqml.control.tracking import FeedbackCalibrator, FeedbackEnv  # noqa: E402
from hqml.control.transmon import TRACKING, ideal  # noqa: E402

pytestmark = pytest.mark.slow


def _rotation(phase, angle):
    axis = np.cos(phase) * np.array([[0, 1], [1, 0]]) + np.sin(phase) * np.array(
        [[0, -1j], [1j, 0]]
    )
    return np.cos(angle / 2) * np.eye(2) - 1j * np.sin(angle / 2) * axis


@pytest.mark.parametrize("amplitude", [1.0, 1.03, 0.97])
def test_tracking_sequences_are_the_two_level_rotations_and_first_order(amplitude):
    dev = Transmon(alpha=-2 * np.pi * 1e4)  # far from the leakage level: a two-level qubit
    got = sequence_probabilities(Pulse(amplitude=amplitude), dev, TRACKING)
    gates = {"X": (0, 1.0), "Y": (np.pi / 2, 1.0), "x": (0, 0.5), "y": (np.pi / 2, 0.5)}
    want = []
    for word, _ in TRACKING.values():
        psi = np.array([1, 0], dtype=complex)
        for g in word:
            phase, scale = gates[g]
            psi = _rotation(phase, np.pi * amplitude * scale) @ psi
        want.append(abs(psi[1]) ** 2)
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(ideal(TRACKING), 0.5)
    if amplitude == 1.0:
        np.testing.assert_allclose(got, 0.5, atol=1e-5)
    else:  # first order: the sign of the amplitude error shows, unlike P(1) of X^n from |0>
        sign = np.sign(amplitude - 1.0)
        assert sign * (got[0] - 0.5) < -0.05 and sign * (got[1] - 0.5) > 0.05


def test_trace_counts_a_crossing_only_once_it_holds():
    tr = Trace()
    for shots, f in [(0, 0.99), (10, 0.9995), (20, 0.998), (30, 0.9991), (40, 0.9999)]:
        tr.add(shots, f)
    assert tr.shots_to_reach(0.999) == 10 and tr.shots_to_hold(0.999) == 30
    tr.add(50, 0.9985)  # lost again at the end: never held
    assert tr.shots_to_reach(0.999) == 10 and tr.shots_to_hold(0.999) is None
    assert Trace().shots_to_hold(0.999) is None


def test_feedback_env_follows_the_gymnasium_api_and_corrects_the_pulse():
    task = CalibrationTask(shots=20, tracking=True)
    check_env(FeedbackEnv(task, step=0.1), skip_render_check=True)
    big = CalibrationTask(shots=10_000, tracking=True)
    dev = miscalibrated(big, 2)
    env = FeedbackEnv(big, dev, step=0.1)
    obs, info = env.reset(seed=0)
    n = len(big.sequences)
    assert obs.shape == (2 * n,) and info["shots"] == big.shots_per_step
    want = sequence_probabilities(Pulse(), dev, big.sequences) - ideal(big.sequences)
    assert np.max(np.abs(obs[:n] - want)) < 0.02  # what was measured, not the fidelity
    env.step(np.array([1.0, -0.5, 0.0]))
    assert env.pulse() == big.pulse(np.array([0.1, -0.05, 0.0]))
    assert env.shots_spent == 2 * big.shots_per_step
    with pytest.raises(ValueError, match="needs a tracking task"):
        FeedbackEnv(CalibrationTask())


def test_feedback_policy_holds_a_drifting_device_where_its_frozen_pulse_falls():
    # a reduced drift run (600 experiments, drift period 600) with a policy trained on 16,384
    # simulated experiments (about 30 s on one quiet core: the cost of this test)
    task = CalibrationTask(shots=20, tracking=True)
    policy = FeedbackCalibrator(task, seed=0, pretrain_experiments=16_384)
    drift = with_drift(task, offset=0.01, scale=0.03, period=600.0)
    dev = miscalibrated(drift, 6)
    trace = policy.start(dev, seed=6, task=drift).run(100, record_every=10)
    assert trace.fidelity[-1] > 0.998 > gate_fidelity(Pulse(), dev)
    frozen = policy.pulse()  # the one-off: the policy's calibration, frozen here
    trace = policy.run(500, record_every=10)
    fixed = fixed_pulse_under_drift(drift, dev, frozen, trace.time, trace.shots)
    assert min(fixed.fidelity) < 0.995
    assert min(trace.fidelity) > 0.997 and min(trace.fidelity) > min(fixed.fidelity) + 0.003
    with pytest.raises(ValueError, match="sequences the policy was trained on"):
        policy.start(dev, task=CalibrationTask())
