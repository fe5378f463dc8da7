"""NumPy building blocks of the NumPy engine (:mod:`.numpy_engine`): gate
matrices and their derivatives for batches of parameters, and Kronecker products of per-wire
factors with their reverse-mode derivative."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...circuit.gates import Gate

_NP = {torch.complex64: np.complex64, torch.complex128: np.complex128}
REAL_TORCH = {np.complex64: torch.float32, np.complex128: torch.float64}


def real_of(cdt: Any) -> Any:
    """The NumPy real type of complex type ``cdt``."""
    return np.float32 if cdt == np.complex64 else np.float64


def _gate_consts(gate: Gate, cdt: Any) -> dict[str, Any]:
    return gate.cached(("hqml.numpy_matrices", cdt), lambda: _build_consts(gate, cdt))


def _build_consts(gate: Gate, cdt: Any) -> dict[str, Any]:
    c: dict[str, Any] = {}
    if gate.fixed_matrix is not None:
        c["fixed"] = gate.fixed_matrix.astype(cdt)
    elif gate.generator is not None:
        g = gate.generator
        evals = np.linalg.eigvalsh(g)
        a = float(abs(evals[-1]))
        c["G"] = g.astype(cdt)
        if a > 0 and np.allclose(g @ g, a * a * np.eye(g.shape[0]), rtol=0, atol=1e-12):
            c["rot"] = (a, np.eye(g.shape[0], dtype=cdt), (-1j * g / a).astype(cdt))
        else:
            ev, vecs = np.linalg.eigh(g)
            c["eig"] = (ev, vecs.astype(cdt))
    return c


def gate_matrices(gate: Gate, params: np.ndarray, cdt: Any) -> np.ndarray:
    """``(..., d, d)`` matrices for ``params`` ``(..., p)``."""
    c = _gate_consts(gate, cdt)
    if "fixed" in c:
        return np.broadcast_to(c["fixed"], params.shape[:-1] + c["fixed"].shape)
    if "rot" in c:  # exp(-i theta G) with G^2 = a^2: cos(a theta) + sin(a theta) (-i G / a)
        a, eye, k = c["rot"]
        t = params[..., 0, None, None] * a
        return np.cos(t) * eye + np.sin(t) * k
    if "eig" in c:
        ev, vecs = c["eig"]
        ph = np.exp(-1j * params[..., 0, None] * ev).astype(cdt)
        return (vecs * ph[..., None, :]) @ vecs.conj().T
    out = gate.matrix(torch.from_numpy(np.ascontiguousarray(params)))
    return out.numpy().astype(cdt, copy=False)


def gate_derivatives(gate: Gate, params: np.ndarray, mats: np.ndarray, cdt: Any) -> np.ndarray:
    """``(..., p, d, d)``: ``dU/dtheta_k`` given the matrices ``mats`` at ``params``."""
    c = _gate_consts(gate, cdt)
    if "G" in c:
        return (-1j * (c["G"] @ mats)).astype(cdt, copy=False)[..., None, :, :]
    out = gate.derivatives(torch.from_numpy(np.ascontiguousarray(params)))
    return out.numpy().astype(cdt, copy=False)


def kron(factors: np.ndarray) -> np.ndarray:
    """``F_0 (x) F_1 (x) ...`` over axis ``-3`` of ``(..., m, r, c)`` (factor 0 most
    significant)."""
    out = factors[..., 0, :, :]
    r, c = factors.shape[-2:]
    for q in range(1, factors.shape[-3]):
        f = factors[..., q, :, :]
        out = (out[..., :, None, :, None] * f[..., None, :, None, :]).reshape(
            out.shape[:-2] + (out.shape[-2] * r, out.shape[-1] * c)
        )
    return out


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def kron_backward(cot: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Cotangents ``(..., m, r, c)`` of the factors of ``K = F_0 (x) F_1 (x) ...`` given the
    cotangent of ``K`` (``dL = Re sum conj(cot) dK``): contract ``cot`` with the conjugates of
    all factors but one, sharing the partial contractions between the ``m`` results."""
    m, r, c = factors.shape[-3:]
    if m == 1:
        return cot[..., None, :, :]
    lead = cot.shape[:-2]
    nl, rc = len(lead), r * c
    t = cot.reshape(lead + (r,) * m + (c,) * m)
    order = list(range(nl)) + [nl + x for k in range(m) for x in (k, m + k)]
    t = t.transpose(order).reshape(lead + (rc**m,))  # pair (row_k, col_k) per factor
    f = factors.conj().reshape(lead + (m, rc))
    right = [t]  # right[k]: pairs k.. contracted away, (lead, rc^(m-k)) ... built backwards
    for k in range(m - 1, 0, -1):
        right.append(np.matmul(right[-1].reshape(lead + (-1, rc)), f[..., k, :, None])[..., 0])
    right.reverse()  # right[q]: pairs q+1.. contracted, (lead, rc^(q+1))
    out = []
    left = None  # kron of f_0 .. f_{q-1}
    for q in range(m):
        rq = right[q]
        if left is None:
            out.append(rq)
        else:
            out.append(
                np.matmul(left[..., None, :], rq.reshape(lead + (left.shape[-1], rc)))[..., 0, :]
            )
        fq = f[..., q, :]
        left = fq if left is None else (left[..., :, None] * fq[..., None, :]).reshape(lead + (-1,))
    return np.stack(out, axis=-2).reshape(lead + (m, r, c))
