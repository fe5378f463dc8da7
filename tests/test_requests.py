"""Requests: the first call's decisions kept for the calls that repeat it (hqml.request,
hqml.execute), and the compiled parameter programs that bind theta (hqml.circuit.params)."""

import numpy as np
import pytest
import torch

import hqml
from hqml import execute, request
from hqml.backends import registry
from hqml.backends.base import Backend, Capabilities, Expval
from hqml.backends.statevector import choose
from hqml.circuit.expr import Symbol
from hqml.circuit.params import bind_parameters
from hqml.execute import _REQUESTS


def _circuit(n: int, layers: int = 2) -> hqml.Circuit:
    c = hqml.Circuit(n)
    x = c.input("x", n)
    w = c.weight("w", (layers, n))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(layers):
        for i in range(n):
            c.rz(w[layer, i] * 0.5 + x[i], i)
            c.rx(hqml.sin(w[layer, i]) - 0.25 / (1.5 + w[layer, i] ** 2), i)
        for i in range(n - 1):
            c.cnot(i, i + 1)
    return c


def _step(c, obs, x, w, **kw):
    w = w.detach().clone().requires_grad_(True)
    v = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, **kw)
    (v * torch.linspace(0.5, 1.5, v.shape[-1], dtype=v.dtype)).sum().backward()
    return v.detach(), w.grad


@pytest.mark.parametrize(
    "n, batch", [(3, 4), (7, 1), (11, 1)]
)  # the interpreter, the torch plan, its native layers
@pytest.mark.parametrize("method", ["adjoint", "backprop", "parameter-shift"])
def test_a_repeated_request_decides_nothing_again_and_gives_the_same_bits(
    monkeypatch, n, batch, method
):
    c = _circuit(n, layers=1 if n > 7 else 2)
    rng = np.random.default_rng(n)
    x = torch.tensor(rng.uniform(-2, 2, (batch, n)))
    w = torch.tensor(rng.uniform(-2, 2, (1 if n > 7 else 2, n)))
    obs = [hqml.Z(0), hqml.Z(0) @ hqml.Z(n - 1) + 0.5 * hqml.X(1)]
    first = _step(c, obs, x, w, diff_method=method)
    (req,) = c.memo[_REQUESTS].values()
    assert req.method == method

    def refuse(*args, **kwargs):
        raise AssertionError("decided again")

    monkeypatch.setattr(registry, "get_backend", refuse)
    monkeypatch.setattr(request, "build", refuse)
    monkeypatch.setattr(execute, "build", refuse)
    if method != "parameter-shift":  # shifted rows are new tasks, run by backend.execute
        monkeypatch.setattr(choose, "choose_engine", refuse)
        monkeypatch.setattr(choose, "plan_engine", refuse)
    again = _step(c, obs, x, w, diff_method=method)
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a, b)
    if n > 7:
        return
    # and the values are the dense reference's
    ref = np.array(
        [
            [np.vdot(psi, o.to_matrix(n) @ psi).real for o in obs]
            for psi in (
                hqml.testing.reference_state(c, {"x": x[b].numpy()}, {"w": w.numpy()})
                for b in range(batch)
            )
        ]
    )
    np.testing.assert_allclose(again[0].numpy(), ref, atol=1e-9)


def test_what_changes_a_request_makes_a_new_one():
    c = _circuit(3)
    x, w = torch.rand(5, 3), torch.rand(2, 3)
    obs = 1.0 * hqml.Z(0)
    table = lambda: c.memo.get(_REQUESTS, {})  # noqa: E731

    def call(**kw):
        args = {"inputs": {"x": x}, "weights": {"w": w}, **kw}
        return hqml.expval(c, obs, **args)

    base = call()
    call()
    assert len(table()) == 1
    call(inputs={"x": x[:4]})  # a new batch size
    call(weights={"w": w.double()})  # a new dtype
    call(weights={"w": w.clone().requires_grad_()})  # a new requires_grad
    call(dtype=torch.complex128)
    call(diff_method="parameter-shift")
    assert len(table()) == 6
    obs.terms[((0, "Z"),)] = 2.0  # an observable edited in place: a new request, new values
    torch.testing.assert_close(call(), 2 * base)
    assert len(table()) == 7
    c.rx(0.3, 0)  # an edit of the circuit drops every request
    assert _REQUESTS not in c.memo
    assert not torch.allclose(call(), 2 * base)


def test_errors_come_on_every_call_and_nothing_is_kept_for_them():
    c = _circuit(2)
    w = torch.rand(2, 2)
    for _ in range(2):
        with pytest.raises(ValueError, match="expected"):
            hqml.expval(c, hqml.Z(0), inputs={"x": torch.rand(3)}, weights={"w": w})
        with pytest.raises(TypeError, match="PauliSum"):
            hqml.expval(c, [hqml.Z(0), "Z1"], inputs={"x": torch.rand(2)}, weights={"w": w})
        with pytest.raises(ValueError, match="outside"):
            hqml.expval(c, [hqml.Z(5)], inputs={"x": torch.rand(2)}, weights={"w": w})
    assert not c.memo.get(_REQUESTS)
    # values that are not tensors are bound on every call (no request kept), with one answer
    a = hqml.expval(c, hqml.Z(0), inputs={"x": [0.1, 0.2]}, weights={"w": w.tolist()})
    b = hqml.expval(c, hqml.Z(0), inputs={"x": torch.tensor([0.1, 0.2], dtype=torch.float64)},
                    weights={"w": w.double()})  # fmt: skip
    torch.testing.assert_close(a, b)


