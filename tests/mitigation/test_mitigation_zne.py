"""Zero-noise extrapolation: folding keeps the unitary, fits are exact on their model, and ZNE
cuts the error of <Z...Z> at least threefold on a mirror circuit and a small VQE state."""

import numpy as np
import pytest
import torch

import hqml
from hqml.mitigation import ZNE, actual_scale_factor, extrapolate, fold_gates, fold_global
from hqml.mitigation.reference_circuits import mirror_circuit, vqe_circuit
from hqml.noise import NoiseModel, amplitude_damping, depolarizing
from hqml.testing import equal_up_to_phase, reference_unitary


def test_folding_keeps_the_unitary_and_scales_gate_counts():
    c = vqe_circuit(3, 2)
    d = len(c)
    u = reference_unitary(c)
    for s in (1, 1.5, 2, 3, 3.7, 5):
        g = fold_global(c, s)
        assert equal_up_to_phase(reference_unitary(g), u)
        k, frac = divmod(s - 1, 2)
        assert len(g) == d * (2 * int(k) + 1) + 2 * int(round(frac * d / 2))
        for method in ("from_left", "from_right", "random"):
            f = fold_gates(c, s, method, seed=4)
            assert equal_up_to_phase(reference_unitary(f), u)
            assert abs(actual_scale_factor(c, f) - s) <= 2 / d + 1e-12
    assert [op.gate.name for op in fold_gates(c, 1 + 2 / d, "from_right")][-3:] == [
        "ry",
        "ry",
        "ry",
    ]
    excluded = fold_gates(c, 3, "from_left", exclude=["ry"])
    assert excluded.count_ops() == {"ry": 9, "cx": 12}
    with pytest.raises(ValueError, match=">= 1"):
        fold_global(c, 0.5)
    with pytest.raises(ValueError, match="local folding method"):
        fold_gates(c, 2, "sideways")


def test_folding_keeps_symbols_for_batched_inputs():
    c = hqml.Circuit(2)
    x = c.input("x", 2)
    w = c.weight("w", 2)
    c.ry(x[0], 0).rx(w[0] * 2 + x[1], 1).cnot(0, 1).u(w[1], x[0], 0.3, 1)
    xs, w0 = torch.rand(5, 2), torch.rand(2)
    want = hqml.expval(c, hqml.Z(0) @ hqml.Z(1), inputs={"x": xs}, weights={"w": w0})
    for folded in (fold_global(c, 2.5), fold_gates(c, 3, "random", seed=1)):
        got = hqml.expval(folded, hqml.Z(0) @ hqml.Z(1), inputs={"x": xs}, weights={"w": w0})
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_extrapolations_are_exact_on_their_models():
    x = [1.0, 1.5, 2.0, 3.0]
    xs = np.array(x)
    y = torch.tensor(
        np.stack([0.9 - 0.1 * xs, 0.8 - 0.05 * xs + 0.01 * xs**2, 0.2 + 0.7 * np.exp(-0.3 * xs)], 1)
    )
    assert abs(extrapolate(x, y[:, 0], "linear").value - 0.9) < 1e-12
    assert abs(extrapolate(x, y[:, 1], "polynomial", order=2).value - 0.8) < 1e-12
    assert abs(extrapolate(x[:3], y[:3, 1], "richardson").value - 0.8) < 1e-12
    assert abs(extrapolate(x, y[:, 2], "exponential").value - 0.9) < 1e-6
    exact = extrapolate(x, y[:, 2], "exponential", asymptote=0.2)
    assert abs(exact.value - 0.9) < 1e-12
    batched = extrapolate(x, y, "polynomial", order=2)
    assert batched.value.shape == (3,) and abs(batched.value[1] - 0.8) < 1e-12
    np.testing.assert_allclose(batched.weights.sum(), 1.0)
    with pytest.raises(ValueError, match="order"):
        extrapolate(x, y, "polynomial")
    with pytest.raises(ValueError, match="at least 4"):
        extrapolate(x[:3], y[:3], "polynomial", order=3)


DEPOLARIZING = NoiseModel().add_channel(depolarizing(0.005)).add_channel(depolarizing(0.01, 2))


