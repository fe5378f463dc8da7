"""Prepared calls (StatevectorBackend.prepare): the same values and gradients as the generic
path, and a record that never outlives what it describes."""

import numpy as np
import pytest
import torch
from helpers import w1_circuit

import hqml
from hqml.backends.statevector import prepared as fastcall
from hqml.execute import _REQUESTS
from hqml.sim import native

pytestmark = pytest.mark.skipif(not native.available(), reason="native kernels not built")


def _w1(n=3, layers=2):
    return w1_circuit(n, layers)


def _step(c, obs, x, w, **kw):
    x = x.detach().clone().requires_grad_(x.requires_grad)
    w = w.detach().clone().requires_grad_(True)
    e = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, **kw)
    (e**2 * torch.linspace(0.5, 1.5, e.numel()).reshape(e.shape).to(e.dtype)).sum().backward()
    return e.detach(), w.grad, x.grad


def _requests(c):
    return list(c.memo.get(_REQUESTS, {}).values())


def _prepared(c):
    return [r.prepared for r in _requests(c) if isinstance(r.prepared, fastcall.PreparedCall)]


@pytest.mark.parametrize("dtype", [None, torch.complex128])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("x_grad", [False, True])
def test_values_and_gradients_equal_the_generic_path(monkeypatch, dtype, batched, x_grad):
    c = _w1()
    rng = np.random.default_rng(3)
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    x = torch.tensor(rng.uniform(-2, 2, (7, 3) if batched else (3,)), dtype=real)
    x.requires_grad_(x_grad)
    w = torch.tensor(rng.uniform(-2, 2, (2, 3, 2)), dtype=real)
    obs = [hqml.Z(0), hqml.Z(1) @ hqml.Z(2) * 0.5 + hqml.Z(0)]
    first = _step(c, obs, x, w, dtype=dtype)  # prepares
    assert len(_prepared(c)) == 1
    fast = _step(c, obs, x, w, dtype=dtype)  # runs prepared
    monkeypatch.setenv("HQML_FASTCALL", "0")
    slow = _step(c, obs, x, w, dtype=dtype)
    ulps = 4 * torch.finfo(real).eps
    for k, (a, b, f) in enumerate(zip(fast, slow, first, strict=True)):
        if b is None:
            assert a is None and f is None
            continue
        assert a.shape == b.shape and a.dtype == b.dtype
        if k == 0:  # values: the same kernels on the same theta
            np.testing.assert_array_equal(a.numpy(), b.numpy())
            np.testing.assert_array_equal(f.numpy(), b.numpy())
        else:  # gradients: batch sums may add in another order
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=ulps, atol=ulps)
            np.testing.assert_allclose(f.numpy(), b.numpy(), rtol=ulps, atol=ulps)
    # and the generic path agrees with torch autograd on the reference torch path
    ref = _step(c, obs, x, w, dtype=dtype, diff_method="backprop")
    tol = 1e-10 if dtype == torch.complex128 else 2e-5
    for a, b in zip(fast, ref, strict=True):
        if a is not None:
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=tol)


def test_a_new_shape_dtype_or_requires_grad_is_a_new_request():
    c = _w1()
    w = torch.rand(2, 3, 2, requires_grad=True)
    obs = hqml.Z(0)
    hqml.expval(c, obs, inputs={"x": torch.rand(5, 3)}, weights={"w": w})
    hqml.expval(c, obs, inputs={"x": torch.rand(5, 3)}, weights={"w": w})
    assert len(_requests(c)) == 1
    hqml.expval(c, obs, inputs={"x": torch.rand(4, 3)}, weights={"w": w})
    hqml.expval(c, obs, inputs={"x": torch.rand(4, 3, dtype=torch.float64)}, weights={"w": w})
    hqml.expval(c, obs, inputs={"x": torch.rand(4, 3)}, weights={"w": w.detach()})
    assert len(_requests(c)) == 4


def test_edits_to_the_circuit_or_an_observable_are_seen():
    c = _w1()
    x, w = torch.rand(4, 3), torch.rand(2, 3, 2)
    obs = 1.0 * hqml.Z(0)
    before = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, dtype=torch.complex128)
    assert _prepared(c)
    c.rx(0.7, 0)  # the circuit changes: its memo (and the request) is cleared
    assert _REQUESTS not in c.memo
    after = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, dtype=torch.complex128)
    assert not torch.allclose(before, after)
    obs.terms[((0, "Z"),)] = 3.0  # in place: a new request
    scaled = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, dtype=torch.complex128)
    np.testing.assert_allclose(scaled.numpy(), 3 * after.numpy(), atol=1e-12)


