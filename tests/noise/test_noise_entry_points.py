"""noise_model= reaches the simulator from every entry point: QuantumLayer, VQE, QAOA."""

import numpy as np
import torch

import hqml
from hqml.algorithms import QAOA, VQE
from hqml.circuit import Circuit, X, Z
from hqml.nn import QuantumLayer
from hqml.noise import NoiseModel, depolarizing

P = 0.3
SHRINK = 1 - 4 * P / 3  # a depolarising channel scales <Z> by this


def model():
    return NoiseModel().add_channel(depolarizing(P), gates="ry")


def test_quantum_layer_trains_against_the_noisy_value():
    c = Circuit(1)
    x, w = c.input("x", 1), c.weight("w")
    c.ry(x[0] + w, 0)
    layer = QuantumLayer(c, [Z(0)], backend="density_matrix", noise_model=model(), seed=0)
    layer.double()
    xs = torch.tensor([[0.2], [1.1]], dtype=torch.float64)
    out = layer(xs)
    want = SHRINK * torch.cos(xs[:, 0] + layer.w.detach())
    torch.testing.assert_close(out[:, 0], want)
    out.sum().backward()
    torch.testing.assert_close(layer.w.grad, -SHRINK * torch.sin(xs[:, 0] + layer.w.detach()).sum())


def test_vqe_minimises_the_noisy_energy():
    c = Circuit(1)
    c.ry(c.weight("t", 1)[0], 0)
    result = VQE(Z(0) + 0.5 * X(0), c, backend="density_matrix", noise_model=model()).run()
    # the noisy energy is SHRINK * <H>: its minimum is -SHRINK * sqrt(1 + 1/4)
    assert abs(result.energy + SHRINK * np.sqrt(1.25)) < 1e-6


def test_qaoa_expectation_is_noisy():
    h = Z(0) @ Z(1)
    clean = QAOA(h, p=1, backend="density_matrix").expectation([0.4, 0.3]).item()
    noisy = QAOA(
        h,
        p=1,
        backend="density_matrix",
        noise_model=NoiseModel().add_channel(depolarizing(P), gates="rx"),
    )
    assert abs(noisy.expectation([0.4, 0.3]).item() - clean) > 1e-3


def test_kernels_and_estimators_take_noise_models():
    from hqml.kernels import FidelityKernel, ProjectedKernel, VQClassifier

    c = Circuit(2)
    x = c.input("x", 2)
    c.h(0).ry(x[0], 0).ry(x[1], 1).cx(0, 1)
    nm = NoiseModel().add_channel(depolarizing(P), gates="ry")
    X_ = np.array([[0.1, 0.5], [1.2, -0.3], [0.7, 0.9]])
    K = FidelityKernel(c, backend="density_matrix", noise_model=nm)(X_)
    rhos = hqml.state(c, inputs={"x": torch.tensor(X_)}, backend="density_matrix", noise_model=nm)
    want = np.einsum("iab,jba->ij", rhos.numpy(), rhos.numpy()).real  # Tr(rho_i rho_j)
    np.testing.assert_allclose(K, want, atol=1e-12)
    assert np.all(np.diag(K) < 1 - 1e-3)  # mixed states: purity below one
    clean = FidelityKernel(c)(X_)
    assert not np.allclose(K, clean)
    shots = FidelityKernel(c, backend="density_matrix", noise_model=nm, shots=4000, seed=0)(X_)
    assert np.all(np.abs(shots - K) < 5 * np.sqrt(0.25 / 4000) + 1e-12)
    proj = ProjectedKernel(c, backend="density_matrix", noise_model=nm)(X_)
    assert not np.allclose(proj, ProjectedKernel(c)(X_))
    clf = VQClassifier(
        n_layers=1, max_iter=2, backend="density_matrix", noise_model=nm, random_state=0
    ).fit(X_, [0, 1, 0])
    assert clf.predict(X_).shape == (3,)
