"""A 100-qubit hybrid model trains through the MPS backend (a small bond) in seconds."""

from __future__ import annotations

import time

import torch

import hqml
from hqml.backends import get_backend


def _circuit(n: int, layers: int) -> hqml.Circuit:
    c = hqml.Circuit(n)
    x = c.input("x", n)
    w = c.weight("w", (layers, 2, n))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(layers):
        for i in range(n):
            c.ry(w[layer, 0, i], i).rz(w[layer, 1, i], i)
        for i in range(n - 1):
            c.cnot(i, i + 1)
    return c


def test_hundred_qubit_quantum_layer_trains_under_thirty_seconds():
    n, batch, epochs = 100, 16, 4
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4 * batch, n, generator=g) * torch.pi
    y = (x[:, :50].mean(1) > x[:, 50:].mean(1)).float()  # a long-range comparison
    be = get_backend("mps", max_bond=8)
    obs = [hqml.Z(i) for i in range(0, n, 3)]
    layer = hqml.nn.QuantumLayer(_circuit(n, 2), obs, backend=be, seed=1)
    torch.manual_seed(0)  # the Linear head's initial weights: not the order tests ran in
    model = torch.nn.Sequential(layer, torch.nn.Linear(len(obs), 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    start = time.perf_counter()
    for _ in range(epochs):
        total = 0.0
        for b in range(0, len(x), batch):
            out = model(x[b : b + batch])[:, 0]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(out, y[b : b + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        losses.append(total / 4)
    elapsed = time.perf_counter() - start
    assert elapsed < 30, f"{elapsed:.1f} s"
    assert losses[-1] < losses[0] - 0.02, losses
    assert layer.w.grad is not None and torch.isfinite(layer.w.grad).all()
    rep = be.last_truncation
    assert rep is not None and rep.max_bond <= 8
