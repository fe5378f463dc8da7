"""Shared test helpers: random circuits over every gate kind."""

import numpy as np

from hqml import Circuit
from hqml.circuit.gates import controlled, get_gate

ONE_Q_FIXED = ["h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg", "id"]
ONE_Q_PARAM = ["rx", "ry", "rz", "p"]
TWO_Q_FIXED = ["cx", "cy", "cz", "ch", "swap", "iswap", "csx"]
TWO_Q_PARAM = ["crx", "cry", "crz", "cp", "rxx", "ryy", "rzz"]
THREE_Q = ["ccx", "cswap"]


def random_unitary(rng: np.random.Generator, d: int) -> np.ndarray:
    z = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def random_circuit(
    rng: np.random.Generator,
    n: int,
    n_ops: int,
    n_inputs: int = 3,
    n_weights: int = 4,
    kinds: str = "all",
) -> Circuit:
    """A random circuit over every gate kind; parameters mix inputs, weights and expressions."""
    import hqml

    c = Circuit(n)
    x = c.input("x", n_inputs) if n_inputs else None
    w = c.weight("w", n_weights) if n_weights else None

    def param():
        r = rng.integers(0, 6)
        xi = x[int(rng.integers(n_inputs))] if x is not None else 0.3
        wi = w[int(rng.integers(n_weights))] if w is not None else -0.7
        if r == 0:
            return float(rng.uniform(-np.pi, np.pi))
        if r == 1:
            return xi
        if r == 2:
            return wi
        if r == 3:
            return wi * 0.5 + xi
        if r == 4:
            return hqml.sin(xi) * 2 - wi / 3
        return hqml.arctan(wi) + hqml.cos(xi) ** 2

    for _ in range(n_ops):
        choices = ["1f", "1p", "u"]
        if n >= 2:
            choices += ["2f", "2p", "unitary1", "unitary2", "ctrl"]
        if n >= 3:
            choices += ["3"]
        kind = rng.choice(choices)
        wires = [int(v) for v in rng.permutation(n)]
        if kind == "1f":
            c.append(rng.choice(ONE_Q_FIXED), wires[:1])
        elif kind == "1p":
            c.append(rng.choice(ONE_Q_PARAM), wires[:1], [param()])
        elif kind == "u":
            c.u(param(), param(), param(), wires[0])
        elif kind == "2f":
            c.append(rng.choice(TWO_Q_FIXED), wires[:2])
        elif kind == "2p":
            c.append(rng.choice(TWO_Q_PARAM), wires[:2], [param()])
        elif kind == "unitary1":
            c.unitary(random_unitary(rng, 2), wires[:1])
        elif kind == "unitary2":
            c.unitary(random_unitary(rng, 4), wires[:2])
        elif kind == "ctrl":
            bases = ["rx", "u", "h"] + (["ryy"] if n >= 3 else [])
            base = get_gate(rng.choice(bases))
            nc = 1 if base.num_wires + 1 >= n else int(rng.integers(1, 3))
            wires_needed = nc + base.num_wires
            c.append(
                controlled(base, nc),
                wires[:wires_needed],
                [param() for _ in range(base.num_params)],
            )
        else:
            c.append(rng.choice(THREE_Q), wires[:3])
    return c


