"""The run config's [noise] table: per-qubit error rates and user Kraus channels, against a
dense density-matrix calculation written here, and the one-line errors of what is not a
channel or does not fit the circuit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hqml
from hqml.experiment import parse_config
from hqml.experiment.config import ConfigError
from hqml.experiment.models import noise_model_of
from hqml.experiment.scale.point import _init_variance

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0 + 0j, -1.0])
PAULIS = [I2, X, Y, Z]


def ry(t):
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def rx(t):
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -1j * s], [-1j * s, c]])


CX = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=complex)


def on(op, q):  # a one-qubit operator on qubit q of two (qubit 0 the left factor)
    return np.kron(op, I2) if q == 0 else np.kron(I2, op)


def kraus_map(rho, ks):
    return sum(k @ rho @ k.conj().T for k in ks)


def depol1(p, q):
    return [math.sqrt(1 - p) * np.eye(4)] + [math.sqrt(p / 3) * on(P, q) for P in PAULIS[1:]]


def depol2(p):
    pairs = [np.kron(a, b) for a in PAULIS for b in PAULIS][1:]
    return [math.sqrt(1 - p) * np.eye(4)] + [math.sqrt(p / 15) * P for P in pairs]


def relax(t1, t2, time, q):
    g = 1 - math.exp(-time / t1)
    lam = 1 - math.exp(-2 * time / t2) / (1 - g)
    ad = [np.array([[1, 0], [0, math.sqrt(1 - g)]]), np.array([[0, math.sqrt(g)], [0, 0]])]
    pd = [np.array([[1, 0], [0, math.sqrt(1 - lam)]]), np.array([[0, 0], [0, math.sqrt(lam)]])]
    return [on(b @ a, q) for a in ad for b in pd]


G, PHI, QZZ = 0.3, 0.9, 0.15
USER_1Q = [
    np.array([[1, 0], [0, math.sqrt(1 - G) * np.exp(1j * PHI)]]),
    np.array([[0, math.sqrt(G)], [0, 0]], dtype=complex),
]
USER_ZZ = [math.sqrt(1 - QZZ) * np.eye(4), math.sqrt(QZZ) * np.kron(Z, Z)]

NOISE = {
    "depolarizing_per_qubit": [0.1, 0.25],
    "two_qubit_depolarizing": 0.08,
    "t1": 10.0,
    "t2": 6.0,
    "gate_time_1q": 0.5,
    "gate_time_2q": 1.0,
    "readout_flip_per_qubit": [0.02, 0.1],
    "readout_flip_1to0_per_qubit": [0.05, 0.0],
    "channels": [
        {
            "name": "damping_with_phase",
            "kraus": [k.real.tolist() for k in USER_1Q],
            "kraus_imag": [k.imag.tolist() for k in USER_1Q],
            "gates": ["ry"],
            "qubits": [1],
        },
        {"name": "zz_dephasing", "kraus": [k.real.tolist() for k in USER_ZZ], "gates": ["cx"]},
    ],
}


def _cfg(noise, n_qubits=2):
    return parse_config(
        {"model": {"n_qubits": n_qubits, "backend": "density_matrix"}, "noise": noise}
    )


def _reference():
    """The circuit below, each gate followed by the config's channels, in dense algebra."""
    rho = np.zeros((4, 4), dtype=complex)
    rho[0, 0] = 1
    p1 = NOISE["depolarizing_per_qubit"]

    def gate1(u, q, name):
        nonlocal rho
        u = on(u, q)
        rho = u @ rho @ u.conj().T
        rho = kraus_map(rho, depol1(p1[q], q))
        rho = kraus_map(rho, relax(10.0, 6.0, 0.5, q))  # kept on a per-qubit gate
        if name == "ry" and q == 1:
            rho = kraus_map(rho, [on(k, 1) for k in USER_1Q])

    gate1(ry(0.7), 0, "ry")
    gate1(ry(1.1), 1, "ry")
    rho = CX @ rho @ CX.conj().T
    rho = kraus_map(rho, depol2(0.08))
    rho = kraus_map(rho, relax(10.0, 6.0, 1.0, 0))
    rho = kraus_map(rho, relax(10.0, 6.0, 1.0, 1))
    rho = kraus_map(rho, USER_ZZ)
    gate1(rx(0.4), 1, "rx")
    gate1(ry(0.3), 0, "ry")
    probs = np.diag(rho).real  # |q0 q1>
    confusion = [
        np.array([[1 - p01, p10], [p01, 1 - p10]])  # A[read, true]
        for p01, p10 in zip(NOISE["readout_flip_per_qubit"], [0.05, 0.0], strict=True)
    ]
    read = np.kron(confusion[0], confusion[1]) @ probs
    z0, z1 = np.array([1, 1, -1, -1]), np.array([1, -1, 1, -1])
    return [read @ z0, read @ z1, read @ (z0 * z1)]


