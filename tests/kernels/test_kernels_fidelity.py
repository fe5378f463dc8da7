"""FidelityKernel: Gram matrices against independent statevectors, shots, chunking, errors."""

import numpy as np
import pytest
import torch
from kernels.kernel_refs import gram_dense, zz_circuit, zz_state_dense

import hqml
from hqml.circuit.templates import zz_feature_map
from hqml.kernels import FidelityKernel, check_kernel_matrix, compute_uncompute
from hqml.kernels.simplify import merge_parity_phases


@pytest.fixture
def data(rng):
    return rng.uniform(0, 2 * np.pi, size=(7, 3)), rng.uniform(0, 2 * np.pi, size=(4, 3))


def test_gram_equals_dense_overlaps(data):
    X, Y = data
    sx = np.array([zz_state_dense(x) for x in X])
    sy = np.array([zz_state_dense(y) for y in Y])
    k = FidelityKernel(zz_circuit(3))
    K = k.evaluate(X)
    np.testing.assert_allclose(K, gram_dense(sx, sx), atol=1e-12)
    np.testing.assert_allclose(k(X, Y), gram_dense(sx, sy), atol=1e-12)
    np.testing.assert_allclose(np.diag(K), 1.0, atol=1e-12)
    np.testing.assert_array_equal(K, K.T)
    check = check_kernel_matrix(K, atol=1e-10)
    assert check.valid and check.min_eigenvalue > -1e-10
    np.testing.assert_array_equal(k.diag(X), np.ones(len(X)))


def test_gram_equals_qiskit_statevectors(data):
    pytest.importorskip("qiskit")
    try:
        from qiskit.circuit.library import zz_feature_map as qiskit_zz
    except ImportError:  # Qiskit < 1.3 has the class only
        from qiskit.circuit.library import ZZFeatureMap as qiskit_zz
    from qiskit.quantum_info import Statevector

    X, Y = data
    fm = qiskit_zz(3, reps=2, entanglement="full")

    def states(A):
        return np.array([Statevector(fm.assign_parameters(a)).data for a in A])

    # Qiskit orders amplitudes little-endian; overlaps do not depend on the basis order
    K = FidelityKernel(zz_feature_map).evaluate(X, Y)
    np.testing.assert_allclose(K, gram_dense(states(X), states(Y)), atol=1e-12)


def test_template_matches_independent_construction(data):
    X, _ = data
    K1 = FidelityKernel(zz_circuit(3)).evaluate(X)
    K2 = FidelityKernel(zz_feature_map(3)).evaluate(X)
    np.testing.assert_allclose(K1, K2, atol=1e-12)


def test_blocks_and_single_precision_agree(data, rng):
    X, Y = data
    X = np.concatenate([X, rng.uniform(0, 6, size=(6, 3))])
    full = FidelityKernel(zz_circuit(3)).evaluate(X)
    np.testing.assert_allclose(
        FidelityKernel(zz_circuit(3), batch_size=4).evaluate(X), full, atol=1e-12
    )
    np.testing.assert_allclose(
        FidelityKernel(zz_circuit(3), batch_size=3).evaluate(X, Y),
        FidelityKernel(zz_circuit(3)).evaluate(X, Y),
        atol=1e-12,
    )
    single = FidelityKernel(zz_circuit(3), dtype="complex64").evaluate(X)
    np.testing.assert_allclose(single, full, atol=2e-5)


def test_weighted_feature_map(rng):
    c = hqml.Circuit(2)
    x = c.input("x", 2)
    w = c.weight("w", 2)
    c.ry(w[0] * x[0], 0).ry(x[1] + w[1], 1).cnot(0, 1).rz(x[0], 1)
    X = rng.uniform(-2, 2, size=(5, 2))
    wv = np.array([0.7, -0.3])
    states = np.array(
        [hqml.testing.reference_state(c, inputs={"x": xi}, weights={"w": wv}) for xi in X]
    )
    K = FidelityKernel(c, weights={"w": wv}).evaluate(X)
    np.testing.assert_allclose(K, gram_dense(states, states), atol=1e-12)
    with pytest.raises(ValueError, match="trainable weights"):
        FidelityKernel(c).evaluate(X)


