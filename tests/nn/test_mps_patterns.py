"""Every split pattern of ``hqml.nn`` runs on the MPS backend: with a bond that holds the state
exactly, outputs and the gradients of every parameter equal the statevector backend's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

import hqml
from hqml.backends import get_backend
from hqml.nn import (
    DressedQuantumLayer,
    PCAReduction,
    QuantumClassifier,
    QuantumFeatureModel,
    QuantumHead,
    QuantumKitchenSinks,
    QuantumLayer,
    Quanvolution2d,
)

N = 6


def _circuit() -> hqml.Circuit:
    c = hqml.Circuit(N)
    x, w = c.input("x", N), c.weight("w", (2, N))
    for i in range(N):
        c.ry(x[i], i)
    for layer in range(2):
        for i in range(N):
            c.rx(w[layer, i], i)
        for i in range(N):
            c.cnot(i, (i + 1) % N)  # (5, 0): a distant gate
        c.crz(w[layer, 0], 4, 1)
    return c


def _layer(backend) -> QuantumLayer:
    obs = [hqml.Z(0) @ hqml.Z(N - 1), hqml.X(2), hqml.Y(1) @ hqml.Z(3)]
    return QuantumLayer(_circuit(), obs, backend=backend, seed=3)


def _feature_model(backend) -> nn.Module:
    return QuantumFeatureModel(_layer(backend), nn.Linear(3 + N, 2), concat_inputs=True)


def _kitchen_sinks(backend) -> nn.Module:
    return QuantumKitchenSinks(8, n_qubits=N, n_episodes=2, seed=4, backend=backend)


def _head(backend) -> nn.Module:
    pca = PCAReduction(8, N).fit(torch.randn(20, 8, generator=torch.Generator().manual_seed(2)))
    return QuantumHead(pca, _layer(backend), n_outputs=2)


def _dressed(backend) -> nn.Module:
    return DressedQuantumLayer(8, 2, _layer(backend))


def _classifier(backend) -> nn.Module:
    return QuantumClassifier(_circuit(), 3, wires=[N - 1, 2], backend=backend, seed=3)


def _quanvolution(backend) -> nn.Module:
    return Quanvolution2d(1, 2, trainable=True, layers=2, backend=backend, seed=5)


PATTERNS: dict[str, tuple[Callable[..., nn.Module], tuple[int, ...]]] = {
    "feature_model": (_feature_model, (5, N)),
    "kitchen_sinks": (_kitchen_sinks, (5, 8)),
    "head": (_head, (5, 8)),
    "dressed": (_dressed, (5, 8)),
    "classifier": (_classifier, (5, N)),
    "quanvolution": (_quanvolution, (2, 1, 4, 4)),
}


@pytest.mark.parametrize("name", list(PATTERNS))
def test_split_patterns_on_mps_equal_the_statevector(name):
    make, shape = PATTERNS[name]
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(1)) * 3
    be = get_backend("mps", max_bond=2 ** (N // 2))
    results = []
    for backend in ("statevector", be):
        torch.manual_seed(0)  # the classical parts' initial weights
        model = make(backend)
        xg = x.clone().requires_grad_()  # kitchen sinks train nothing: the inputs' gradient
        out = model(xg)
        out.square().sum().backward()
        grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
        grads["input"] = xg.grad
        results.append((out.detach(), grads))
    (want, want_g), (got, got_g) = results
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)  # float32
    assert got_g.keys() == want_g.keys()
    for k in want_g:
        torch.testing.assert_close(got_g[k], want_g[k], atol=1e-5, rtol=1e-5)  # float32
    assert be.last_truncation is not None and be.last_truncation.exact


def test_a_layer_keeps_the_worst_truncation_of_its_calls():
    layer = QuantumLayer(_circuit(), [hqml.Z(0)], backend=get_backend("mps", max_bond=2), seed=3)
    assert layer.worst_truncation is None
    x = torch.rand(4, N, generator=torch.Generator().manual_seed(0)) * 3
    with torch.no_grad():  # values only (a gradient here would warn: it is truncated)
        outs = [layer(x[:1] * 0), layer(x), layer(x[:1] * 0)]  # zero angles: less entangled
    reports = [o.truncation for o in outs]
    worst_row = max(float(r.discarded.max()) for r in reports)
    assert worst_row > 0 and float(layer.worst_truncation.discarded.max()) == worst_row
    assert layer.worst_truncation.max_bond == max(r.max_bond for r in reports)
    sv = QuantumLayer(_circuit(), [hqml.Z(0)], seed=3)
    sv(x)
    assert sv.worst_truncation is None  # nothing truncates on the statevector