def test_per_qubit_rates_and_user_channels_match_dense_algebra():
    nm = noise_model_of(_cfg(NOISE).noise)
    c = hqml.Circuit(2).ry(0.7, 0).ry(1.1, 1).cx(0, 1).rx(0.4, 1).ry(0.3, 0)
    obs = [hqml.Z(0), hqml.Z(1), hqml.Z(0) @ hqml.Z(1)]
    got = hqml.expval(c, obs, backend="density_matrix", noise_model=nm, dtype=torch.complex128)
    np.testing.assert_allclose(np.asarray(got, dtype=float), _reference(), atol=1e-10)
    # and the noise changed the values: an ideal run differs clearly
    ideal = np.asarray(hqml.expval(c, obs, backend="density_matrix"), dtype=float)
    assert np.abs(ideal - _reference()).max() > 0.05


@pytest.mark.parametrize(
    "noise,needle",
    [
        ({"channels": [{"kraus": [[[1, 0], [0, 0.9]]]}]}, "not trace preserving: sum K"),
        ({"channels": [{"kraus": [[[1, 0, 0], [0, 1, 0], [0, 0, 1]]]}]}, "2x2 \\(one qubit\\)"),
        ({"channels": [{"kraus": [[[1, 0], [0]]]}]}, "rows of equal length"),
        (
            {"channels": [{"kraus": [[[1, 0], [0, 1]]], "kraus_imag": [[[0, 0]]]}]},
            "kraus_imag must have the shape",
        ),
        ({"channels": [{"kraus": [[[1, 0], [0, 1]]], "gates": ["cx"]}]}, "'cx' is a 2-qubit"),
        ({"channels": [{"kraus": [[[1, 0], [0, 1]]], "gates": ["nope"]}]}, "an unknown gate"),
        ({"channels": [{"kraus": [[[1, 0], [0, 1]]], "qubits": [0, 1]}]}, "needs 1 distinct"),
        ({"channels": [{"kraus": [[[1, 0], [0, 1]]], "qubits": [2]}]}, "circuit has 2 qubits"),
        ({"depolarizing_per_qubit": [0.1], "two_qubit_depolarizing": 0}, "has 1 values for"),
        ({"depolarizing_per_qubit": [0.1, 0.2]}, "set noise.two_qubit_depolarizing too"),
        (
            {"depolarizing": 0.1, "depolarizing_per_qubit": [0.1, 0.2]},
            "noise.depolarizing or noise.depolarizing_per_qubit, not both",
        ),
        ({"readout_flip_1to0_per_qubit": [0.1, 0.2]}, "goes with readout_flip_per_qubit"),
        ({"readout_flip_per_qubit": [0.1, 0.7]}, "less than or equal to 0.5"),
    ],
)
def test_what_is_not_a_channel_or_does_not_fit_is_a_one_line_error(noise, needle):
    with pytest.raises(ConfigError, match=needle) as e:
        _cfg(noise)
    assert "\n" not in str(e.value)


def test_a_user_channel_is_gate_noise_and_its_channel_is_cptp():
    cfg = _cfg({"channels": NOISE["channels"]})
    assert cfg.noise.gate_noise and not cfg.noise.readout
    chans = [c.channel() for c in cfg.noise.channels]
    assert all(ch.is_cptp() for ch in chans)
    assert _cfg({"readout_flip_per_qubit": [0.0, 0.1]}).noise.readout
    assert not _cfg({"readout_flip_per_qubit": [0.0, 0.0]}).noise.active


@pytest.mark.parametrize("p,r", [(0.3, 0.0), (0.15, 0.1)])
def test_a_points_circuit_variance_at_init_has_the_configs_noise(p, r):
    # RY(w) then depolarizing p, read with flips r: <Z> = (1 - 4p/3)(1 - 2r) cos w, so every
    # sampled gradient of the local cost shrinks by that factor and the variance by its square
    c = hqml.Circuit(1)
    c.ry(c.weight("w", 1)[0], 0)
    ideal = _init_variance(c, 32, seed=3)
    noisy = _init_variance(
        c, 32, seed=3, noise=_cfg({"depolarizing": p, "readout_flip": r}, 1).noise
    )
    assert ideal["noise"].startswith("none") and "[noise]" in noisy["noise"]
    factor = ((1 - 4 * p / 3) * (1 - 2 * r)) ** 2
    assert noisy["mean"] == pytest.approx(factor * ideal["mean"], rel=1e-4)
