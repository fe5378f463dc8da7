import numpy as np
import pytest
import torch
from helpers import random_circuit

import hqml
from hqml.testing import reference_state, reference_unitary


def test_design_example_runs_with_the_documented_shapes():
    c = hqml.Circuit(4)
    x = c.input("x", 4)
    w = c.weight("w", (2, 4))
    for i in range(4):
        c.ry(x[i], i)
    for layer in range(2):
        for i in range(4):
            c.rz(w[layer, i] * 0.5 + x[i], i)
        for i in range(4):
            c.cnot(i, (i + 1) % 4)
    H = 0.5 * hqml.Z(0) @ hqml.Z(1) + hqml.X(2)
    vals = hqml.expval(
        c,
        [H, hqml.Z(3)],
        inputs={"x": torch.rand(64, 4)},
        weights={"w": torch.zeros(2, 4, requires_grad=True)},
        backend="statevector",
        diff_method="adjoint",
    )
    assert vals.shape == (64, 2) and vals.dtype == torch.float32
    w0 = np.zeros((2, 4))
    cb = c.bind(inputs={"x": [0.1, 0.2, 0.3, 0.4]}, weights={"w": w0})
    assert cb.is_bound and not cb.inputs and not cb.weights
    psi = hqml.state(cb, dtype=torch.complex128)
    assert psi.shape == (16,) and psi.dtype == torch.complex128
    np.testing.assert_allclose(
        psi.numpy(), reference_state(c, {"x": [0.1, 0.2, 0.3, 0.4]}, {"w": w0}), atol=1e-12
    )
    assert hqml.probs(cb, wires=[0, 1]).shape == (4,)
    s = hqml.sample(cb, shots=1000, seed=7)
    assert s.shape == (1000, 4) and set(s.unique().tolist()) <= {0, 1}
    assert torch.equal(s, hqml.sample(cb, shots=1000, seed=7))


def test_inverse_compose_and_bind(rng):
    c = random_circuit(rng, 4, 30)
    inputs, weights = {"x": rng.normal(size=3)}, {"w": rng.normal(size=4)}
    u = reference_unitary(c, inputs, weights)
    ui = reference_unitary(c.inverse(), inputs, weights)
    np.testing.assert_allclose(ui @ u, np.eye(16), atol=1e-10)
    other = random_circuit(rng, 2, 5, n_inputs=0, n_weights=0)
    both = c.compose(other, wires=[3, 1])
    assert len(both) == len(c) + len(other)
    ref = reference_unitary(both, inputs, weights)
    from hqml.testing import embed_matrix

    np.testing.assert_allclose(
        ref, embed_matrix(reference_unitary(other), [3, 1], 4) @ u, atol=1e-10
    )
    bound = c.bind(weights=weights)
    assert "w" not in bound.weights and "x" in bound.inputs
    np.testing.assert_allclose(reference_unitary(bound, inputs), u, atol=1e-10)


def test_counts_depth_and_resources():
    c = hqml.Circuit(3)
    w = c.weight("w", 2)
    c.h(0).cx(0, 1).rz(w[0], 2).ccx(0, 1, 2).ry(w[1], 0).swap(1, 2)
    assert c.count_ops() == {"h": 1, "cx": 1, "rz": 1, "ccx": 1, "ry": 1, "swap": 1}
    assert c.depth() == 4
    r = c.resources()
    assert r["two_qubit_gates"] == 2 and r["multi_qubit_gates"] == 3 and r["parameters"] == 2
    text = c.draw()
    assert text.count("\n") == 2 and "RZ(w[0])" in text and "●" in text


def test_json_round_trip_keeps_symbols(rng):
    c = random_circuit(rng, 5, 40)
    c2 = hqml.Circuit.from_json(c.to_json())
    assert c2 == c
    x = torch.tensor(rng.normal(size=(2, 3)))
    w = torch.tensor(rng.normal(size=4))
    torch.testing.assert_close(
        hqml.state(c2, inputs={"x": x}, weights={"w": w}),
        hqml.state(c, inputs={"x": x}, weights={"w": w}),
    )
    with pytest.raises(ValueError, match="not an hqml circuit"):
        hqml.Circuit.from_json('{"a": 1}')
    with pytest.raises(ValueError, match="not valid JSON"):
        hqml.Circuit.from_json("{")


def test_clear_errors():
    c = hqml.Circuit(2)
    x = c.input("x", 2)
    c.ry(x[0], 0)
    with pytest.raises(ValueError, match="out of range"):
        c.cx(0, 2)
    with pytest.raises(ValueError, match="distinct"):
        c.cx(1, 1)
    with pytest.raises(ValueError, match="unknown gate 'foo'"):
        c.append("foo", [0])
    with pytest.raises(ValueError, match="missing input"):
        hqml.expval(c, hqml.Z(0))
    with pytest.raises(ValueError, match=r"shape \(3, 3\); expected \(2,\)"):
        hqml.expval(c, hqml.Z(0), inputs={"x": torch.zeros(3, 3)})
    with pytest.raises(ValueError, match="unknown weight"):
        hqml.expval(c, hqml.Z(0), inputs={"x": torch.zeros(2)}, weights={"v": torch.zeros(1)})
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        hqml.expval(c, hqml.Z(0), inputs={"x": torch.zeros(2)}, backend="nope")
    with pytest.raises(ValueError, match="unknown diff_method"):
        hqml.expval(c, hqml.Z(0), inputs={"x": torch.zeros(2)}, diff_method="magic")
    with pytest.raises(ValueError, match="cannot run with shots"):
        hqml.expval(c, hqml.Z(0), inputs={"x": torch.zeros(2)}, diff_method="adjoint", shots=10)
    other = hqml.Circuit(2)
    with pytest.raises(ValueError, match="not declared"):
        other.rx(x[0], 0)
    with pytest.raises(ValueError, match="takes 1 parameter"):
        c.append("rx", [0], [])


def test_circuits_pickle_with_their_symbols(rng):
    import pickle

    c = random_circuit(rng, 4, 30)
    c2 = pickle.loads(pickle.dumps(c))
    assert c2 == c
    x = torch.tensor(rng.normal(size=(2, 3)))
    w = torch.tensor(rng.normal(size=4))
    torch.testing.assert_close(
        hqml.expval(c2, hqml.Z(0), inputs={"x": x}, weights={"w": w}),
        hqml.expval(c, hqml.Z(0), inputs={"x": x}, weights={"w": w}),
    )


def test_inputs_bind_by_name_whatever_the_dict_order():
    c = hqml.Circuit(1)
    x, y = c.input("x"), c.input("y")
    c.ry(x, 0).rz(y, 0)
    a = hqml.expval(c, hqml.X(0), inputs={"x": 0.4, "y": 1.3})
    b = hqml.expval(c, hqml.X(0), inputs={"y": 1.3, "x": 0.4})
    assert torch.allclose(a, b)
    assert abs(a.item() - np.sin(0.4) * np.cos(1.3)) < 1e-6
