"""torch.func and torch.compile through the adjoint method: jacrev, grad, vmap against finite
differences and the batched call; jacfwd refused with the fix named; torch.compile of a hybrid
model with the quantum call as one quiet graph break."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch

import hqml


def _layer(n: int) -> hqml.nn.QuantumLayer:
    c = hqml.Circuit(n)
    x = c.input("x", n)
    w = c.weight("w", (2, n))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(2):
        for i in range(n):
            c.rz(w[layer, i] * 0.5 + x[i], i)
            c.rx(w[layer, i], i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    obs = [hqml.Z(0), hqml.X(1) @ hqml.Z(n - 1)]
    torch.manual_seed(n)
    return hqml.nn.QuantumLayer(c, obs, diff_method="adjoint").double()


def _fd_jacobian(f, w: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``d f(w) / d w`` by central differences: shape ``f(w).shape + w.shape``."""
    cols = []
    for k in range(w.numel()):
        d = torch.zeros(w.numel(), dtype=w.dtype)
        d[k] = eps
        d = d.reshape(w.shape)
        cols.append((f(w + d) - f(w - d)) / (2 * eps))
    return torch.stack(cols, dim=-1).reshape(f(w).shape + w.shape)


@pytest.mark.parametrize("n", [3, 7])  # the interpreter; the layer kernels (dense X observable)
def test_jacrev_and_per_sample_grads_match_finite_differences(n):
    layer = _layer(n)
    params = {k: v.detach() for k, v in layer.named_parameters()}
    x = torch.rand(4, n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def f(p, xb):
        return torch.func.functional_call(layer, p, (xb,))

    ref = _fd_jacobian(lambda w: f({"w": w}, x), params["w"])  # (4, 2, 2, n)
    jac = torch.func.jacrev(f)(params, x)["w"]
    torch.testing.assert_close(jac, ref, rtol=0, atol=1e-7)

    def loss(p, xi):
        return (f(p, xi[None]) * torch.tensor([1.0, -0.5], dtype=torch.float64)).sum()

    per_sample = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0))(params, x)["w"]
    want = (ref * torch.tensor([1.0, -0.5], dtype=torch.float64)[None, :, None, None]).sum(1)
    torch.testing.assert_close(per_sample, want, rtol=0, atol=1e-7)
    # jacrev with respect to the inputs
    jac_x = torch.func.jacrev(f, argnums=1)(params, x)
    ref_x = _fd_jacobian(lambda xb: f(params, xb), x)
    torch.testing.assert_close(jac_x, ref_x, rtol=0, atol=1e-7)


def test_vmap_equals_the_batched_call_and_caches_stay_plain():
    layer = _layer(3)
    params = {k: v.detach() for k, v in layer.named_parameters()}
    x = torch.rand(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    rows = torch.func.vmap(lambda xi: torch.func.functional_call(layer, params, (xi[None],))[0])(x)
    torch.testing.assert_close(rows, layer(x).detach(), rtol=0, atol=1e-12)
    # the first calls above ran inside transforms: later plain calls still differentiate
    out = layer(x).sum()
    out.backward()
    assert layer.w.grad is not None and torch.isfinite(layer.w.grad).all()


# torch's forward-mode machinery itself warns about torch.jit.script on first use
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_jacfwd_is_refused_naming_jacrev():
    layer = _layer(3)
    params = {k: v.detach() for k, v in layer.named_parameters()}
    x = torch.rand(2, 3, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="use torch.func.jacrev"):
        torch.func.jacfwd(lambda p: torch.func.functional_call(layer, p, (x,)))(params)


def test_torch_compile_of_a_hybrid_model_is_quiet_and_equal(caplog):
    n = 3
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, n), _layer(n).float(), torch.nn.Linear(2, 1))
    x = torch.rand(8, 4, generator=torch.Generator().manual_seed(3))
    ref = model(x)
    ref.sum().backward()
    ref_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = torch.compile(model)(x)
        out.sum().backward()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    for p, g in zip(model.parameters(), ref_grads, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-5, atol=1e-6)
    noisy = [r.getMessage() for r in caplog.records if r.name.startswith("torch")]
    noisy += [str(w.message) for w in caught if "hqml" in str(w.filename)]
    assert not noisy, noisy[:3]
