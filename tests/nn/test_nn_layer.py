"""QuantumLayer against hqml.expval: values, gradients for every diff method, dtype, state."""

import io
import pickle

import numpy as np
import pytest
import torch

import hqml
from hqml.circuit.templates import (
    angle_encoding,
    hardware_efficient,
    identity_blocks,
    zz_feature_map,
)
from hqml.nn import QuantumLayer


def make_circuit(n=3, layers=2):
    return angle_encoding(n).compose(hardware_efficient(n, layers))


OBS = [hqml.Z(0), hqml.Z(1) @ hqml.Z(2), 0.5 * hqml.X(1) + hqml.Y(2)]


@pytest.mark.parametrize(
    "diff_method", ["best", "backprop", "adjoint", "parameter-shift", "finite-diff", "spsa"]
)
def test_gradients_equal_expval(diff_method):
    c = make_circuit()
    layer = QuantumLayer(c, OBS, diff_method=diff_method, seed=5).double()
    x = torch.rand(4, 3, dtype=torch.float64, requires_grad=True)
    cot = torch.randn(4, 3, dtype=torch.float64)
    (layer(x) * cot).sum().backward()

    w = layer.w.detach().clone().requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    ref = hqml.expval(c, OBS, inputs={"x": x2}, weights={"w": w}, diff_method=diff_method, seed=5)
    (ref * cot).sum().backward()
    assert torch.allclose(layer(x), ref, atol=1e-12)
    assert torch.allclose(layer.w.grad, w.grad, atol=1e-8)
    assert torch.allclose(x.grad, x2.grad, atol=1e-8)
    if diff_method in ("backprop", "adjoint", "parameter-shift", "best"):
        # exact methods also agree with backprop
        w3 = w.detach().clone().requires_grad_(True)
        (
            hqml.expval(c, OBS, inputs={"x": x.detach()}, weights={"w": w3}, diff_method="backprop")
            * cot
        ).sum().backward()
        assert torch.allclose(layer.w.grad, w3.grad, atol=1e-8)


def test_state_dict_and_pickle_round_trip():
    c = make_circuit()
    a = QuantumLayer(c, OBS, seed=1)
    b = QuantumLayer(c, OBS, seed=2)
    x = torch.rand(5, 3)
    assert not torch.allclose(a(x), b(x))
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b.load_state_dict(torch.load(buf))
    assert list(a.state_dict()) == ["w"]
    assert torch.equal(a(x), b(x))
    c2 = pickle.loads(pickle.dumps(a))
    assert torch.equal(a(x), c2(x))


def test_dtype_device_and_probs():
    c = make_circuit()
    layer = QuantumLayer(c, OBS, seed=0)
    x = torch.rand(3, 3)
    out32 = layer(x)
    assert out32.dtype == torch.float32 and layer.w.dtype == torch.float32
    layer = layer.to(torch.float64)
    out64 = layer(x)
    assert out64.dtype == torch.float64
    ref = hqml.expval(
        c, OBS, inputs={"x": x.double()}, weights={"w": layer.w.detach()}, dtype=torch.complex128
    )
    assert torch.allclose(out64, ref, atol=1e-12) and torch.allclose(out32.double(), ref, atol=1e-5)
    p = QuantumLayer(c, probs_wires=[0, 2], seed=0).double()
    p.load_state_dict(layer.state_dict())
    want = hqml.probs(c, [0, 2], inputs={"x": x.double()}, weights={"w": layer.w.detach()})
    assert torch.allclose(p(x), want) and p(x).shape == (3, 4)


def test_flattened_inputs_and_input_free_circuit():
    c = hqml.Circuit(2)
    x = c.input("img", (2, 2))
    w = c.weight("w", 2)
    c.ry(x[0, 0] + x[1, 1], 0).ry(x[0, 1] * x[1, 0], 1).cx(0, 1).rz(w[0], 1).rx(w[1], 0)
    layer = QuantumLayer(c, [hqml.Z(0), hqml.Z(1)], seed=3)
    imgs = torch.rand(6, 2, 2)
    assert torch.allclose(layer(imgs.reshape(6, 4)), layer(imgs))
    fixed = hardware_efficient(2, 1)
    q = QuantumLayer(fixed, [hqml.Z(0)], seed=0)
    out = q(torch.zeros(5, 7))
    assert out.shape == (5, 1) and torch.allclose(out, q().expand(5, 1))


def test_inits_and_identity_block():
    c = make_circuit(3, 1)
    assert (QuantumLayer(c, OBS, init="uniform", seed=0).w.detach() >= 0).all()
    assert QuantumLayer(c, OBS, init="normal", seed=0).w.detach().abs().max() < 0.6
    custom = QuantumLayer(c, OBS, init=lambda name, shape, g: torch.full(shape, 0.25))
    assert torch.all(custom.w == 0.25)
    enc = zz_feature_map(3, reps=1)
    full = enc.compose(identity_blocks(hardware_efficient(3, 2), n_blocks=2))
    layer = QuantumLayer(full, OBS, init="identity_block", seed=4).double()
    assert layer.w.detach().abs().min() > 0  # every parameter is non-zero...
    x = torch.rand(5, 3, dtype=torch.float64)
    assert torch.allclose(
        layer(x), hqml.expval(enc, OBS, inputs={"x": x}), atol=1e-10
    )  # ...yet identity
    with pytest.raises(ValueError, match="identity_blocks"):
        QuantumLayer(c, OBS, init="identity_block")


def test_seeded_shots_are_reproducible():
    c = make_circuit()
    a = QuantumLayer(c, OBS[:2], shots=200, seed=9)
    b = QuantumLayer(c, OBS[:2], shots=200, seed=9)
    x = torch.rand(3, 3)
    assert torch.equal(a(x), b(x))
    assert np.all(np.abs(a(x).detach().numpy()) <= 1)


def test_bad_arguments_name_the_fix():
    c = hqml.Circuit(2)
    c.input("a", 1)
    c.input("b", 1)
    with pytest.raises(ValueError, match="needs one"):
        QuantumLayer(c, [hqml.Z(0)])
    layer = QuantumLayer(make_circuit(), OBS)
    with pytest.raises(ValueError, match="takes 3 input features"):
        layer(torch.rand(2, 4))
    with pytest.raises(ValueError, match="unknown init"):
        QuantumLayer(make_circuit(), OBS, init="xavier")
    with pytest.raises(ValueError, match="exactly one"):
        QuantumLayer(make_circuit())