class _Counting(Backend):
    """A backend that runs through the statevector and counts how often it is asked."""

    name = "counting"

    def __init__(self, reusable: bool):
        self.inner = registry.get_backend("statevector")
        self.capabilities = Capabilities(reusable=reusable)
        self.executed = self.runners = 0

    def execute(self, tasks):
        self.executed += 1
        return self.inner.execute(tasks)

    def runner(self, task, method):
        self.runners += 1
        return super().runner(task, method)


@pytest.mark.parametrize("reusable", [True, False])
def test_a_backend_that_is_not_reusable_is_asked_on_every_call(reusable):
    c = _circuit(2)
    be = _Counting(reusable)
    for _ in range(3):
        v = hqml.expval(c, hqml.Z(1), inputs={"x": torch.rand(2)}, weights={"w": torch.rand(2, 2)},
                        backend=be)  # fmt: skip
        assert v.shape == ()
    assert be.executed == 3
    assert be.runners == (1 if reusable else 3)  # one runner per request, or per call
    assert bool(c.memo.get(_REQUESTS)) == reusable


def _random_expr(rng, syms, depth):
    if depth == 0 or rng.random() < 0.25:
        if rng.random() < 0.3:
            return float(np.round(rng.uniform(-3, 3), 3)) or 0.5
        return syms[int(rng.integers(len(syms)))]
    kind = int(rng.integers(7))
    a = _random_expr(rng, syms, depth - 1)
    b = _random_expr(rng, syms, depth - 1)
    if kind == 0:
        return a + b
    if kind == 1:
        return a - b
    if kind == 2:
        return a * b
    if kind == 3:
        return hqml.cos(a) if not isinstance(a, float) else a / 3.0
    if kind == 4:
        return -hqml.tanh(b) if not isinstance(b, float) else b
    if kind == 5:
        return (
            a / (2.0 + hqml.cos(b))
            if not isinstance(b, float)
            else 1.5 / (2.0 + hqml.sin(a) if not isinstance(a, float) else 3.0)
        )
    return hqml.exp(0.1 * a) ** 2 if not isinstance(a, float) else a


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_parameter_programs_equal_each_expression_evaluated_alone(dtype):
    """Every gate parameter, bit for bit, as Expr.evaluate gives it on the flat values; and the
    gradients as autograd through evaluate gives them."""
    rng = np.random.default_rng(11)
    c = hqml.Circuit(3)
    x, w = c.input("x", 3), c.weight("w", 4)
    syms = [x[0], x[1], x[2], w[0], w[1], w[2], w[3]]
    for k in range(60):
        e = _random_expr(rng, syms, 3)
        c.rz(e, k % 3)
        c.ry(w[k % 4] * 0.5 + x[k % 3], (k + 1) % 3)  # one shape, many columns
    xv = torch.tensor(rng.uniform(-1, 1, (5, 3)), dtype=dtype)
    wv = torch.tensor(rng.uniform(-1, 1, 4), dtype=dtype, requires_grad=True)
    b = bind_parameters(c, {"x": xv}, {"w": wv})
    flat = {("input", "x"): xv, ("weight", "w"): wv}

    def env(s: Symbol):
        t = flat[(s.kind, s.name)]
        return t[:, s.index[0]] if s.kind == "input" else t[s.index[0]].expand(5)

    cols = []
    for e in c.parameter_exprs():
        v = e.evaluate(env)
        cols.append(v if isinstance(v, torch.Tensor) else torch.full((5,), v, dtype=dtype))
    ref = torch.stack(cols, dim=1)
    assert b.theta.dtype == dtype
    assert torch.equal(b.theta, ref)
    cot = torch.tensor(rng.uniform(-1, 1, ref.shape), dtype=dtype)
    (g_ref,) = torch.autograd.grad((ref * cot).sum(), wv)
    (g,) = torch.autograd.grad((b.theta * cot).sum(), wv)
    torch.testing.assert_close(g, g_ref, rtol=4 * torch.finfo(dtype).eps, atol=0)


def test_a_repeated_request_under_torch_func_still_transforms():
    c = _circuit(3)
    x, w = torch.rand(3), torch.rand(2, 3, dtype=torch.float64)
    obs = [hqml.Z(0), hqml.Z(2)]

    def f(wv):
        return hqml.expval(c, obs, inputs={"x": x.double()}, weights={"w": wv},
                           diff_method="adjoint")  # fmt: skip

    f(w)  # a kept request; torch.func calls are not kept, and differentiate to theta
    jac = torch.func.jacrev(f)(w)
    h = 1e-6
    for k in range(w.numel()):
        d = torch.zeros_like(w).view(-1)
        d[k] = h
        fd = (f(w + d.view_as(w)) - f(w - d.view_as(w))) / (2 * h)
        torch.testing.assert_close(jac.reshape(2, -1)[:, k], fd, atol=1e-7, rtol=1e-6)
    assert isinstance(next(iter(c.memo[_REQUESTS].values())).task.measurement, Expval)


def test_a_kept_request_holds_no_tensor_of_its_calls():
    import gc
    import weakref

    c = _circuit(3)
    x = torch.rand(4, 3)
    w = torch.rand(2, 3, requires_grad=True)
    hqml.expval(c, hqml.Z(0), inputs={"x": x}, weights={"w": w}).sum().backward()
    refs = [weakref.ref(x), weakref.ref(w)]
    del x, w
    gc.collect()
    assert c.memo[_REQUESTS]  # the request is kept ...
    assert all(r() is None for r in refs)  # ... and the caller's tensors are not
