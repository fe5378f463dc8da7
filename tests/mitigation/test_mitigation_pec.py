"""PEC: exact representations, unbiased estimates, a threefold cut of the error."""

import numpy as np
import pytest
import torch

import hqml
from hqml.mitigation import PEC, represent
from hqml.mitigation.pec import PAULI_FRAME, gate_noise
from hqml.mitigation.reference_circuits import mirror_circuit, vqe_circuit
from hqml.noise import NoiseModel, amplitude_damping, depolarizing, pauli_channel, pauli_matrix

NOISE = NoiseModel().add_channel(depolarizing(0.005)).add_channel(depolarizing(0.01, 2))


def test_quasi_probabilities_invert_the_noise():
    nm = (
        NoiseModel()
        .add_channel(depolarizing(0.03))
        .add_channel(depolarizing(0.05, 2))
        .add_channel(pauli_channel({"X": 0.02, "Z": 0.05}), gates=["cx"], each_wire=True)
    )
    c = hqml.Circuit(2).h(0).cx(0, 1)
    reps = represent(c, nm)
    assert [r.wires for r in reps] == [(0,), (0, 1)]
    for r in reps:
        noise = gate_noise(nm, c.ops[r.index]).superoperator()
        inverse = sum(
            q * np.kron(pauli_matrix(lb), pauli_matrix(lb).conj())
            for lb, q in zip(r.labels, r.quasi, strict=True)
        )
        np.testing.assert_allclose(inverse @ noise, np.eye(len(noise)), atol=1e-12)
        assert abs(r.quasi.sum() - 1) < 1e-12 and r.gamma == pytest.approx(np.abs(r.quasi).sum())
    # one-qubit depolarizing with Pauli error p: fidelity f = 1 - 4p/3, gamma = (3/f - 1)/2
    f = 1 - 4 * 0.03 / 3
    assert reps[0].gamma == pytest.approx((3 / f - 1) / 2, abs=1e-12)


def test_pauli_frames_are_exact_paulis_and_noiseless():
    angles = {"X": (np.pi, 0, np.pi), "Y": (np.pi, np.pi / 2, np.pi / 2), "Z": (0, 0, np.pi)}
    for p, a in angles.items():
        m = PAULI_FRAME.matrix(torch.tensor(a, dtype=torch.float64)).numpy()
        assert hqml.testing.equal_up_to_phase(m, pauli_matrix(p))
    assert NOISE.channels_for("pauli_frame", (0,)) == []


@pytest.mark.parametrize(
    "name,circuit,obs,samples",
    [
        ("mirror", mirror_circuit(), hqml.Z(0) @ hqml.Z(1) @ hqml.Z(2) @ hqml.Z(3), 2000),
        ("vqe", vqe_circuit(), hqml.Z(0) @ hqml.Z(1), 2000),
    ],
)
def test_pec_cuts_the_error_threefold(name, circuit, obs, samples):
    ideal = float(hqml.expval(circuit, obs, dtype=torch.complex128))
    noisy = float(
        hqml.expval(
            circuit, obs, backend="density_matrix", noise_model=NOISE, dtype=torch.complex128
        )
    )
    res = PEC(NOISE, num_samples=samples, seed=0).expval(circuit, obs, dtype=torch.complex128)
    assert 1 < res.gamma < 2
    assert abs(float(res.value) - ideal) <= 4 * float(res.std_error)  # unbiased within its error
    assert abs(float(res.value) - ideal) * 3 <= abs(noisy - ideal), (name, res, ideal, noisy)


def test_pec_backend_batches_and_differentiates():
    c = hqml.Circuit(2)
    x = c.input("x")
    w = c.weight("w", 2)
    c.ry(x, 0).cnot(0, 1).rx(w[0], 1).cnot(1, 0).ry(w[1] + x, 0)
    nm = NoiseModel().add_channel(depolarizing(0.02)).add_channel(depolarizing(0.04, 2))
    pec = PEC(nm, num_samples=300, seed=3)
    xs = torch.tensor([0.1, 0.7, -0.4], dtype=torch.float64)
    w0 = torch.tensor([0.4, -0.2], dtype=torch.float64, requires_grad=True)
    obs = [hqml.Z(0) @ hqml.Z(1), hqml.Z(0)]
    got = hqml.expval(
        c,
        obs,
        inputs={"x": xs},
        weights={"w": w0},
        backend=pec.backend("density_matrix"),
        noise_model=nm,
    )
    ref = pec.expval(c, obs, inputs={"x": xs}, weights={"w": w0.detach()})
    torch.testing.assert_close(got.detach(), ref.value)
    assert got.shape == (3, 2)
    got.sum().backward()
    assert w0.grad is not None and w0.grad.abs().sum() > 0
    ideal = hqml.expval(c, obs, inputs={"x": xs}, weights={"w": w0.detach()})
    assert ((got.detach() - ideal).abs() <= 4 * ref.std_error + 1e-9).all()


def test_pec_refuses_non_pauli_noise():
    nm = NoiseModel().add_channel(amplitude_damping(0.1))
    with pytest.raises(ValueError, match="not a Pauli channel"):
        PEC(nm).expval(hqml.Circuit(1).h(0), hqml.Z(0))