def test_unsuited_requests_take_the_generic_path_and_errors_stay_clear():
    c = hqml.Circuit(2)
    x, w = c.input("x", 1), c.weight("w", 1)
    c.ry(2 * x[0] + w[0], 0).cx(0, 1)  # an expression: no plain link to the values
    v = hqml.expval(
        c, hqml.Z(1), inputs={"x": torch.tensor([0.3])}, weights={"w": torch.tensor([0.1])}
    )
    assert float(v) == pytest.approx(np.cos(0.7), abs=1e-6)
    assert [r.prepared for r in _requests(c)] == [None]
    d = _w1()
    xx = hqml.expval(d, hqml.X(0), inputs={"x": torch.rand(3)}, weights={"w": torch.rand(2, 3, 2)})
    assert xx.shape == ()  # a dense observable: generic path, same result shape
    assert not _prepared(d)
    for _ in range(2):  # the error each time, nothing recorded for it
        with pytest.raises(ValueError, match="unknown input"):
            hqml.expval(d, hqml.Z(0), inputs={"x": torch.rand(3), "y": torch.rand(1)},
                        weights={"w": torch.rand(2, 3, 2)})  # fmt: skip
        with pytest.raises(ValueError, match="expected"):
            hqml.expval(
                d, hqml.Z(0), inputs={"x": torch.rand(4)}, weights={"w": torch.rand(2, 3, 2)}
            )


def test_inputs_given_in_another_order_and_batched_weights():
    c = hqml.Circuit(2)
    a, b, w = c.input("a", 1), c.input("b", 1), c.weight("w", 2)
    c.ry(a[0], 0).ry(b[0], 1).cx(0, 1).ry(w[0], 0).rz(w[1], 1)
    rng = np.random.default_rng(5)
    ta, tb = torch.tensor(rng.uniform(-2, 2, (3, 1))), torch.tensor(rng.uniform(-2, 2, (3, 1)))
    tw = torch.tensor(rng.uniform(-2, 2, (3, 2)), requires_grad=True)  # one row per sample
    obs = [hqml.Z(0), hqml.Z(1)]
    for _ in range(2):
        got = hqml.expval(c, obs, inputs={"b": tb, "a": ta}, weights={"w": tw})
    (g,) = torch.autograd.grad(got.sum(), tw)
    assert _prepared(c)
    ref = hqml.expval(c, obs, inputs={"a": ta, "b": tb}, weights={"w": tw}, diff_method="backprop")
    (g_ref,) = torch.autograd.grad(ref.sum(), tw)
    np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(g.numpy(), g_ref.numpy(), atol=1e-12)


def test_names_moved_between_inputs_and_weights_still_raise():
    c = _w1()
    x, w = torch.rand(4, 3), torch.rand(2, 3, 2)
    hqml.expval(c, hqml.Z(0), inputs={"x": x}, weights={"w": w})
    hqml.expval(c, hqml.Z(0), inputs={"x": x}, weights={"w": w})
    with pytest.raises(ValueError, match="unknown input"):
        hqml.expval(c, hqml.Z(0), inputs={"x": x, "w": w}, weights={})
    with pytest.raises(ValueError, match="missing input"):
        hqml.expval(c, hqml.Z(0), inputs={}, weights={"x": x, "w": w})


def test_a_tensor_with_the_negative_bit_is_read_with_its_sign(monkeypatch):
    c = hqml.Circuit(1)
    w = c.weight("w", 1)
    c.h(0).rz(w[0], 0).sx(0)
    neg = torch.tensor([complex(0.3, 0.5)]).conj().imag  # a lazily negated view
    assert neg.is_neg()
    got = [float(hqml.expval(c, hqml.Z(0), weights={"w": neg})) for _ in range(2)]
    monkeypatch.setenv("HQML_FASTCALL", "off")
    want = float(hqml.expval(c, hqml.Z(0), weights={"w": neg}))
    assert got == [want, want]


def test_batch_sums_of_large_float32_batches_stay_accurate():
    c = _w1(n=2, layers=1)
    rng = np.random.default_rng(9)
    x = rng.uniform(-2, 2, (20000, 2))
    w = rng.uniform(-2, 2, (1, 2, 2))
    grads = {}
    for dt in (torch.float32, torch.float64):
        wt = torch.tensor(w, dtype=dt, requires_grad=True)
        for _ in range(2):  # the second call runs prepared
            wt.grad = None
            hqml.expval(
                c, hqml.Z(0), inputs={"x": torch.tensor(x, dtype=dt)}, weights={"w": wt}
            ).sum().backward()
        grads[dt] = wt.grad.double().numpy()
    scale = np.abs(grads[torch.float64]).max()
    assert np.abs(grads[torch.float32] - grads[torch.float64]).max() < 1e-5 * scale
