"""The MPS backend with a bond dimension that holds every state exactly: states, expectation
values, probabilities, samples and gradients against the dense reference (``hqml.testing``)
and the statevector backend, on random circuits over every gate kind (distant wires, three- and
four-qubit gates), both dtypes, batched and unbatched."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from helpers import random_circuit

import hqml
from hqml.backends import get_backend
from hqml.backends.mps import TruncatedGradientWarning
from hqml.testing import reference_state

DTYPES = [torch.complex64, torch.complex128]
TOL = {torch.complex64: 2e-5, torch.complex128: 1e-10}


def _case(n: int, seed: int, batch: int | None):
    rng = np.random.default_rng(seed)
    c = random_circuit(rng, n, 4 * n)
    x = rng.uniform(-2, 2, (batch, 3) if batch else 3)
    w = rng.uniform(-2, 2, 4)
    return c, x, w


def _exact(n: int, **kw):
    return get_backend("mps", max_bond=2 ** (n // 2), **kw)


def _observables(n: int) -> list:
    return [
        hqml.Z(0) @ hqml.Z(n - 1),  # long range
        0.5 * hqml.X(1) - 0.25 * hqml.Y(2) @ hqml.X(3),
        hqml.Y(0) @ hqml.Z(n // 2) @ hqml.X(n - 1) + 0.1,
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, batch", [(4, 3), (6, None), (8, 2)])
def test_state_expval_probs_equal_the_dense_reference(n, batch, dtype):
    c, x, w = _case(n, seed=10 * n, batch=batch)
    be = _exact(n)
    inputs = {"x": torch.tensor(x)}
    weights = {"w": torch.tensor(w)}
    rows = [x[b] for b in range(batch)] if batch else [x]
    ref = np.stack([reference_state(c, {"x": r}, {"w": w}) for r in rows])
    kw = dict(inputs=inputs, weights=weights, backend=be, dtype=dtype)
    psi = hqml.state(c, **kw).reshape(len(rows), -1)
    np.testing.assert_allclose(psi.numpy(), ref, atol=TOL[dtype] * 10)
    obs = _observables(n)
    want = np.array([[np.vdot(p, o.to_matrix(n) @ p).real for o in obs] for p in ref])
    got = hqml.expval(c, obs, **kw).reshape(len(rows), -1)
    np.testing.assert_allclose(got.numpy(), want, atol=TOL[dtype] * 10)
    wires = [n - 1, 0, 2]
    p = np.abs(ref.reshape(len(rows), *[2] * n)) ** 2
    keep = tuple(j + 1 for j in range(n) if j not in wires)
    marg = p.sum(axis=keep)  # axes in wire order (0, 2, n-1)
    marg = np.moveaxis(marg, [1, 2, 3], [2, 3, 1]).reshape(len(rows), 8)  # -> (n-1, 0, 2)
    got_p = hqml.probs(c, wires, **kw).reshape(len(rows), -1)
    np.testing.assert_allclose(got_p.numpy(), marg, atol=TOL[dtype] * 10)
    assert be.last_truncation.exact


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [10, 12])
def test_large_random_circuits_equal_the_statevector_backend(n, dtype):
    c, x, w = _case(n, seed=n, batch=2)
    kw = dict(inputs={"x": torch.tensor(x)}, weights={"w": torch.tensor(w)}, dtype=dtype)
    obs = _observables(n)
    np.testing.assert_allclose(
        hqml.expval(c, obs, backend=_exact(n), **kw).numpy(),
        hqml.expval(c, obs, **kw).numpy(),
        atol=TOL[dtype] * 10,
    )
    sv = hqml.state(c, **kw)
    mps = hqml.state(c, backend=_exact(n), **kw)
    assert (mps - sv).abs().max() < TOL[dtype] * 10
    wires = [n - 1, 3, 0, n // 2]
    np.testing.assert_allclose(
        hqml.probs(c, wires, backend=_exact(n), **kw).numpy(),
        hqml.probs(c, wires, **kw).numpy(),
        atol=TOL[dtype] * 10,
    )


@pytest.mark.parametrize("n, batch, dtype", [(6, 2, torch.complex64), (12, None, torch.complex128)])
def test_sample_distribution_within_four_standard_errors(n, batch, dtype):
    shots = 20000
    c, x, w = _case(n, seed=3, batch=batch)
    kw = dict(inputs={"x": torch.tensor(x)}, weights={"w": torch.tensor(w)})
    wires = [n - 2, 1, n - 1]
    rows = batch or 1
    p = hqml.probs(c, wires, **kw, dtype=torch.complex128).numpy().reshape(rows, 8)
    bits = hqml.sample(c, shots, wires, backend=_exact(n), seed=11, dtype=dtype, **kw)
    assert bits.shape == ((batch, shots, 3) if batch else (shots, 3))
    assert bits.dtype == torch.int64
    idx = (bits.reshape(rows, shots, 3) * torch.tensor([4, 2, 1])).sum(-1)
    freq = torch.nn.functional.one_hot(idx, 8).sum(1).numpy() / shots
    se = np.sqrt(p * (1 - p) / shots) + 1e-12
    assert (np.abs(freq - p) <= 4 * se + 1e-9).all()
    again = hqml.sample(c, shots, wires, backend=_exact(n), seed=11, dtype=dtype, **kw)
    assert torch.equal(bits, again)  # seeded


def test_expval_with_shots_estimates_within_four_standard_errors():
    n, shots = 5, 20000
    c, x, w = _case(n, seed=5, batch=None)
    kw = dict(inputs={"x": torch.tensor(x)}, weights={"w": torch.tensor(w)})
    obs = [hqml.X(0) @ hqml.Y(4), hqml.Z(1) @ hqml.Z(3), hqml.Y(2)]
    exact = hqml.expval(c, obs, dtype=torch.complex128, **kw).numpy()
    est = hqml.expval(c, obs, backend=_exact(n), shots=shots, seed=2, **kw).numpy()
    se = np.sqrt((1 - exact**2) / shots)
    assert (np.abs(est - exact) <= 4 * se + 1e-9).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [{}, {"cutoff": 1e-14}], ids=["exact-split", "svd-split"])
def test_gradients_equal_the_statevector_backend(dtype, options):
    n = 7
    c, x, w = _case(n, seed=7, batch=3)
    obs = _observables(n)
    rdt = torch.float32 if dtype == torch.complex64 else torch.float64
    cot = torch.tensor([[1.0, -0.5, 0.3], [0.3, 2.0, 1.0], [-1.0, 0.7, 0.2]], dtype=rdt)

    def grads(backend):
        xt = torch.tensor(x, dtype=rdt, requires_grad=True)
        wt = torch.tensor(w, dtype=rdt, requires_grad=True)
        v = hqml.expval(c, obs, inputs={"x": xt}, weights={"w": wt}, backend=backend,
                        dtype=dtype, diff_method="backprop")  # fmt: skip
        (v * cot).sum().backward()
        return xt.grad.numpy(), wt.grad.numpy()

    ref = grads("statevector")
    if options:  # cutoff > 0 drops zero singular values: said, though here nothing is lost
        with pytest.warns(TruncatedGradientWarning, match="zero weight"):
            got = grads(_exact(n, **options))
    else:
        got = grads(_exact(n, **options))
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, batch", [(4, None), (12, 2)])
def test_gradients_from_four_to_twelve_qubits_equal_the_statevector_backend(n, batch, dtype):
    c, x, w = _case(n, seed=100 + n, batch=batch)
    obs = _observables(n)
    rdt = torch.float32 if dtype == torch.complex64 else torch.float64
    g = torch.Generator().manual_seed(n)
    cot = torch.randn(*((batch,) if batch else ()), len(obs), generator=g, dtype=rdt)

    def grads(backend):
        xt = torch.tensor(x, dtype=rdt, requires_grad=True)
        wt = torch.tensor(w, dtype=rdt, requires_grad=True)
        v = hqml.expval(c, obs, inputs={"x": xt}, weights={"w": wt}, backend=backend,
                        dtype=dtype, diff_method="backprop")  # fmt: skip
        (v * cot).sum().backward()
        return v.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()

    ref = grads("statevector")
    got = grads(_exact(n))
    assert got[0].shape == ref[0].shape == cot.shape
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_unbatched_weights_only_circuit_returns_without_batch_dimension():
    c = hqml.Circuit(3)
    w = c.weight("w", 2)
    c.ry(w[0], 0).cnot(0, 2).rx(w[1], 1).ccx(2, 0, 1)
    wt = torch.tensor([0.4, -1.1], requires_grad=True)
    v = hqml.expval(c, [hqml.Z(0), hqml.Z(1)], weights={"w": wt}, backend="mps")
    ref = hqml.expval(c, [hqml.Z(0), hqml.Z(1)], weights={"w": wt})
    assert v.shape == (2,)
    torch.testing.assert_close(v, ref)
    assert v.truncation.exact and v.truncation.max_bond == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_values_gradients_and_samples_equal_the_cpu():
    n = 8
    c, x, w = _case(n, seed=21, batch=3)
    obs = _observables(n)
    out = {}
    for dev in ("cpu", "cuda"):
        xt = torch.tensor(x, device=dev)
        wt = torch.tensor(w, device=dev, requires_grad=True)
        kw = dict(inputs={"x": xt}, weights={"w": wt}, backend=_exact(n, cutoff=1e-14))
        with warnings.catch_warnings():  # the SVD path on both devices; the CPU's is the reference
            warnings.simplefilter("ignore", TruncatedGradientWarning)
            v = hqml.expval(c, obs, **kw)
            v.sum().backward()
        bits = hqml.sample(c, 64, [0, 5], seed=4, **kw)
        assert v.device.type == dev and bits.device.type == dev
        out[dev] = (v.detach().cpu(), wt.grad.cpu(), bits.cpu())
    torch.testing.assert_close(out["cuda"][0], out["cpu"][0])
    torch.testing.assert_close(out["cuda"][1], out["cpu"][1])
