"""Channels are CPTP and act as in textbooks; noise models match gates as documented."""

import numpy as np
import pytest

from hqml.noise import (
    Channel,
    NoiseModel,
    ReadoutError,
    amplitude_damping,
    bit_flip,
    depolarizing,
    kraus_from_choi,
    pauli_channel,
    pauli_matrix,
    phase_damping,
    phase_flip,
    thermal_relaxation,
)

CHANNELS = [
    depolarizing(0.0),
    depolarizing(0.1),
    depolarizing(1.0),
    depolarizing(0.07, 2),
    depolarizing(0.2, 3),
    bit_flip(0.3),
    phase_flip(0.25),
    amplitude_damping(0.4),
    amplitude_damping(1.0),
    phase_damping(0.35),
    pauli_channel({"X": 0.1, "Y": 0.05, "Z": 0.2}),
    pauli_channel({"XZ": 0.1, "YY": 0.02, "IZ": 0.3}),
    thermal_relaxation(50.0, 30.0, 5.0),
    thermal_relaxation(40.0, 80.0, 12.0),
    thermal_relaxation(10.0, 10.0, 0.0),
]


def random_density(rng, d):
    a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


@pytest.mark.parametrize("channel", CHANNELS, ids=repr)
def test_every_channel_is_cptp(channel):
    d = channel.dim
    completeness = sum(k.conj().T @ k for k in channel.kraus)
    np.testing.assert_allclose(completeness, np.eye(d), atol=1e-12)
    choi = channel.choi()
    np.testing.assert_allclose(choi, choi.conj().T, atol=1e-12)
    assert np.linalg.eigvalsh(choi).min() > -1e-12
    np.testing.assert_allclose(np.trace(choi), d, atol=1e-12)  # trace preserving
    assert channel.is_cptp()


def test_textbook_actions(rng):
    rho = random_density(rng, 2)
    x, y, z = (pauli_matrix(p) for p in "XYZ")
    p = 0.3
    np.testing.assert_allclose(
        depolarizing(p)(rho), (1 - p) * rho + p / 3 * (x @ rho @ x + y @ rho @ y + z @ rho @ z)
    )
    lam = 0.2  # Qiskit's convention: (1 - lam) rho + lam I/2
    np.testing.assert_allclose(
        depolarizing(lam * 3 / 4)(rho), (1 - lam) * rho + lam * np.eye(2) / 2
    )
    g = 0.4
    out = amplitude_damping(g)(rho)
    np.testing.assert_allclose(out[1, 1], (1 - g) * rho[1, 1])
    np.testing.assert_allclose(out[0, 1], np.sqrt(1 - g) * rho[0, 1])
    lam = 0.35
    np.testing.assert_allclose(phase_damping(lam)(rho)[0, 1], np.sqrt(1 - lam) * rho[0, 1])
    np.testing.assert_allclose(bit_flip(0.1)(rho), 0.9 * rho + 0.1 * x @ rho @ x)
    t1, t2, t = 50.0, 30.0, 7.0
    out = thermal_relaxation(t1, t2, t)(rho)
    np.testing.assert_allclose(out[1, 1], np.exp(-t / t1) * rho[1, 1], atol=1e-12)
    np.testing.assert_allclose(out[0, 1], np.exp(-t / t2) * rho[0, 1], atol=1e-12)
    rho2 = random_density(rng, 4)
    xz = np.kron(x, z)
    np.testing.assert_allclose(
        pauli_channel({"XZ": 0.25})(rho2), 0.75 * rho2 + 0.25 * xz @ rho2 @ xz
    )


def test_pauli_probabilities_and_choi_roundtrip(rng):
    probs = depolarizing(0.12, 2).pauli_probabilities()
    assert (
        probs is not None and abs(probs["II"] - 0.88) < 1e-12 and abs(probs["XY"] - 0.008) < 1e-12
    )
    assert amplitude_damping(0.3).pauli_probabilities() is None
    ch = thermal_relaxation(30.0, 20.0, 4.0)
    assert Channel(kraus_from_choi(ch.choi())) == ch
    composed = depolarizing(0.1).compose(amplitude_damping(0.2))
    rho = random_density(rng, 2)
    np.testing.assert_allclose(
        composed(rho), amplitude_damping(0.2)(depolarizing(0.1)(rho)), atol=1e-12
    )
    assert len(composed.kraus) <= 4 and composed.is_cptp()


@pytest.mark.parametrize(
    "bad,match",
    [
        (lambda: depolarizing(1.2), "probability"),
        (lambda: thermal_relaxation(10, 25, 1), "t2"),
        (lambda: pauli_channel({"X": 0.7, "Z": 0.5}), "sum"),
        (lambda: pauli_channel({"X": 0.1, "ZZ": 0.1}), "equal length"),
        (lambda: Channel([np.eye(2) * 0.5]), "trace preserving"),
        (lambda: ReadoutError([[0.9, 0.2], [0.1, 0.9]]), "rows"),
        (lambda: NoiseModel().add_channel(depolarizing(0.1), gates=["cx"]), "each_wire"),
        (lambda: NoiseModel().add_channel(depolarizing(0.1, 2), wires=[0]), "wire"),
        (lambda: NoiseModel.from_device(t2=3.0), "t1"),
    ],
)
def test_bad_arguments_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_noise_model_matching():
    d1, d2, ad = depolarizing(0.01), depolarizing(0.02, 2), amplitude_damping(0.1)
    special = depolarizing(0.5, 2)
    nm = (
        NoiseModel()
        .add_channel(d1)
        .add_channel(d2)
        .add_channel(ad, gates=["cnot"], each_wire=True)
        .add_channel(special, gates="cx", wires=[1, 2])
    )
    assert nm.channels_for("h", (3,)) == [(d1, (3,))]
    assert nm.channels_for("CX", (0, 1)) == [(d2, (0, 1)), (ad, (0,)), (ad, (1,))]
    assert nm.channels_for("cx", (1, 2)) == [(special, (1, 2))]  # local replaces generic (as Aer)
    assert nm.channels_for("ccx", (0, 1, 2)) == []
    assert nm.channels_for("pauli_frame", (0,)) == []
    nm.add_readout_error(ReadoutError.from_flips(0.1, 0.2)).add_readout_error(
        ReadoutError.from_flips(0.0, 0.5), wires=[2]
    )
    conf = nm.confusions([0, 2])
    np.testing.assert_allclose(conf[0], [[0.9, 0.2], [0.1, 0.8]])
    np.testing.assert_allclose(conf[1], [[1.0, 0.5], [0.0, 0.5]])


def test_from_device_figures():
    nm = NoiseModel.from_device(
        1e-3, 1e-2, t1=50.0, t2=60.0, time_1q=0.05, time_2q=0.3, readout_error=(0.01, 0.03)
    )
    chans = nm.channels_for("rx", (0,))
    assert chans[0][0] == depolarizing(1.5e-3) and chans[1][0] == thermal_relaxation(50, 60, 0.05)
    chans = nm.channels_for("cz", (0, 1))
    assert chans[0] == (depolarizing(1.25e-2, 2), (0, 1))
    assert [w for _, w in chans[1:]] == [(0,), (1,)]
    # average gate infidelity of the 2q depolarizing channel is the figure given
    ch = chans[0][0]
    d = 4
    f_pro = ch.pauli_probabilities()["II"]
    assert abs((1 - (d * f_pro + 1) / (d + 1)) - 1e-2) < 1e-12
    np.testing.assert_allclose(nm.confusions([5])[0], [[0.99, 0.03], [0.01, 0.97]])
