"""Every exact gradient method agrees with the others and with central differences (complex128)."""

import numpy as np
import pytest
import torch
from helpers import random_circuit

import hqml
from hqml.circuit.observables import PauliSum

METHODS = ["backprop", "adjoint", "parameter-shift", "finite-diff"]


def _obs(rng, n):
    return [
        PauliSum.from_list(
            [("".join(rng.choice(list("IXYZ"), n)), float(rng.normal())) for _ in range(3)]
        ),
        hqml.Z(0),
    ]


def _grads(c, obs, x, w, method, **kw):
    x = x.clone().requires_grad_(True)
    w = w.clone().requires_grad_(True)
    out = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, diff_method=method, **kw)
    g_out = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
    (out * g_out).sum().backward()
    return out.detach(), x.grad, w.grad


def _numeric(c, obs, x, w):
    def f(xv, wv):
        out = hqml.expval(c, obs, inputs={"x": xv}, weights={"w": wv})
        g_out = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
        return float((out * g_out).sum())

    h = 1e-6
    gx, gw = torch.zeros_like(x), torch.zeros_like(w)
    for t, g in ((x, gx), (w, gw)):
        flat, gflat = t.view(-1), g.view(-1)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + h
            fp = f(x, w)
            flat[i] = old - h
            fm = f(x, w)
            flat[i] = old
            gflat[i] = (fp - fm) / (2 * h)
    return gx, gw


@pytest.mark.parametrize("seed", range(12))
def test_exact_methods_agree_with_central_differences(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 6))
    c = random_circuit(rng, n, int(rng.integers(3, 16)))
    x = torch.tensor(rng.uniform(-2, 2, (2, 3)), dtype=torch.float64)
    w = torch.tensor(rng.uniform(-2, 2, 4), dtype=torch.float64)
    obs = _obs(rng, n)
    gx_ref, gw_ref = _numeric(c, obs, x, w)
    for method in METHODS:
        out, gx, gw = _grads(c, obs, x, w, method)
        tol = 1e-5 if method == "finite-diff" else 1e-7
        np.testing.assert_allclose(gx.numpy(), gx_ref.numpy(), atol=tol, err_msg=method)
        np.testing.assert_allclose(gw.numpy(), gw_ref.numpy(), atol=tol, err_msg=method)


def test_probs_gradients_agree():
    rng = np.random.default_rng(5)
    c = random_circuit(rng, 3, 12)
    x = torch.tensor(rng.uniform(-2, 2, (2, 3)), dtype=torch.float64)
    results = []
    for method in ["backprop", "adjoint", "parameter-shift"]:
        w = torch.tensor(rng.uniform(-2, 2, 4), dtype=torch.float64) * 0 + 0.4
        w.requires_grad_(True)
        p = hqml.probs(c, wires=[2, 0], inputs={"x": x}, weights={"w": w}, diff_method=method)
        (p * torch.arange(4.0, dtype=p.dtype)).sum().backward()
        results.append(w.grad.numpy())
    np.testing.assert_allclose(results[1], results[0], atol=1e-10)
    np.testing.assert_allclose(results[2], results[0], atol=1e-10)


def test_parameter_shift_with_shots_within_statistical_error():
    c = hqml.Circuit(2)
    w = c.weight("w", 2)
    c.ry(w[0], 0).cx(0, 1).rx(w[1], 1)
    w0 = torch.tensor([0.7, -0.4], dtype=torch.float64)
    exact = torch.autograd.functional.jacobian(
        lambda v: hqml.expval(c, hqml.Z(1), weights={"w": v}), w0
    )
    v = w0.clone().requires_grad_(True)
    shots = 20000
    hqml.expval(
        c, hqml.Z(1), weights={"w": v}, shots=shots, seed=3, diff_method="parameter-shift"
    ).backward()
    # each shifted value has variance <= 1/shots; a two-term rule combines two of them with 1/2
    sigma = np.sqrt(2 * 0.25 / shots)
    assert np.all(np.abs(v.grad.numpy() - exact.numpy()) < 5 * sigma)


def test_spsa_is_unbiased_on_average():
    c = hqml.Circuit(2)
    w = c.weight("w", 3)
    c.ry(w[0], 0).cx(0, 1).rx(w[1], 1).rz(w[2], 1).ry(w[2], 0)
    w0 = torch.tensor([0.7, -0.4, 0.3], dtype=torch.float64)
    exact = torch.autograd.functional.jacobian(
        lambda v: hqml.expval(c, hqml.Z(1) + hqml.X(0), weights={"w": v}), w0
    )
    v = w0.clone().requires_grad_(True)
    hqml.expval(
        c,
        hqml.Z(1) + hqml.X(0),
        weights={"w": v},
        diff_method="spsa",
        seed=0,
        diff_options={"num_directions": 4000, "h": 1e-3},
    ).backward()
    np.testing.assert_allclose(v.grad.numpy(), exact.numpy(), atol=0.05)


def test_best_picks_exact_method_and_matches():
    c = hqml.Circuit(1)
    w = c.weight("w")
    c.rx(w, 0)
    v = torch.tensor(0.3, requires_grad=True)
    hqml.expval(c, hqml.Z(0), weights={"w": v}).backward()
    assert abs(v.grad.item() + np.sin(0.3)) < 1e-6


def test_adjoint_is_never_used_through_noise():
    from hqml.noise import NoiseModel, depolarizing

    c = hqml.Circuit(1)
    w = c.weight("w")
    c.rx(w, 0)
    model = NoiseModel().add_channel(depolarizing(0.2), gates="rx")
    v = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="noise_model"):
        hqml.expval(c, hqml.Z(0), weights={"w": v}, diff_method="adjoint", noise_model=model)
    # "best" on the density-matrix backend differentiates the noisy value: (1 - 4p/3) cos(w)
    out = hqml.expval(c, hqml.Z(0), weights={"w": v}, backend="density_matrix", noise_model=model)
    out.backward()
    shrink = 1 - 4 * 0.2 / 3
    assert abs(out.item() - shrink * np.cos(0.7)) < 1e-10
    assert abs(v.grad.item() + shrink * np.sin(0.7)) < 1e-10
