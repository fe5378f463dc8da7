"""Small registers on the CPU: whole-register matrices in NumPy, gradients by an adjoint sweep.

On a few qubits with a batch of samples, a hybrid training step costs what its tensor
operations cost to dispatch, not arithmetic: a 16 x 16 matrix product is a microsecond of work
and several microseconds of framework overhead. This engine therefore runs circuits of up to
``limits.numpy_max_qubits`` qubits as a short list of dense ``2^n x 2^n`` matrices (one per
planned layer, with its CNOT ladder folded in; one per other gate) in NumPy, keeping the number
of operations independent of the number of gates:

- every single-qubit gate of all layers of one signature is built in one vectorised call per
  gate kind, fused per wire, and Kronecker-multiplied once;
- the gradient is an adjoint sweep over the few layer matrices, with the matrix cotangents
  taken to the gate parameters in one pass per layer group: ``dL/dtheta_t = Re sum conj(Kbar)
  (F_0 x ... x dF_q/dtheta_t x ... x F_{n-1})``, the derivative Kronecker products built for all
  parameters at once.

Gradients use torch's convention for complex data (``dL = Re sum conj(grad) dz``). The torch
plan (:mod:`.torch_plan`) stays the reference and the engine for CUDA and backprop. The gate
matrices and Kronecker products live in :mod:`.numpy_matrices`, the program in
:mod:`.numpy_program`; :mod:`.choose` decides when this engine runs a task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..base import Task
from .dense_measure import Measure, cotangent_state, measure, measure_of
from .engine import exact_on_cpu
from .numpy_matrices import _NP, gate_derivatives, gate_matrices, kron, kron_backward, real_of
from .numpy_program import SmallProgram, _Gate, _Group, _Perm, program

# --------------------------------------------------------------------------------------------
# running


def _consts(g: _Group, cdt: Any) -> dict[str, Any]:
    c = g.__dict__.setdefault("_np", {}).get(cdt)
    if c is None:
        rdt = real_of(cdt)
        c = {"eye": np.eye(2, dtype=cdt)}
        if g.rot is not None:
            cols, a, k = g.rot
            c["a"], c["k"] = a.astype(rdt), k.astype(cdt)
            c["a_ps"] = c["a"][g.ps_flat, None, None]
            c["k_ps"] = c["k"][g.ps_flat]
        g._np[cdt] = c
    return c


def _group_forward(g: _Group, theta: np.ndarray, cdt: Any, n: int) -> tuple:
    """Layer matrices ``(B?, L, d, d)`` (first columns only for a ``first`` group) and what the
    gradient needs."""
    lead = (theta.shape[0],) if g.batched else ()
    rows = theta if g.batched else theta[0]
    c = _consts(g, cdt)
    shape = lead + (len(g.members), g.depth, n, 2, 2)
    if g.rot is not None:
        t = rows[..., g.rot[0]] * c["a"]
        cos, sin = np.cos(t), np.sin(t)
        mats = (cos[..., None, None] * c["eye"] + sin[..., None, None] * c["k"]).reshape(shape)
        extra: Any = (cos, sin)
    else:
        parts, params = [], []
        for s in g.sources:
            p = rows[..., s.cols]  # (B?, m, p)
            m = gate_matrices(s.gate, p, cdt)
            if m.shape[:-2] != lead + (len(s.pos),):
                m = np.broadcast_to(m, lead + (len(s.pos), 2, 2))
            parts.append(m)
            params.append(p)
        parts.append(np.broadcast_to(c["eye"], lead + (1, 2, 2)))
        mats = np.concatenate(parts, axis=-3)[..., g.table, :, :]  # (B?, L, D, n, 2, 2)
        extra = (parts, params)
    acc = mats[..., 0, :, :, :]
    prefix = [acc]  # prefix[j] = G_j ... G_0
    for j in range(1, g.depth):
        acc = mats[..., j, :, :, :] @ acc
        prefix.append(acc)
    factors = acc  # (B?, L, n, 2, 2)
    k = kron(factors[..., :1] if g.first else factors)  # (B?, L, d, d) or (B?, L, d, 1)
    if g.fold is not None:
        k = k[..., np.arange(len(g.members))[:, None], g.fold, :]
    return k, (mats, prefix, extra)


def _group_gradient(g: _Group, saved: tuple, cot: np.ndarray, grad: np.ndarray, cdt: Any) -> None:
    """``cot``: cotangents of the layer matrices ``(B?, L, d, d)``; writes ``grad`` columns."""
    mats, prefix, extra = saved
    if len(g.ps_col) == 0:
        return
    if g.unfold is not None:
        cot = cot[..., np.arange(len(g.members))[:, None], g.unfold, :]
    factors = prefix[-1]
    c = _consts(g, cdt)
    if g.rot is not None:  # d/dtheta (cos + sin K) = a (cos K - sin)
        cos, sin = extra
        cp, sp = cos[..., g.ps_flat, None, None], sin[..., g.ps_flat, None, None]
        dg = c["a_ps"] * (cp * c["k_ps"] - sp * c["eye"])
    else:
        parts, params = extra
        ders = []
        for s, m, p in zip(g.sources, parts, params, strict=False):
            if s.cols.shape[1]:
                der = gate_derivatives(s.gate, p, m, cdt)  # (B?, m, p, 2, 2)
                ders.extend(der[..., pi, :, :] for pi in range(s.cols.shape[1]))
        dg = np.concatenate(ders, axis=-3)
    if g.depth > 1:  # dF = (G_{D-1} .. G_{j+1}) dG_j (G_{j-1} .. G_0)
        suffix = [None] * g.depth
        acc = None
        for j in range(g.depth - 1, 0, -1):
            acc = mats[..., j, :, :, :] if acc is None else acc @ mats[..., j, :, :, :]
            suffix[j - 1] = acc
        eye = np.broadcast_to(c["eye"], factors.shape)
        pre = np.stack([eye] + prefix[:-1], axis=-4)  # (B?, L, D, n, 2, 2)
        suf = np.stack(suffix[:-1] + [eye], axis=-4)
        dg = suf[..., g.ps_l, g.ps_j, g.ps_q, :, :] @ dg @ pre[..., g.ps_l, g.ps_j, g.ps_q, :, :]
    cot_f = kron_backward(cot, factors[..., :1] if g.first else factors)  # (B?, L, n, 2, c)
    if g.first:
        dg = dg[..., :1]
    values = (cot_f[..., g.ps_l, g.ps_q, :, :].conj() * dg).real.sum(axis=(-1, -2))
    if g.batched:
        grad[:, g.ps_col] = values
    else:
        grad[0, g.ps_col] = values


def _gate_forward(gi: _Gate, theta: np.ndarray, cdt: Any, d: int) -> tuple:
    rows = theta if gi.batched else theta[0]
    p = rows[..., gi.cols]
    m = gate_matrices(gi.gate, p, cdt)
    full = np.zeros(m.shape[:-2] + (d, d), dtype=cdt)
    full[..., gi.rows, gi.cols_full] = m[..., :, :, None]
    return full, (p, m)


def _gate_gradient(gi: _Gate, saved: tuple, cot: np.ndarray, grad: np.ndarray, cdt: Any) -> None:
    p, m = saved
    if len(gi.cols) == 0:
        return
    reduced = cot[..., gi.rows, gi.cols_full].sum(axis=-1)  # (B?, a, b)
    der = gate_derivatives(gi.gate, p, m, cdt)  # (B?, p, a, b)
    values = (reduced[..., None, :, :].conj() * der).real.sum(axis=(-1, -2))
    if gi.batched:
        grad[:, gi.cols] = values
    else:
        grad[0, gi.cols] = values


def _apply(state: np.ndarray | None, mat: np.ndarray, d: int) -> np.ndarray:
    batched = mat.ndim == 3
    if state is None:  # acting on |0...0>: the first column
        return mat[..., :, 0] if batched else mat[None, :, 0]
    if batched:
        return np.matmul(mat, state[..., None])[..., 0]
    return state @ mat.T


def _apply_adjoint(lam: np.ndarray, mat: np.ndarray) -> np.ndarray:
    if mat.ndim == 3:
        return np.matmul(lam[:, None, :], mat.conj())[:, 0, :]
    return lam @ mat.conj()


def _outer(lam: np.ndarray, phi: np.ndarray | None, d: int, batched: bool) -> np.ndarray:
    """``2 sum_b lam_b phi_b^H`` (or per sample when ``batched``); ``phi=None`` is |0>."""
    if phi is None:
        out = np.zeros(lam.shape + (d,) if batched else (d, d), dtype=lam.dtype)
        out[..., 0] = 2 * lam if batched else 2 * lam.sum(axis=0)
        return out
    if batched:
        return 2 * lam[:, :, None] * phi.conj()[:, None, :]
    if phi.shape[0] == 1:
        return 2 * np.outer(lam.sum(axis=0), phi[0].conj())
    return 2 * lam.T @ phi.conj()


def _zero_state(d: int, cdt: Any) -> np.ndarray:
    state = np.zeros((1, d), dtype=cdt)
    state[0, 0] = 1
    return state


def run(prog: SmallProgram, theta: np.ndarray, cdt: Any, keep: bool = False) -> tuple:
    """The final state ``(B, d)`` and, with ``keep``, what :func:`gradient` needs."""
    d = 2**prog.n
    group_out = [_group_forward(g, theta, cdt, prog.n) for g in prog.groups]
    state: np.ndarray | None = None  # None: |0...0>, not built until a permutation needs it
    trace = []
    for item in prog.items:
        if isinstance(item, _Perm):
            state = (_zero_state(d, cdt) if state is None else state)[:, item.index]
            trace.append((item, None, None))
            continue
        if isinstance(item, tuple):
            _, gi, pos = item
            mat = group_out[gi][0][..., pos, :, :]
            trace.append((item, state, mat))
        else:
            mat, saved = _gate_forward(item, theta, cdt, d)
            trace.append((item, state, (mat, saved)))
        state = _apply(state, mat, d)
    if state is None:
        state = _zero_state(d, cdt)
    if state.shape[0] != theta.shape[0]:
        state = np.broadcast_to(state, (theta.shape[0], d))
    return state, ((group_out, trace) if keep else None)


def gradient(
    prog: SmallProgram,
    saved: tuple,
    lam: np.ndarray,
    theta_shape: tuple[int, int],
    needs: tuple[bool, ...] | None,
    cdt: Any,
) -> np.ndarray:
    """``dL/dtheta`` ``(B, P)`` for the cotangent state ``lam = dL/dpsi^*`` (without the 2)."""
    group_out, trace = saved
    d = 2**prog.n
    rdt = real_of(cdt)
    grad = np.zeros(theta_shape, dtype=rdt)

    def wanted(cols: Any) -> bool:
        return needs is None or any(needs[int(c)] for c in cols)

    # the last item whose parameters are wanted: the sweep stops there
    last = -1
    for i, (item, _, _) in enumerate(trace):
        if isinstance(item, tuple) and wanted(prog.groups[item[1]].columns):
            last = i
            break
        if isinstance(item, _Gate) and len(item.cols) and wanted(item.cols):
            last = i
            break
    if last < 0:
        return grad
    group_cots: dict[int, list] = {}
    for i in range(len(trace) - 1, last - 1, -1):
        item, phi, mat = trace[i]
        if isinstance(item, _Perm):
            lam = lam[:, item.inverse]
            continue
        if isinstance(item, tuple):
            g = prog.groups[item[1]]
            if wanted(g.columns):
                cots = group_cots.setdefault(item[1], [None] * len(g.members))
                if g.first:  # the cotangent's only nonzero column
                    cots[item[2]] = 2 * (lam[..., None] if g.batched else lam.sum(axis=0)[:, None])
                else:
                    cots[item[2]] = _outer(lam, phi, d, mat.ndim == 3)
        else:
            full, gsaved = mat
            if len(item.cols) and wanted(item.cols):
                _gate_gradient(item, gsaved, _outer(lam, phi, d, full.ndim == 3), grad, cdt)
            mat = full
        if i > last:
            lam = _apply_adjoint(lam, mat)
    for gi, cots in group_cots.items():
        g = prog.groups[gi]
        present = next(c for c in cots if c is not None)
        filled = [np.zeros_like(present) if c is None else c for c in cots]
        _group_gradient(g, group_out[gi][1], np.stack(filled, axis=-3), grad, cdt)
    return grad


@dataclass
class NumpyRecord:
    """What the NumPy engine's adjoint sweep reads."""

    engine: NumpyEngine
    task: Task
    prog: SmallProgram
    meas: Measure
    state: np.ndarray  # (B, 2**n) final states
    extra: Any  # what the measurement of a non-diagonal observable kept, else None
    trace: Any  # what :func:`run` kept for :func:`gradient`
    cdt: Any