@pytest.mark.parametrize(
    "name,circuit,obs",
    [
        ("mirror", mirror_circuit(), hqml.Z(0) @ hqml.Z(1) @ hqml.Z(2) @ hqml.Z(3)),
        ("vqe", vqe_circuit(), hqml.Z(0) @ hqml.Z(1)),
    ],
)
@pytest.mark.parametrize(
    "zne",
    [
        ZNE((1, 3, 5), "richardson"),
        ZNE((1, 3, 5), "exponential", asymptote=0.0),
        ZNE((1, 1.5, 2, 2.5, 3), "polynomial", order=2, folding="from_left"),
    ],
    ids=["richardson-global", "exponential-global", "poly2-local"],
)
def test_zne_cuts_the_error_threefold(name, circuit, obs, zne):
    def run(c):
        return hqml.expval(
            c, obs, backend="density_matrix", noise_model=DEPOLARIZING, dtype=torch.complex128
        )

    ideal = float(hqml.expval(circuit, obs, dtype=torch.complex128))
    noisy = float(run(circuit))
    res = zne.run(circuit, run)
    assert res.values.shape == (len(zne.scale_factors),)
    assert float(res.values[0]) == pytest.approx(noisy)
    assert abs(float(res.value) - ideal) * 3 <= abs(noisy - ideal), (name, res.value, ideal, noisy)


def test_zne_backend_is_differentiable_and_matches_the_function_wrapper():
    c = hqml.Circuit(2)
    w = c.weight("w", 2)
    c.ry(w[0], 0).cnot(0, 1).rx(w[1] * 2, 1).cnot(0, 1)
    nm = NoiseModel().add_channel(depolarizing(0.02)).add_channel(depolarizing(0.04, 2))
    obs = [hqml.Z(0) @ hqml.Z(1), hqml.X(1)]
    zne = ZNE((1, 2, 3), "richardson", folding="random", seed=2)
    w_a = torch.tensor([0.3, 0.5], dtype=torch.float64, requires_grad=True)
    a = hqml.expval(
        c, obs, weights={"w": w_a}, backend=zne.backend("density_matrix"), noise_model=nm
    )
    a.sum().backward()
    w_b = w_a.detach().clone().requires_grad_()
    b = zne.wrap(
        lambda circ: hqml.expval(
            circ, obs, weights={"w": w_b}, backend="density_matrix", noise_model=nm
        )
    )(c)
    b.sum().backward()
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(w_a.grad, w_b.grad)
    ideal = hqml.expval(c, obs, weights={"w": w_a.detach()})
    noisy = hqml.expval(
        c, obs, weights={"w": w_a.detach()}, backend="density_matrix", noise_model=nm
    )
    assert ((a.detach() - ideal).abs() <= (noisy - ideal).abs() / 3 + 1e-9).all()
    with pytest.raises(ValueError, match="does not support diff_method 'parameter-shift'"):
        hqml.expval(
            c,
            obs,
            weights={"w": w_a},
            backend=zne.backend("density_matrix"),
            noise_model=nm,
            diff_method="parameter-shift",
        )
    with pytest.raises(ValueError, match="extrapolation"):
        ZNE((1, 3), "cubic")


def test_zne_also_runs_on_trajectories_with_non_pauli_noise():
    c = mirror_circuit(3, 2, seed=5)
    nm = NoiseModel().add_channel(amplitude_damping(0.01)).add_channel(depolarizing(0.01, 2))
    obs = hqml.Z(0) @ hqml.Z(1) @ hqml.Z(2)
    exact = ZNE((1, 3, 5)).run(
        c,
        lambda k: hqml.expval(
            k, obs, backend="density_matrix", noise_model=nm, dtype=torch.complex128
        ),
    )
    be = hqml.get_backend("statevector", trajectories=400)
    traj = ZNE((1, 3, 5)).run(
        c, lambda k: hqml.expval(k, obs, backend=be, noise_model=nm, seed=0, dtype=torch.complex128)
    )
    assert (traj.values - exact.values).abs().max() < 0.08
