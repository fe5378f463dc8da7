"""The transmon pulse model against independent references: a dense ODE solve, the two-level
area theorem, and the fidelity as an average over a state 2-design."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from hqml.control.transmon import (
    IDEAL,
    SEQUENCES,
    Pulse,
    Transmon,
    average_gate_fidelity,
    gate_fidelity,
    measure,
    pulse_unitary,
    sequence_probabilities,
)


def _ode_propagator(pulse, dev):
    """Solve i dU/dt = H(t) U with the continuous pulse shape, written out from the docstring."""
    a = np.diag([1.0, np.sqrt(2.0)], k=1)
    n = np.diag([0.0, 1.0, 2.0])
    T, s = pulse.duration, pulse.duration / 4
    gauss = lambda t: np.exp(-((t - T / 2) ** 2) / (2 * s * s))  # noqa: E731
    area = np.trapezoid(gauss(np.linspace(0, T, 20001)) - gauss(0.0), np.linspace(0, T, 20001))
    amp = pulse.amplitude * dev.drive_scale * np.pi / area

    def h(t):
        ox = amp * (gauss(t) - gauss(0.0))
        oy = -pulse.drag * amp * (-(t - T / 2) / s**2 * gauss(t)) / dev.alpha
        return (
            (dev.offset - pulse.detuning) * n
            + dev.alpha / 2 * n @ (n - np.eye(3))
            + ox * (a + a.T) / 2
            + oy * 1j * (a.T - a) / 2
        )

    def rhs(t, y):
        return (-1j * h(t) @ y.reshape(3, 3)).ravel()

    sol = solve_ivp(rhs, (0, T), np.eye(3, dtype=complex).ravel(), rtol=1e-10, atol=1e-12)
    return sol.y[:, -1].reshape(3, 3)


@pytest.mark.parametrize("pulse", [Pulse(), Pulse(1.1, 0.02, 0.7, 16.0), Pulse(0.8, -0.03, -0.4)])
def test_propagator_matches_an_ode_solve(pulse):
    dev = Transmon(offset=0.01)
    u = pulse_unitary(pulse, dev, steps=400)
    np.testing.assert_allclose(u.conj().T @ u, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(u, _ode_propagator(pulse, dev), atol=2e-4)


def test_two_level_limit_is_an_exact_pi_pulse():
    # far from the leakage level and on resonance, a pulse of area pi is X up to a phase
    dev = Transmon(alpha=-2 * np.pi * 1e4)
    assert gate_fidelity(Pulse(), dev) == pytest.approx(1.0, abs=1e-7)
    for amp in (0.5, 0.9):  # Rx(amp * pi) against X: F = (2 + 4 sin^2(amp * pi / 2)) / 6
        want = (2 + 4 * np.sin(amp * np.pi / 2) ** 2) / 6
        assert gate_fidelity(Pulse(amplitude=amp), dev) == pytest.approx(want, abs=1e-6)
    np.testing.assert_allclose(sequence_probabilities(Pulse(), dev), IDEAL, atol=1e-7)


def test_fidelity_is_the_average_over_a_state_two_design():
    rng = np.random.default_rng(0)
    dev = Transmon()
    u = pulse_unitary(Pulse(1.05, 0.01, 0.3), dev)
    x = np.array([[0, 1], [1, 0]], dtype=complex)
    m = x.conj().T @ u[:2, :2]  # leakage makes m non-unitary
    states = [
        np.array(v, dtype=complex) / np.linalg.norm(v)
        for v in ([1, 0], [0, 1], [1, 1], [1, -1], [1, 1j], [1, -1j])
    ]  # the six Pauli states
    avg = np.mean([abs(np.vdot(s, m @ s)) ** 2 for s in states])
    assert average_gate_fidelity(u) == pytest.approx(avg, abs=1e-12)
    assert average_gate_fidelity(np.exp(1j * rng.uniform()) * u) == pytest.approx(avg, abs=1e-12)
    assert avg < 1 - 1e-4


def test_measurement_is_binomial_with_readout_error():
    dev = Transmon(readout_01=0.02, readout_10=0.05)
    p = sequence_probabilities(Pulse(), dev)
    want = p * 0.95 + (1 - p) * 0.02
    got = np.mean([measure(Pulse(), dev, 2000, np.random.default_rng(k)) for k in range(50)], 0)
    assert np.all(np.abs(got - want) < 5 * np.sqrt(want * (1 - want) / 1e5) + 1e-9)
    assert len(got) == len(SEQUENCES)
