"""The density-matrix backend keeps each noise model's superoperators between calls, and never
uses them once the model's rules change."""

import numpy as np
import torch

import hqml
from hqml.backends import density_matrix
from hqml.noise import NoiseModel, amplitude_damping, bit_flip, depolarizing


def _dense_z0(c, nm_channels, x):
    """<Z_0> after RY(x) on wire 0, a CNOT(0, 1) and the given one-wire channels after each gate
    on each of its wires, by plain density-matrix algebra."""
    ry = np.array([[np.cos(x / 2), -np.sin(x / 2)], [np.sin(x / 2), np.cos(x / 2)]])
    cx = np.eye(4)[[0, 1, 3, 2]]
    rho = np.zeros((4, 4), dtype=complex)
    rho[0, 0] = 1

    def channel(rho, kraus, wire):
        ks = [np.kron(k, np.eye(2)) if wire == 0 else np.kron(np.eye(2), k) for k in kraus]
        return sum(k @ rho @ k.conj().T for k in ks)

    for u, wires in ((np.kron(ry, np.eye(2)), (0,)), (cx, (0, 1))):
        rho = u @ rho @ u.conj().T
        for ch in nm_channels:
            for w in wires:
                rho = channel(rho, ch.kraus, w)
    return np.trace(np.kron(np.diag([1, -1]), np.eye(2)) @ rho).real


def test_superoperators_are_kept_per_model_until_its_rules_change():
    c = hqml.Circuit(2)
    x = c.input("x", 1)
    c.ry(x[0], 0).cnot(0, 1)
    chans = [depolarizing(0.1), amplitude_damping(0.3)]
    nm = NoiseModel()
    for ch in chans:
        nm.add_channel(ch, each_wire=True)
    xs = torch.tensor([[0.7], [2.1]], dtype=torch.float64)
    first = hqml.expval(c, [hqml.Z(0)], inputs={"x": xs}, backend="density_matrix", noise_model=nm)
    entry = density_matrix._model_cache(nm, torch.complex128, torch.device("cpu"))
    kept = dict(entry["noise"])
    assert kept  # the gate kinds' noise superoperators are kept
    again = hqml.expval(c, [hqml.Z(0)], inputs={"x": xs}, backend="density_matrix", noise_model=nm)
    assert all(entry["noise"][k] is v for k, v in kept.items())  # reused, not rebuilt
    torch.testing.assert_close(first, again, atol=0, rtol=0)
    want = [_dense_z0(c, chans, float(v)) for v in xs[:, 0]]
    np.testing.assert_allclose(first[:, 0].numpy(), want, atol=1e-12)
    flip = bit_flip(0.2)
    nm.add_channel(flip, each_wire=True)  # new rules: new superoperators
    changed = hqml.expval(c, [hqml.Z(0)], inputs={"x": xs}, backend="density_matrix",
                          noise_model=nm)  # fmt: skip
    want = [_dense_z0(c, chans + [flip], float(v)) for v in xs[:, 0]]
    np.testing.assert_allclose(changed[:, 0].numpy(), want, atol=1e-12)
    assert (changed - first).abs().max() > 1e-3