class NumpyEngine:
    """Whole-register matrices in NumPy (the program of :mod:`.numpy_program`)."""

    name = "numpy"
    autograd = False

    def __repr__(self) -> str:
        return "<engine numpy>"

    def supports(self, task: Task) -> bool:
        return exact_on_cpu(task)

    def bind(self, task: Task) -> NumpyEngine:
        return self  # the program is looked up per call (cached on the circuit)

    def forward(self, task: Task, keep: bool) -> tuple[torch.Tensor, NumpyRecord | None]:
        theta = task.theta.detach()
        cdt = _NP[task.dtype]
        prog = program(task.circuit, task.varying, theta.shape[0] > 1)
        theta_np = theta.numpy().astype(real_of(cdt), copy=False)
        state, trace = run(prog, theta_np, cdt, keep)
        meas = measure_of(prog, task.measurement, cdt)
        out, extra = measure(meas, state)
        result = torch.from_numpy(np.ascontiguousarray(out))
        if not keep:
            return result, None
        return result, NumpyRecord(self, task, prog, meas, state, extra, trace, cdt)

    def backward(self, saved: NumpyRecord, cotangent: torch.Tensor) -> torch.Tensor:
        if saved.meas.state:
            raise ValueError("a state is differentiable by diff_method='backprop' only")
        state = saved.state
        cot = cotangent.detach().numpy()
        if cot.shape[0] != state.shape[0]:
            cot = np.broadcast_to(cot, (state.shape[0],) + cot.shape[1:])
        lam = cotangent_state(saved.meas, state, saved.extra,
                              cot.astype(state.real.dtype, copy=False))  # fmt: skip
        task = saved.task
        grad = gradient(saved.prog, saved.trace, lam, tuple(task.theta.shape), task.needs_grad,
                        saved.cdt)  # fmt: skip
        return torch.from_numpy(grad)


NUMPY = NumpyEngine()
