"""The dynamic-circuit IR: measure, reset, conditions, registers; drawing, resources, JSON; and
the one-line refusals of every consumer that handles unitary circuits only."""

import pickle

import numpy as np
import pytest
import torch

import hqml
from hqml.circuit.deferred import defer_measurements
from hqml.circuit.dynamic import Bit, Condition, Conditional, Measure, Reset


def teleport_like() -> hqml.Circuit:
    c = hqml.Circuit(3)
    w = c.weight("w", 2)
    reg = c.creg("c", 2)
    c.ry(w[0], 0).h(1).cx(1, 2).cx(0, 1).h(0)
    c.measure(0, reg[0])
    c.measure(1, reg[1])
    c.cond(reg[1] == 1, lambda: c.x(2))
    c.cond(reg[0] == 1, lambda: c.rz(w[1], 2).z(2))
    return c


def test_measure_returns_bits_with_names():
    c = hqml.Circuit(2)
    m0 = c.h(0).measure(0)
    m1 = c.measure(1)
    named = c.measure(0, "flag")
    reg = c.creg("r", 3)
    b = c.measure(1, reg[2])
    assert (m0, m1, named, b) == (Bit("m0"), Bit("m1"), Bit("flag"), Bit("r", 2))
    assert c.cregs == {"m0": 1, "m1": 1, "flag": 1, "r": 3}
    assert c.clbits == [Bit("m0"), Bit("m1"), Bit("flag"), Bit("r", 0), Bit("r", 1), Bit("r", 2)]
    assert [type(op) for op in c.ops[1:]] == [Measure] * 4
    assert c.is_dynamic and not hqml.Circuit(1).h(0).is_dynamic


def test_conditions_on_bits_and_registers():
    c = hqml.Circuit(2)
    reg = c.creg("c", 3)
    cond = reg == 5
    assert cond.bits == tuple(reg) and cond.value == 5 and cond.register == "c"
    for v in range(8):  # bit i has weight 2**i
        record = {Bit("c", i): (v >> i) & 1 for i in range(3)}
        assert cond.holds(record) == (v == 5)
        assert (~cond).holds(record) == (v != 5)
        assert (reg != 5).holds(record) == (v != 5)
        assert (reg[1] == 1).holds(record) == bool(v & 2)
        assert (reg[1] != 1).holds(record) == (not v & 2)
    assert repr(reg == 5) == "c == 5" and repr(reg[1] != 0) == "c[1] != 0"
    assert isinstance(reg[0] == 0, Condition) and (reg[0] == Bit("c", 0)) is True


def test_cond_with_else_and_bodies():
    c = hqml.Circuit(3)
    m = c.h(0).measure(0)
    c.cond(m, lambda: c.x(1).cx(1, 2), lambda: c.z(2))
    body = hqml.Circuit(3).ry(0.5, 2)
    c.cond(m == 0, body)
    ops = c.ops[2:]
    assert [type(op) for op in ops] == [Conditional] * 3
    assert ops[0].condition == (m == 1) and [o.gate.name for o in ops[0].body] == ["x", "cx"]
    assert ops[1].condition == (m != 1) and ops[1].body[0].gate.name == "z"
    assert ops[2].params[0].is_constant and float(ops[2].params[0]) == 0.5
    assert ops[0].wires == (1, 2)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda c: c.measure(5), "out of range"),
        (lambda c: c.measure(0, Bit("nope", 0)), "not declared"),
        (lambda c: c.measure(0, c.creg("r", 2)), "a name, a Bit"),
        (lambda c: (c.creg("r", 2), c.measure(0, "r")), "name one bit"),
        (lambda c: c.creg("r", 2) == 4, "cannot hold"),
        (lambda c: Bit("m0") == 2, "compared with 0 or 1"),
        (lambda c: c.cond("m0", lambda: c.x(0)), "needs a condition"),
        (lambda c: c.cond(c.measure(0) == 1, lambda: c.measure(1)), "gates only"),
        (lambda c: c.cond(c.measure(0) == 1, lambda: c.reset(1)), "gates only"),
        (lambda c: c.cond(Bit("zz") == 1, lambda: c.x(1)), "not declared"),
        (lambda c: c.reset(-1), "out of range"),
    ],
)
def test_bad_input_is_refused_in_one_line(build, message):
    c = hqml.Circuit(2)
    with pytest.raises((ValueError, TypeError)) as e:
        build(c)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_refused_body_leaves_the_circuit_unchanged():
    c = hqml.Circuit(2)
    m = c.measure(0)
    with pytest.raises(ValueError):
        c.cond(m == 1, lambda: c.x(1).measure(1))
    assert len(c.ops) == 1


