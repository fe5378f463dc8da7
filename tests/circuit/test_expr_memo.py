"""Common sub-expressions are evaluated once per bind (memo keyed by node identity)."""

import torch

import hqml
from hqml.circuit.expr import Symbol
from hqml.circuit.params import bind_parameters
from hqml.circuit.templates import amplitude_encoding


def test_shared_subexpressions_are_evaluated_once():
    c = hqml.Circuit(1)
    x = c.input("x", 2)
    shared = hqml.sin(x[0] * x[1]) + 1.0
    exprs = [shared * 2.0, shared - x[0], hqml.cos(shared)]
    lookups: list[Symbol] = []

    def env(s):
        lookups.append(s)
        return torch.tensor([0.3, -1.2]) if s.index == (0,) else torch.tensor([2.0, 0.5])

    memo: dict = {}
    with_memo = [e.evaluate(env, memo) for e in exprs]
    n_memo = len(lookups)
    lookups.clear()
    without = [e.evaluate(env) for e in exprs]
    assert n_memo == 3  # x0, x1 once for the shared part, x0 once more for "shared - x0"
    assert len(lookups) == 7
    for a, b in zip(with_memo, without, strict=True):
        torch.testing.assert_close(a, b)


def test_amplitude_encoding_binds_to_the_normalised_vector():
    torch.manual_seed(0)
    c = amplitude_encoding(4)
    x = torch.rand(5, 16, dtype=torch.float64) - 0.5
    b = bind_parameters(c, {"x": x}, {})
    assert b.theta.shape == (5, len(c.parameter_exprs()))
    psi = hqml.state(c, inputs={"x": x})
    target = x / x.norm(dim=1, keepdim=True)
    overlap = (psi.conj() * target.to(psi.dtype)).sum(dim=1).abs()
    torch.testing.assert_close(overlap, torch.ones(5, dtype=overlap.dtype), atol=1e-12, rtol=0)