def test_compute_uncompute_circuit_is_the_overlap(data):
    X, Y = data
    cu, xn, yn = compute_uncompute(zz_circuit(3))
    p0 = hqml.probs(cu, inputs={xn: torch.tensor(X[:4]), yn: torch.tensor(Y)})[:, 0]
    K = FidelityKernel(zz_circuit(3)).evaluate(X[:4], Y)
    np.testing.assert_allclose(p0.numpy(), np.diag(K), atol=1e-12)


def test_shot_estimates_converge(data):
    X, Y = data
    exact = FidelityKernel(zz_circuit(3)).evaluate(X, Y)
    errors = []
    for shots in (200, 20000):
        est = FidelityKernel(zz_circuit(3), shots=shots, seed=11).evaluate(X, Y)
        sigma = np.sqrt(np.maximum(exact * (1 - exact), 1e-4) / shots)
        assert np.all(np.abs(est - exact) <= 5 * sigma + 1e-12)
        errors.append(np.sqrt(np.mean((est - exact) ** 2)))
    assert errors[1] < errors[0] / 4  # 100x shots: error shrinks ~10x
    sym = FidelityKernel(zz_circuit(3), shots=500, seed=3).evaluate(X)
    np.testing.assert_array_equal(sym, sym.T)
    np.testing.assert_array_equal(np.diag(sym), 1.0)
    again = FidelityKernel(zz_circuit(3), shots=500, seed=3).evaluate(X)
    np.testing.assert_array_equal(sym, again)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(3), "2-D"),
        (np.full((2, 3), np.nan), "NaN"),
        (np.zeros((2, 4)), "4 feature"),
        (np.zeros((2, 0)), "0 features"),
    ],
)
def test_bad_inputs_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        FidelityKernel(zz_circuit(3)).evaluate(bad)


def test_bad_settings_are_named():
    X = np.zeros((2, 2))
    with pytest.raises(ValueError, match="shots"):
        FidelityKernel(zz_circuit(2), shots=0).evaluate(X)
    with pytest.raises(ValueError, match="dtype"):
        FidelityKernel(zz_circuit(2), dtype="float16").evaluate(X)
    with pytest.raises(TypeError, match="feature_map"):
        FidelityKernel("zz").evaluate(X)
    two = hqml.Circuit(1)
    two.input("a", 1), two.input("b", 1)
    with pytest.raises(ValueError, match="exactly one input"):
        FidelityKernel(two).evaluate(np.zeros((2, 1)))


def test_parity_phase_merge_keeps_states_up_to_global_phase(rng):
    c = zz_circuit(3)
    c.cx(0, 2).rz(0.4, 2).cx(0, 2).cx(1, 2).h(2)  # an RZ run merges, a lone CX stays
    merged = merge_parity_phases(c)
    assert merged.count_ops().get("rzz") == 7 and merged.count_ops()["cx"] == 1
    for x in rng.uniform(0, 2 * np.pi, size=(3, 3)):
        a = hqml.testing.reference_state(c, inputs={"x": x})
        b = hqml.testing.reference_state(merged, inputs={"x": x})
        assert hqml.testing.equal_up_to_phase(a, b, atol=1e-12)
    plain = hqml.Circuit(2).h(0).cx(0, 1)
    assert merge_parity_phases(plain) is plain


def test_streamed_blocks_when_states_exceed_the_memory_budget(data, rng, monkeypatch):
    import hqml.kernels.fidelity as fidelity

    X, Y = data
    X = np.concatenate([X, rng.uniform(0, 6, size=(4, 3))])
    full, cross = FidelityKernel(zz_circuit(3)).evaluate(X), FidelityKernel(zz_circuit(3))(X, Y)
    monkeypatch.setattr(fidelity, "_STATE_BUDGET", 0)  # every evaluation streams
    k = FidelityKernel(zz_circuit(3), batch_size=3)
    streamed = k.evaluate(X)
    np.testing.assert_allclose(streamed, full, atol=1e-12)
    np.testing.assert_array_equal(streamed, streamed.T)
    np.testing.assert_allclose(k(X, Y), cross, atol=1e-12)
