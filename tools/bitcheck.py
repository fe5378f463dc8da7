"""Values and gradients of random circuits on every engine, saved for a bit-for-bit comparison
between two trees: ``python tools/bitcheck.py save OUT.pt`` in one, ``... compare OUT.pt`` in
the other (prints the cases that differ)."""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

import hqml


def _circuit(rng: np.random.Generator, n: int, layers: int) -> hqml.Circuit:
    c = hqml.Circuit(n)
    x = c.input("x", n)
    w = c.weight("w", (layers, n, 2))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(layers):
        for i in range(n):
            c.rz(w[layer, i, 0] * 0.5 + x[i], i)
            c.rx(w[layer, i, 1], i)
        for i in range(n - 1):
            [c.cnot, c.cz, c.swap][int(rng.integers(3))](i, i + 1)
        c.crx(w[layer, 0, 0], 0, n - 1)
        c.u(w[layer, 1, 0], 0.3, w[layer, 1, 1], 1)
    return c


def cases():
    for n in (2, 4, 6, 8, 11, 13, 14):
        for batch in (1, 5):
            for obs_kind in ("z", "mixed"):
                for method in ("adjoint", "backprop", "best"):
                    for fast in ("1", "0"):
                        yield n, batch, obs_kind, method, fast


def run_case(n, batch, obs_kind, method, fast):
    os.environ["HQML_FASTCALL"] = fast
    rng = np.random.default_rng(n * 100 + batch)
    c = _circuit(rng, n, 2)
    x = torch.tensor(rng.uniform(-2, 2, (batch, n)), dtype=torch.float64)
    w = torch.tensor(rng.uniform(-2, 2, (2, n, 2)), dtype=torch.float64, requires_grad=True)
    if obs_kind == "z":
        obs = [hqml.Z(0), hqml.Z(1) @ hqml.Z(n - 1)]
    else:
        obs = [hqml.X(0) + 0.5 * hqml.Z(0) @ hqml.Y(n - 1), hqml.Z(0)]
    out = []
    for dtype in (torch.complex64, torch.complex128):
        for _ in range(2):  # the second call takes prepared calls
            w.grad = None
            v = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, diff_method=method,
                            dtype=dtype)  # fmt: skip
            (v * torch.tensor([1.0, -0.7], dtype=v.dtype)).sum().backward()
            out += [v.detach().clone(), w.grad.clone()]
    p = hqml.probs(c, wires=[0, n - 1], inputs={"x": x}, weights={"w": w.detach()})
    s = hqml.state(c, inputs={"x": x}, weights={"w": w.detach()})
    return out + [p, s]


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    results = {key: run_case(*key) for key in cases()}
    if mode == "save":
        torch.save(results, path)
        return
    ref = torch.load(path)
    bad = [k for k in results if any(not torch.equal(a, b) for a, b in zip(results[k], ref[k]))]
    print(f"{len(results)} cases, {len(bad)} differ")
    for k in bad:
        print("  differs:", k)


if __name__ == "__main__":
    main()
