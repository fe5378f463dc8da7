"""The coarse first stage: the Ramsey pair against dense algebra, the device fit against the
Fisher-information error of its shots, the best pulse against a direct search, and the guard
that brings a pulse outside the linear range back (never leaving the action box)."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.linalg import expm

pytest.importorskip("gymnasium")

from hqml.control import CalibrationTask, Pulse, Transmon, gate_fidelity  # noqa: E402
from hqml.control.coarse import (  # noqa: E402
    DeviceFit,
    best_action,
    coarse_sequences,
    model_device,
    predicted,
)
from hqml.control.transmon import RAMSEY, WAIT, measure, pulse_unitary  # noqa: E402

TASK = CalibrationTask(shots=20, tracking=True)


@pytest.mark.parametrize("delta", [0.0, 0.03, -0.05])
def test_ramsey_pair_is_two_half_pulses_around_free_evolution(delta):
    dev = Transmon(offset=delta)
    pulse = Pulse(amplitude=1.02, detuning=0.0, drag=0.4)
    got = predicted(replace(TASK, tracking=False), pulse, dev)[-2:]  # readout-free device
    n = np.diag([0.0, 1.0, 2.0])
    half = pulse_unitary(pulse, dev, 0.0, 0.5)
    r = np.diag(np.exp(1j * np.pi / 2 * np.diag(n)))  # the drive phase pi/2: a y half pulse
    wait = expm(-1j * (delta * n + dev.alpha / 2 * n @ (n - np.eye(3))) * WAIT * pulse.duration)
    psi0 = np.array([1.0, 0.0, 0.0])
    want = [
        1 - abs((half @ wait @ half @ psi0)[0]) ** 2,
        1 - abs((r @ half @ r.conj() @ wait @ half @ psi0)[0]) ** 2,
    ]
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_ramsey_pair_reads_the_detuning_without_ambiguity_over_the_spread():
    task = replace(TASK, tracking=False)
    deltas = np.linspace(-0.045, 0.045, 19)
    pairs = np.array([predicted(task, Pulse(), Transmon(offset=d))[-2:] for d in deltas])
    # cos and sin quadratures of the accumulated phase: its angle rises through (-pi, pi)
    angle = np.arctan2(1 - 2 * pairs[:, 1], 2 * pairs[:, 0] - 1)
    assert np.all(np.diff(angle) > 0.3) and angle[0] > -np.pi and angle[-1] < np.pi
    assert list(RAMSEY) == ["xwx", "xwy"]


def _fisher(task, pulse, dev, shots):
    """Fisher information of (offset, scale) from binomial shots, by finite differences."""
    h = (1e-5, 1e-5)

    def p(o, s):
        return predicted(task, pulse, model_device(task, o, s))

    dp = [
        (p(dev.offset + h[0], dev.drive_scale) - p(dev.offset - h[0], dev.drive_scale)) / 2 / h[0],
        (p(dev.offset, dev.drive_scale + h[1]) - p(dev.offset, dev.drive_scale - h[1])) / 2 / h[1],
    ]
    p0 = np.clip(p(dev.offset, dev.drive_scale), 1e-6, 1 - 1e-6)
    w = shots / (p0 * (1 - p0))
    return np.array([[np.sum(w * a * b) for b in dp] for a in dp])


@pytest.mark.parametrize("offset, scale, seed", [(0.03, 1.08, 0), (-0.05, 0.86, 1)])
def test_fit_finds_a_known_device_within_its_shot_noise(offset, scale, seed):
    dev = Transmon(offset=offset, drive_scale=scale)
    rng = np.random.default_rng(seed)
    fit = DeviceFit(TASK)
    pulse = Pulse()  # the nominal pulse: far from this device's optimum
    for _ in range(3):
        fit.add(pulse, measure(pulse, dev, TASK.shots, rng, coarse_sequences(TASK)))
    est = np.array(fit.fit())
    sigma = np.sqrt(np.diag(np.linalg.inv(_fisher(TASK, pulse, dev, 3 * TASK.shots))))
    assert np.all(np.abs(est - [offset, scale]) < 4 * sigma), (est, sigma)
    assert sigma[0] < 0.005 and sigma[1] < 0.02  # far tighter than the spreads
    with pytest.raises(ValueError, match="coarse sequences"):
        fit.add(pulse, np.zeros(3))
    with pytest.raises(ValueError, match="no measurements"):
        DeviceFit(TASK).fit()


@pytest.mark.parametrize("offset, scale", [(0.02, 0.9), (-0.062, 1.1)])
def test_best_action_is_the_model_optimum_inside_the_box(offset, scale):
    dev = Transmon(offset=offset, drive_scale=scale)
    x = best_action(TASK, dev)
    assert np.all(np.abs(x) <= 1.0)
    f = gate_fidelity(TASK.pulse(x), dev)
    rng = np.random.default_rng(0)  # no point of a random search in the box does better
    others = [gate_fidelity(TASK.pulse(x + rng.normal(0, 0.05, 3)), dev) for _ in range(40)]
    assert f > 0.99999 and f >= max(others) - 1e-7
    # an independent optimiser: bounded Powell on the model fidelity from four starts in the box
    from scipy.optimize import minimize

    best = max(
        -minimize(
            lambda y: -gate_fidelity(TASK.pulse(y), dev),
            x0,
            method="Powell",
            bounds=[(-1.0, 1.0)] * 3,
            options={"xtol": 1e-6, "ftol": 1e-12},
        ).fun
        for x0 in rng.uniform(-0.8, 0.8, (4, 3))
    )
    assert f >= best - 1e-8
    if offset < -0.05:  # its best detuning lies outside the box: the DRAG makes it up
        assert x[1] == pytest.approx(-1.0, abs=1e-3)


@pytest.fixture(scope="module")
def policy():
    """A feedback calibrator after one PPO rollout; the tests replace its law."""
    pytest.importorskip("stable_baselines3")
    from hqml.control import FeedbackCalibrator

    return FeedbackCalibrator(TASK, seed=0, pretrain_experiments=1)


def _law(pol, action):
    pol.model.predict = lambda obs, deterministic=True: (np.asarray(action, np.float32), None)


def test_guard_brings_a_runaway_pulse_back_and_never_leaves_the_box(policy):
    pol = policy
    pol.coarse, pol.guard, pol.hold_gain, pol.hold_below = 1, 0.15, 1.0, 0.0
    dev = Transmon(offset=-0.045, drive_scale=1.1)
    pol.start(dev, seed=3)
    assert pol.coarse_runs == 1 and pol.env.shots_spent == 18 * TASK.shots  # Ramsey paid for
    _law(pol, np.ones(3))  # a law that runs away: the largest correction, towards a corner
    xs, fs = [], []
    for _ in range(30):
        pol.run(1)
        xs.append(pol.env.x.copy())
        fs.append(gate_fidelity(pol.pulse(), dev))
    assert np.all(np.abs(xs) <= 1.0)
    assert pol.coarse_runs >= 2  # the guard fired and the coarse stage ran again
    assert max(fs) > 0.999 and min(fs) < 0.99  # back near the optimum after each coarse stage
    _law(pol, np.zeros(3))  # a law that stays put: from a corner, the guard returns it for good
    pol.env.measure_at(np.ones(3))
    runs = pol.coarse_runs
    trace = pol.run(12)
    assert trace.fidelity[0] < 0.8 and trace.fidelity[-1] > 0.999
    assert pol.coarse_runs == runs + 1


def test_gain_is_scheduled_on_the_measured_deviation(policy):
    pol = policy
    pol.coarse, pol.guard, pol.hold_gain, pol.hold_below = 0, None, 0.25, 0.05
    pol.start(Transmon(offset=0.01), seed=0)
    pol.env.long = np.full(16, 0.01)
    assert pol.gain() == 0.25
    pol.env.long = np.full(16, 0.2)
    assert pol.gain() == 1.0
    _law(pol, np.ones(3))  # the correction actually applied is scaled by the gain
    pol.env.long, x = np.full(16, 0.2), pol.env.x.copy()
    pol.run(1)
    np.testing.assert_allclose(pol.env.x - x, pol.step)


def test_stage_options_are_checked():
    from hqml.control import FeedbackCalibrator

    with pytest.raises(ValueError, match="guard positive with coarse"):
        FeedbackCalibrator(TASK, guard=0.1)
    with pytest.raises(ValueError, match="hold_gain must be in"):
        FeedbackCalibrator(TASK, hold_gain=0.0)
