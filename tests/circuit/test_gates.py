"""Every built-in gate against a textbook matrix written here, and the consistency checks."""

import numpy as np
import pytest
import torch

from hqml.circuit.gates import GATES, UnitaryGate, controlled, get_gate
from hqml.testing import assert_gate_consistent

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]])
Y = np.array([[0, -1j], [1j, 0]])
Z = np.array([[1, 0], [0, -1]])
H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
P0, P1 = np.diag([1, 0]), np.diag([0, 1])


def ctrl(u):
    return np.kron(P0, np.eye(len(u))) + np.kron(P1, u)


def rx(t):
    return np.array([[np.cos(t / 2), -1j * np.sin(t / 2)], [-1j * np.sin(t / 2), np.cos(t / 2)]])


def ry(t):
    return np.array([[np.cos(t / 2), -np.sin(t / 2)], [np.sin(t / 2), np.cos(t / 2)]])


def rz(t):
    return np.diag([np.exp(-1j * t / 2), np.exp(1j * t / 2)])


def u3(t, p, lam):
    return np.array(
        [
            [np.cos(t / 2), -np.exp(1j * lam) * np.sin(t / 2)],
            [np.exp(1j * p) * np.sin(t / 2), np.exp(1j * (p + lam)) * np.cos(t / 2)],
        ]
    )


def two(pauli, t):
    return np.cos(t / 2) * np.eye(4) - 1j * np.sin(t / 2) * np.kron(pauli, pauli)


FIXED = {
    "id": I2,
    "h": H,
    "x": X,
    "y": Y,
    "z": Z,
    "s": np.diag([1, 1j]),
    "sdg": np.diag([1, -1j]),
    "t": np.diag([1, np.exp(1j * np.pi / 4)]),
    "tdg": np.diag([1, np.exp(-1j * np.pi / 4)]),
    "sx": 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]),
    "sxdg": 0.5 * np.array([[1 - 1j, 1 + 1j], [1 + 1j, 1 - 1j]]),
    "cx": ctrl(X),
    "cy": ctrl(Y),
    "cz": ctrl(Z),
    "ch": ctrl(H),
    "csx": ctrl(0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]])),
    "swap": np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]),
    "iswap": np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]]),
    "ccx": ctrl(ctrl(X)),
    "cswap": ctrl(np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])),
}
PARAM = {
    "rx": rx,
    "ry": ry,
    "rz": rz,
    "p": lambda t: np.diag([1, np.exp(1j * t)]),
    "crx": lambda t: ctrl(rx(t)),
    "cry": lambda t: ctrl(ry(t)),
    "crz": lambda t: ctrl(rz(t)),
    "cp": lambda t: np.diag([1, 1, 1, np.exp(1j * t)]),
    "rxx": lambda t: two(X, t),
    "ryy": lambda t: two(Y, t),
    "rzz": lambda t: two(Z, t),
    "u": u3,
    "cu": lambda t, p, lam: ctrl(u3(t, p, lam)),
}


def test_every_builtin_gate_is_covered():
    assert set(GATES) == set(FIXED) | set(PARAM)


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_gate_matrix(name):
    g = get_gate(name)
    m = g.matrix(dtype=torch.complex128).numpy()
    np.testing.assert_allclose(m, FIXED[name], atol=1e-12)
    np.testing.assert_allclose(m @ m.conj().T, np.eye(len(m)), atol=1e-12)


@pytest.mark.parametrize("name", sorted(PARAM))
def test_parametrized_gate_matrix_batched(name, rng):
    g = get_gate(name)
    params = rng.uniform(-4, 4, (5, g.num_params))
    m = g.matrix(torch.tensor(params)).numpy()
    assert m.shape == (5, g.dim, g.dim)
    for b in range(5):
        np.testing.assert_allclose(m[b], PARAM[name](*params[b]), atol=1e-12)
        np.testing.assert_allclose(m[b] @ m[b].conj().T, np.eye(g.dim), atol=1e-12)


@pytest.mark.parametrize("name", sorted(GATES))
def test_builtin_gates_are_consistent(name):
    assert_gate_consistent(GATES[name], seed=len(name))


def test_aliases_and_controlled_any_gate(rng):
    assert get_gate("cnot") is get_gate("cx") and get_gate("toffoli") is get_gate("ccx")
    assert controlled(get_gate("x")) is get_gate("cx")
    assert controlled(get_gate("x"), 2) is get_gate("ccx")
    u = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0]
    g = controlled(UnitaryGate(u), 1)
    np.testing.assert_allclose(g.matrix(dtype=torch.complex128).numpy(), ctrl(u), atol=1e-12)
    assert_gate_consistent(g)
    assert_gate_consistent(controlled(get_gate("ryy"), 2))
    assert_gate_consistent(controlled(get_gate("u"), 1), params=[0.3, -1.2, 2.2])
    with pytest.raises(ValueError, match="not unitary"):
        UnitaryGate(np.ones((2, 2)))
    with pytest.raises(ValueError, match="2\\^k x 2\\^k"):
        UnitaryGate(np.eye(3))


def test_rotation_generators_and_shift_frequencies():
    from hqml.grad import shift_rule

    rx_rule = shift_rule(tuple(get_gate("rx").spectra[0]))
    assert (
        len(rx_rule) == 1
        and np.isclose(rx_rule[0][1], np.pi / 2)
        and np.isclose(rx_rule[0][0], 0.5)
    )
    crx_rule = shift_rule(tuple(get_gate("crx").spectra[0]))
    c_plus, c_minus = (np.sqrt(2) + 1) / (4 * np.sqrt(2)), (np.sqrt(2) - 1) / (4 * np.sqrt(2))
    (c1, s1), (c2, s2) = crx_rule
    assert np.isclose(s1, np.pi / 2) and np.isclose(s2, 3 * np.pi / 2)
    assert np.isclose(c1, c_plus) and np.isclose(c2, -c_minus)  # the four-term rule