def w1_circuit(n: int, layers: int) -> Circuit:
    """The W1 ansatz: RY(x_i) encoding, then ``layers`` of [RY, RZ on every qubit; CNOT ring]."""
    c = Circuit(n)
    xs, ws = c.input("x", n), c.weight("w", (layers, n, 2))
    for i in range(n):
        c.ry(xs[i], i)
    for layer in range(layers):
        for i in range(n):
            c.ry(ws[layer, i, 0], i).rz(ws[layer, i, 1], i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    return c


def check_w1_gradient(batch: int, seed: int, n: int = 4, layers: int = 3) -> Circuit:
    """The W1 model (RY encoding, then [RY RZ; CNOT ring] layers, loss mean sum <Z_i>^2): its
    weight gradient in complex64 and complex128 against central differences (complex128).
    Returns the circuit."""
    import torch

    import hqml

    rng = np.random.default_rng(seed)
    c = w1_circuit(n, layers)
    obs = [hqml.Z(i) for i in range(n)]
    x = torch.tensor(rng.uniform(0, np.pi, (batch, n)))
    w0 = rng.uniform(0, 2 * np.pi, (layers, n, 2))

    def loss(w, dtype=torch.complex128):
        e = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, dtype=dtype)
        return (e**2).sum(dim=1).mean()

    h = 1e-6
    numeric = np.zeros_like(w0)
    for idx in np.ndindex(w0.shape):
        wp, wm = w0.copy(), w0.copy()
        wp[idx] += h
        wm[idx] -= h
        numeric[idx] = (float(loss(torch.tensor(wp))) - float(loss(torch.tensor(wm)))) / (2 * h)
    for dtype, tol in ((torch.complex128, 1e-7), (torch.complex64, 1e-4)):
        real = torch.float64 if dtype == torch.complex128 else torch.float32
        w = torch.tensor(w0, dtype=real, requires_grad=True)
        loss(w, dtype).backward()
        assert w.grad.dtype == real
        np.testing.assert_allclose(w.grad.double().numpy(), numeric, atol=tol)
    return c


def np_apply(state, n, wire, m):
    """``m`` (2,2) or (B,2,2) on ``wire`` of ``state`` (B, 2**n), by moving the axis."""
    b = state.shape[0]
    t = np.moveaxis(state.reshape((b,) + (2,) * n), 1 + wire, -1)
    shape = t.shape
    t = t.reshape(b, -1, 2) @ np.swapaxes(np.broadcast_to(m, (b, 2, 2)), -1, -2)
    return np.moveaxis(t.reshape(shape), -1, 1 + wire).reshape(b, -1)


def np_layer(state, n, wires, factors):
    """2x2 ``factors`` (w,2,2) or (B,w,2,2) on ``wires`` of torch ``state`` (B, 2**n), in NumPy."""
    f = factors.numpy()
    out = np.broadcast_to(
        state.numpy(), (max(state.shape[0], f.shape[0] if f.ndim == 4 else 1),) + state.shape[1:]
    )
    for i, q in enumerate(wires):
        out = np_apply(out, n, q, f[..., i, :, :])
    return out


def unitaries(rng, shape, dtype):
    """Random 2x2 unitaries of ``shape`` (QR of Gaussian matrices, phases fixed), as torch."""
    import torch

    z = rng.normal(size=shape + (2, 2)) + 1j * rng.normal(size=shape + (2, 2))
    q, r = np.linalg.qr(z)
    d = np.diagonal(r, axis1=-2, axis2=-1)
    return torch.tensor(q * (d / np.abs(d))[..., None, :], dtype=dtype)


def np_contract(lam, psi, n, wire):
    """``sum lam[.., i, ..] conj(psi[.., j, ..])`` over the other bits, per sample: (B, 2, 2)."""
    b = psi.shape[0]
    lt = np.moveaxis(lam.reshape((b,) + (2,) * n), 1 + wire, 1).reshape(b, 2, -1)
    pt = np.moveaxis(psi.reshape((b,) + (2,) * n), 1 + wire, 1).reshape(b, 2, -1)
    return lt @ pt.conj().transpose(0, 2, 1)


def w2_circuit(n: int, layers: int = 3):
    """The W2 workload's shape: RX on every wire (fixed angles), then a CNOT chain."""
    c = Circuit(n)
    for layer in range(layers):
        for q in range(n):
            c.rx(0.1 + 0.37 * q - 0.2 * layer, q)
        for q in range(n - 1):
            c.cnot(q, q + 1)
    return c
