"""Export -> import round trips: built-in gates, random circuits (bound, QASM 2 and 3) and
symbolic circuits (QASM 3 keeps inputs and weights), against the dense reference simulator."""

import numpy as np
import pytest
import torch
from helpers import random_circuit, random_unitary

import hqml
from hqml.circuit import qasm
from hqml.circuit.gates import GATES, UnitaryGate, controlled
from hqml.circuit.qasm.decompose import decompose_unitary, zyz_angles
from hqml.testing import (
    assert_gate_consistent,
    equal_up_to_phase,
    reference_state,
    reference_unitary,
)


@pytest.mark.parametrize("name", sorted(GATES))
def test_builtin_gate_is_consistent(name):
    assert_gate_consistent(GATES[name])  # includes the QASM 2 and 3 round trips


def _extra_gates():
    rng = np.random.default_rng(5)
    return [
        UnitaryGate(random_unitary(rng, 2)),
        UnitaryGate(random_unitary(rng, 4)),
        UnitaryGate(random_unitary(rng, 8)),
        controlled(GATES["ryy"], 1),
        controlled(GATES["u"], 2),
        controlled(GATES["h"], 2),
        controlled(UnitaryGate(random_unitary(rng, 2)), 1),
        controlled(GATES["iswap"], 1),
        controlled(GATES["sxdg"], 1),
        controlled(GATES["rxx"], 2),
        controlled(GATES["swap"], 2),
        controlled(GATES["rz"], 3),
    ]


@pytest.mark.parametrize("gate", _extra_gates(), ids=repr)
def test_unitary_and_controlled_gates_are_consistent(gate):
    assert_gate_consistent(gate)


@pytest.mark.parametrize("version", [2, 3])
def test_builtin_gates_keep_their_identity(version):
    """Every built-in gate comes back as itself (not as a decomposition)."""
    c = hqml.Circuit(3)
    for g in GATES.values():
        c.append(g, list(range(g.num_wires)), [0.1 * (k + 1) for k in range(g.num_params)])
    assert qasm.loads(qasm.dumps(c, version=version)) == c


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_decomposition_of_random_unitaries_is_exact(n):
    rng = np.random.default_rng(n)
    for _ in range(3):
        u = random_unitary(rng, 2**n)
        c = hqml.Circuit(n)
        for name, params, wires in decompose_unitary(u, range(n)):
            c.append("cx" if name == "cx" else name, wires, params)
        assert set(c.count_ops()) <= {"u", "ry", "rz", "cx"}
        v = reference_unitary(c)  # dense matrix products, independent of the decomposition
        k = np.argmax(np.abs(u[:, 0]))
        assert np.allclose(v, (v[k, 0] / u[k, 0]) * u, atol=1e-9)


def test_two_qubit_decomposition_uses_at_most_three_cnots():
    rng = np.random.default_rng(0)
    swap, cnot = np.eye(4)[[0, 2, 1, 3]], np.eye(4)[[0, 1, 3, 2]]
    local = np.kron(random_unitary(rng, 2), random_unitary(rng, 2))
    for u, max_cx in [
        (random_unitary(rng, 4), 3),
        (swap, 3),
        (cnot @ swap, 3),
        (np.diag([1, 1, 1, -1]), 3),
        (local, 0),
        (np.eye(4), 0),
    ]:
        ops = decompose_unitary(u, (0, 1))
        assert sum(name == "cx" for name, _, _ in ops) <= max_cx
        c = hqml.Circuit(2)
        for name, params, wires in ops:
            c.append(name, wires, params)
        v = reference_unitary(c)
        k = np.argmax(np.abs(u[:, 0]))
        assert np.allclose(v, (v[k, 0] / u[k, 0]) * u, atol=1e-9)


def test_zyz_angles_edge_cases():
    for m in [
        np.eye(2),
        np.diag([1, 1j]),
        np.array([[0, 1], [1, 0]]),
        np.array([[0, 1j], [1, 0]]),
        np.exp(0.3j) * np.eye(2),
    ]:
        theta, phi, lam, alpha = zyz_angles(m)
        c = hqml.Circuit(1).u(theta, phi, lam, 0)
        assert np.allclose(np.exp(1j * alpha) * reference_unitary(c), m, atol=1e-12)


def _bind_values(rng, c):
    return (
        {k: rng.uniform(-2, 2, a.shape) for k, a in c.inputs.items()},
        {k: rng.uniform(-2, 2, a.shape) for k, a in c.weights.items()},
    )


@pytest.mark.parametrize("version", [2, 3])
def test_random_bound_circuits_survive(version):
    rng = np.random.default_rng(11 + version)
    for trial in range(25):
        n = 1 + trial % 5
        c = random_circuit(rng, n, 10)
        inputs, weights = _bind_values(rng, c)
        bound = c.bind(inputs=inputs, weights=weights)
        back = qasm.loads(qasm.dumps(bound, version=version))
        assert back.is_bound and back.n_qubits == n
        got = hqml.state(back, dtype=torch.complex128).numpy()
        assert equal_up_to_phase(got, reference_state(bound), atol=1e-9), (trial, version)


def test_symbolic_circuits_survive_qasm3_with_inputs_and_weights():
    rng = np.random.default_rng(3)
    for trial in range(12):
        n = 2 + trial % 4
        c = random_circuit(rng, n, 10)
        c.weight("extra", (2, 3))  # declared but unused: kept with its shape
        back = qasm.loads(qasm.dumps(c, version=3))
        assert {k: v.shape for k, v in back.inputs.items()} == {"x": (3,)}
        assert {k: v.shape for k, v in back.weights.items()} == {"w": (4,), "extra": (2, 3)}
        obs = [hqml.Z(0), hqml.X(n - 1) @ hqml.Y(0)]
        x = torch.tensor(rng.uniform(-2, 2, (4, 3)))
        w = {
            "w": torch.tensor(rng.uniform(-2, 2, 4)),
            "extra": torch.zeros(2, 3, dtype=torch.float64),
        }
        want = hqml.expval(c, obs, inputs={"x": x}, weights=w)
        got = hqml.expval(back, obs, inputs={"x": x}, weights=w)
        assert got.shape == (4, 2)
        assert torch.allclose(got, want, atol=1e-9), trial


def test_qasm3_gradients_flow_through_imported_symbols():
    c = hqml.Circuit(2)
    x = c.input("x", 2)
    w = c.weight("w", (2, 2))
    c.ry(x[0], 0).rx(hqml.arctan(w[0, 1]) * x[1], 1).cnot(0, 1).rzz(hqml.sinh(w[1, 0]), 0, 1)
    c.ry(hqml.tanh(w[1, 1]) + hqml.cosh(x[0]) ** 2, 1)
    back = qasm.loads(qasm.dumps(c, version=3))
    xs = torch.tensor([[0.1, 0.7], [0.4, -0.3]], dtype=torch.float64)
    grads = []
    for circ in (c, back):
        w0 = torch.tensor([[0.2, -0.5], [0.9, 0.3]], dtype=torch.float64, requires_grad=True)
        hqml.expval(circ, hqml.Z(1), inputs={"x": xs}, weights={"w": w0}).sum().backward()
        grads.append(w0.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-10)


def test_measurements_are_reported():
    text = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg a[1];\ncreg b[2];\n'
        "h q[0];\nmeasure q[2] -> a[0];\nmeasure q[0] -> b[1];\n"
    )
    c, meas = qasm.loads(text, return_measurements=True)
    assert meas == {0: 2, 2: 0} and c.count_ops() == {"h": 1}
