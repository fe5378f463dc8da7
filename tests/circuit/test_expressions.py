import math

import numpy as np
import pytest
import torch

import hqml
from hqml.circuit.expr import Const, Symbol
from hqml.circuit.expr_functions import expr_from_json
from hqml.circuit.symbol_array import SymbolArray


def test_arithmetic_and_functions_evaluate_batched_and_differentiably():
    c = hqml.Circuit(1)
    x = c.input("x", 2)
    w = c.weight("w", 2)
    e = (
        (hqml.sin(x[0]) * w[1] - x[1] / 2) ** 2
        + hqml.exp(-w[0])
        + hqml.sqrt(hqml.arctan(x[0]) ** 2)
    )
    e = e + hqml.arccos(hqml.cos(w[0]) * 0.5) - (-x[1])
    xv = torch.tensor([[0.3, -1.2], [1.1, 0.4]], dtype=torch.float64, requires_grad=True)
    wv = torch.tensor([0.7, -0.2], dtype=torch.float64, requires_grad=True)
    env = {Symbol("x", "input", (i,)): xv[:, i] for i in range(2)}
    env.update({Symbol("w", "weight", (i,)): wv[i] for i in range(2)})
    val = e.evaluate(lambda s: env[s])

    def ref(xr, wr):
        return (
            (torch.sin(xr[:, 0]) * wr[1] - xr[:, 1] / 2) ** 2
            + torch.exp(-wr[0])
            + torch.sqrt(torch.arctan(xr[:, 0]) ** 2)
            + torch.arccos(torch.cos(wr[0]) * 0.5)
            + xr[:, 1]
        )

    torch.testing.assert_close(val, ref(xv, wv))
    gx, gw = torch.autograd.grad(val.sum(), (xv, wv))
    rx, rw = torch.autograd.grad(ref(xv, wv).sum(), (xv, wv))
    torch.testing.assert_close(gx, rx)
    torch.testing.assert_close(gw, rw)


def test_constants_fold_and_values_compare():
    assert (Const(2.0) * 3 + 1) == Const(7.0)
    assert (
        hqml.sin(0.0) == 0.0
        if isinstance(hqml.sin(0.0), float)
        else hqml.sin(Const(0.0)) == Const(0.0)
    )
    s = Symbol("w", "weight", (1,))
    assert s * 2 == s * 2 and hash(s * 2) == hash(s * 2)
    assert s * 2 != s * 3


def test_json_round_trip_and_substitute():
    s, t = Symbol("w", "weight", (0, 1)), Symbol("x", "input", (2,))
    e = hqml.cos(s * 0.5 + t) / (1 + t**2) - s
    assert expr_from_json(e.to_json()) == e
    v = e.substitute({s: 0.3, t: -0.4})
    assert isinstance(v, Const)
    assert math.isclose(float(v), math.cos(0.15 - 0.4) / (1 + 0.16) - 0.3)


def test_symbol_array_indexing_errors():
    a = SymbolArray("w", "weight", (2, 3))
    assert repr(a[1, -1]) == "w[1, 2]"
    with pytest.raises(IndexError, match="shape"):
        a[1]
    with pytest.raises(IndexError, match="out of range"):
        a[2, 0]
    with pytest.raises(TypeError, match="gate parameter"):
        hqml.Circuit(1).rx("a", 0)


def test_repr_is_readable():
    c = hqml.Circuit(1)
    w = c.weight("w", 2)
    assert repr(w[0] * 0.5 + hqml.sin(w[1])) == "w[0] * 0.5 + sin(w[1])"
    assert repr(-(w[0] - w[1])) == "-(w[0] - w[1])"
    assert np.isclose(float(Const(1.5)), 1.5)
