"""Noise on the MPS backend by trajectories: the same seeded draws as the statevector's
trajectories (so values and gradients equal them), means within 4 standard errors of the
density matrix, deterministic given the seed, readout errors and refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
from hqml.backends import get_backend
from hqml.noise import (
    Channel,
    NoiseModel,
    ReadoutError,
    amplitude_damping,
    depolarizing,
    phase_damping,
)


def _circuit():
    c = hqml.Circuit(5)
    x, w = c.input("x", 2), c.weight("w", 5)
    for i in range(5):
        c.ry(w[i], i)
    c.rx(x[0], 1).cnot(0, 1).cnot(1, 3).cz(0, 4).h(2).crx(x[1], 4, 2).swap(0, 3)
    return c


def _model():
    nm = NoiseModel().add_channel(amplitude_damping(0.2))
    nm.add_channel(depolarizing(0.1, 2), gates=["cnot", "cz"])
    return nm.add_channel(phase_damping(0.3), gates=["h"])


OBS = [hqml.Z(0), hqml.Z(1) @ hqml.Z(2), hqml.X(2), hqml.Z(3) @ hqml.Y(4)]
X = [[0.3, -0.4], [1.2, 2.0]]
W = [0.3, 1.1, -0.7, 2.0, 0.5]


def test_trajectories_equal_the_statevector_trajectories_with_the_same_seed():
    """Both backends draw the same uniform numbers in the same order for the same rows, so
    each trajectory takes the same branches: values and gradients agree to rounding."""
    out = {}
    for name in ("statevector", "mps"):
        be = get_backend(name, trajectories=40)
        wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
        xt = torch.tensor(X, dtype=torch.float64)
        v = hqml.expval(_circuit(), OBS, inputs={"x": xt}, weights={"w": wt}, backend=be,
                        noise_model=_model(), seed=3)  # fmt: skip
        (v * torch.tensor([1.0, -2.0, 0.5, 1.5], dtype=v.dtype)).sum().backward()
        out[name] = (v.detach(), wt.grad)
    torch.testing.assert_close(out["mps"][0], out["statevector"][0], atol=1e-12, rtol=0)
    torch.testing.assert_close(out["mps"][1], out["statevector"][1], atol=1e-12, rtol=0)


def test_means_within_four_standard_errors_of_the_density_matrix_and_seeded():
    t = 3000
    kw = dict(inputs={"x": torch.tensor(X)}, weights={"w": torch.tensor(W)}, noise_model=_model())
    exact = hqml.expval(_circuit(), OBS, backend="density_matrix", dtype=torch.complex128, **kw)
    be = get_backend("mps", trajectories=t, max_bond=8)
    v = hqml.expval(_circuit(), OBS, backend=be, seed=11, **kw)
    se = torch.sqrt((1 - exact**2).clamp(min=1e-4) / t)
    assert ((v.double() - exact).abs() <= 4 * se).all(), (v, exact)
    assert torch.equal(v, hqml.expval(_circuit(), OBS, backend=be, seed=11, **kw))
    assert not torch.equal(v, hqml.expval(_circuit(), OBS, backend=be, seed=12, **kw))
    seeded = get_backend("mps", trajectories=50, seed=4)  # the backend's own seed
    a = hqml.expval(_circuit(), OBS, backend=seeded, **kw)
    assert torch.equal(a, hqml.expval(_circuit(), OBS, backend=seeded, **kw))


def test_probs_with_readout_errors_and_samples_within_four_standard_errors():
    t, shots = 3000, 4000
    nm = _model().add_readout_error(ReadoutError([[0.95, 0.05], [0.1, 0.9]]), wires=[1])
    kw = dict(inputs={"x": torch.tensor(X)}, weights={"w": torch.tensor(W)}, noise_model=nm)
    wires = [1, 3]
    exact = hqml.probs(_circuit(), wires, backend="density_matrix", dtype=torch.complex128, **kw)
    be = get_backend("mps", trajectories=t)
    p = hqml.probs(_circuit(), wires, backend=be, seed=2, **kw).double()
    se = torch.sqrt(exact * (1 - exact) / t) + 1e-9
    assert ((p - exact).abs() <= 4 * se).all()
    bits = hqml.sample(_circuit(), shots, wires, backend=be, seed=2, **kw)
    freq = torch.nn.functional.one_hot(bits[..., 0] * 2 + bits[..., 1], 4).double().mean(1)
    se = torch.sqrt(exact * (1 - exact) * (1 / t + 1 / shots)) + 1e-9
    assert ((freq - exact).abs() <= 4 * se).all()
    z = hqml.expval(_circuit(), hqml.Z(1), backend=be, seed=2, **kw).double()  # via readout
    assert ((z - (exact[:, 0] + exact[:, 1] - exact[:, 2] - exact[:, 3])).abs() < 0.1).all()


def test_refusals():
    c = hqml.Circuit(2).h(0).cnot(0, 1)
    amp2 = (
        np.kron(amplitude_damping(0.3).kraus[0], np.eye(2)),
        np.kron(amplitude_damping(0.3).kraus[1], np.eye(2)),
    )
    nm = NoiseModel().add_channel(Channel(list(amp2), "amp2"), gates=["cnot"])
    with pytest.raises(ValueError, match="not a mixture of unitaries"):
        hqml.expval(c, hqml.Z(0), backend="mps", noise_model=nm, seed=1)
    with pytest.raises(ValueError, match="density_matrix"):
        hqml.state(c, backend="mps", noise_model=_model())
    with pytest.raises(ValueError, match="trajectories must be an integer >= 1"):
        get_backend("mps", trajectories=0)
