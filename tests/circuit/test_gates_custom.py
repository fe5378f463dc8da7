import numpy as np
import pytest
import torch

import hqml
from hqml.circuit.gates import Gate, UnitaryGate
from hqml.testing import assert_gate_consistent


def test_user_gates_by_matrix_or_generator_are_consistent_and_serialise():
    g = Gate("myrot", 2, generator=np.kron([[0, 1], [1, 0]], [[1, 0], [0, -1]]) / 2)
    assert_gate_consistent(g)
    f = Gate("myfixed", 1, matrix=np.array([[0, 1j], [1j, 0]]))
    assert_gate_consistent(f)
    c = hqml.Circuit(2)
    c.append(g, [1, 0], [0.3]).append(f, [0])
    assert hqml.Circuit.from_json(c.to_json()) == c
    # a user gate named like a built-in is not the built-in
    assert Gate("h", 1, matrix=np.eye(2)) != hqml.circuit.get_gate("h")


def test_inverted_unitaries_round_trip_through_json():
    c = hqml.Circuit(2).iswap(0, 1).unitary(np.array([[0, 1], [1, 0]]), [1])
    ci = c.inverse()
    assert hqml.Circuit.from_json(ci.to_json()) == ci
    assert UnitaryGate(np.eye(2)) == UnitaryGate(np.array([[1, -0.0], [0, 1]]))


def test_mutating_ops_invalidates_compiled_caches():
    from hqml.circuit import Operation, get_gate

    c = hqml.Circuit(1)
    w = c.weight("w")
    c.rx(w, 0)
    v = {"w": torch.tensor(0.3)}
    a = hqml.expval(c, hqml.Z(0), weights=v)
    c.ops.append(Operation(get_gate("x"), (0,)))
    b = hqml.expval(c, hqml.Z(0), weights=v)
    assert torch.allclose(b, -a)
    c.ops = c.ops[:1]
    assert torch.allclose(hqml.expval(c, hqml.Z(0), weights=v), a)


def test_grad_requiring_tensors_are_not_frozen_into_constants():
    with pytest.raises(TypeError, match="c.weight"):
        hqml.Circuit(1).rx(torch.tensor(0.3, requires_grad=True), 0)


def test_scalar_symbols_support_all_arithmetic():
    c = hqml.Circuit(1)
    x = c.input("x")
    c.rx(x**2, 0).ry(1 / x, 0).rz(2**x, 0)
    psi = hqml.state(c, inputs={"x": torch.tensor(0.7, dtype=torch.float64)})
    from hqml.testing import reference_state

    np.testing.assert_allclose(psi.numpy(), reference_state(c, {"x": 0.7}), atol=1e-12)


def test_shift_rules_for_uneven_spectra():
    from hqml.grad import shift_rule

    rule = shift_rule((0.0, 1.0, 3.0))  # frequencies 1, 2, 3 on the integer grid
    f = lambda t: 0.3 * np.cos(t) + 0.5 * np.sin(2 * t) - 0.2 * np.cos(3 * t + 0.4)  # noqa: E731
    df = lambda t: -0.3 * np.sin(t) + np.cos(2 * t) + 0.6 * np.sin(3 * t + 0.4)  # noqa: E731
    t = 0.77
    assert abs(sum(c * (f(t + s) - f(t - s)) for c, s in rule) - df(t)) < 1e-10
    with pytest.raises(ValueError, match="incommensurate"):
        shift_rule((0.0, 1.0, 1.0 + np.sqrt(2)))