def test_json_pickle_copy_bind_and_compose_keep_dynamic_ops():
    c = teleport_like()
    assert hqml.Circuit.from_json(c.to_json()) == c
    assert hqml.Circuit.from_json(c.to_json(indent=1)).ops == c.ops
    assert pickle.loads(pickle.dumps(c)) == c
    assert c.copy() == c and c.copy().cregs is not c.cregs
    bound = c.bind(weights={"w": [0.25, 0.5]})
    assert bound.is_bound and bound.cregs == c.cregs
    assert [float(p) for p in bound.parameter_exprs()] == [0.25, 0.5]
    assert isinstance(bound.ops[-1], Conditional)
    big = hqml.Circuit(4).compose(c, wires=[3, 2, 1])
    assert big.cregs == c.cregs
    assert big.ops[5] == Measure(3, Bit("c", 0))
    assert [o.wires for o in big.ops[-1].body] == [(1,), (1,)]
    other = hqml.Circuit(3)
    other.creg("c", 3)
    with pytest.raises(ValueError, match="'c' is already declared with 3 bits"):
        other.compose(c)


def test_resources_depth_and_drawing():
    c = hqml.Circuit(2)
    m = c.h(0).measure(0)
    c.reset(0)
    c.cond(m == 1, lambda: c.x(1))
    r = c.resources()
    assert r["measurements"] == 1 and r["resets"] == 1 and r["conditionals"] == 1
    assert r["conditioned_gates"] == 1 and r["clbits"] == 1
    assert c.count_ops() == {"h": 1, "measure": 1, "reset": 1, "if": 1}
    assert c.depth() == 3  # the condition waits for the measurement, not only for wire 1
    text = c.draw()
    assert "M→m0[0]" in text and "|0⟩" in text and "X?m0[0]==1" in text
    assert "clbits" not in hqml.Circuit(1).h(0).resources()


def test_deferred_rewrite_structure():
    c = hqml.Circuit(3)
    reg = c.creg("c", 2)
    c.h(0).h(1).measure(0, reg[0])
    c.measure(1, reg[1])
    c.cond(reg == 2, lambda: c.rx(0.3, 2))
    unitary, measured = defer_measurements(c)
    assert measured == frozenset({0, 1})
    assert [(op.gate.name, op.wires) for op in unitary.ops] == [
        ("h", (0,)),
        ("h", (1,)),
        ("x", (0,)),
        ("ccrx", (0, 1, 2)),
        ("x", (0,)),
    ]
    assert unitary.parameter_exprs() == c.parameter_exprs()
    reused = c.copy()
    reused.h(0)
    assert defer_measurements(reused) == "wire 0 is used after its measurement"
    reset = hqml.Circuit(1)
    reset.reset(0)
    assert defer_measurements(reset) == "wire 0 is reset"
    unequal = hqml.Circuit(2)
    m = unequal.measure(0)
    unequal.cond(m != 1, lambda: unequal.x(1))
    assert "inequality" in defer_measurements(unequal)


def _one_line(fn, *match):
    with pytest.raises(ValueError) as e:
        fn()
    text = str(e.value)
    assert "\n" not in text and "dynamic" in text, text
    for m in match:
        assert m in text, text


def test_unitary_consumers_refuse_dynamic_circuits():
    from hqml.kernels.simplify import merge_parity_phases
    from hqml.mitigation.folding import fold_gates, fold_global
    from hqml.noise import NoiseModel, bit_flip
    from hqml.testing import reference_state, reference_unitary

    c = teleport_like().bind(weights={"w": [0.1, 0.2]})
    _one_line(c.inverse, "no inverse")
    _one_line(lambda: fold_global(c, 3))
    _one_line(lambda: fold_gates(c, 3))
    _one_line(lambda: reference_state(c), "density_matrix")
    _one_line(lambda: reference_unitary(c))
    _one_line(lambda: merge_parity_phases(c))
    nm = NoiseModel().add_channel(bit_flip(0.1))
    _one_line(lambda: hqml.probs(c, noise_model=nm), "density_matrix")
    _one_line(lambda: hqml.state(c), "density_matrix")


def test_backends_without_dynamic_support_refuse():
    from hqml.backends.base import Backend

    class Plain(Backend):
        name = "plain"

        def execute(self, tasks):  # pragma: no cover - never reached
            raise AssertionError

    c = hqml.Circuit(1)
    c.measure(0)
    _one_line(lambda: hqml.probs(c, backend=Plain()), "'statevector' or 'density_matrix'")


def test_dynamic_circuit_state_on_density_matrix_is_the_mixture():
    c = hqml.Circuit(1)
    c.h(0).measure(0)
    rho = hqml.state(c, backend="density_matrix", dtype=torch.complex128)
    assert np.allclose(rho.numpy(), np.eye(2) / 2, atol=1e-12)
    c2 = hqml.Circuit(1).h(0)
    c2.reset(0)
    rho = hqml.state(c2, backend="density_matrix", dtype=torch.complex128)
    assert np.allclose(rho.numpy(), np.diag([1.0, 0.0]), atol=1e-12)
    assert isinstance(c2.ops[-1], Reset)
