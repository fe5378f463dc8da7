"""One step of a quantum trajectory on a :class:`~.mps.MPS`: each row draws one Kraus operator
of a channel, with its Born probability, and the state is renormalised.

A channel whose Kraus operators are ``K_k = sqrt(w_k) U_k`` (``U_k`` unitary: bit and phase
flips, depolarising channels of any size) draws ``k`` with probability ``w_k`` without looking
at the state and applies ``U_k``: canonical form is kept. Any other one-qubit channel (amplitude
and phase damping, thermal relaxation) moves the canonical centre to its site first, where the
branch probabilities ``||K_k A||^2 / ||A||^2`` are local.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .mps import MPS
from .mps_gates import apply_gate


def mixture_weights(kraus: Sequence[np.ndarray], atol: float = 1e-10) -> np.ndarray | None:
    """``w_k`` when every ``K_k^dagger K_k = w_k I`` (a mixture of unitaries), else ``None``."""
    ks = np.stack(kraus)
    d = ks.shape[-1]
    gram = np.einsum("kba,kbc->kac", ks.conj(), ks)
    w = np.real(np.einsum("kaa->k", gram)) / d
    return w if np.allclose(gram, w[:, None, None] * np.eye(d), atol=atol) else None


def _pick(cdf: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """Index of the branch each row's uniform number falls in (``cdf`` ``(R, K)``, float64)."""
    u = uniform.to(cdf.device)[:, None] * cdf[:, -1:]
    return (cdf <= u).sum(1).clamp_max(cdf.shape[1] - 1)


def apply_kraus(
    mps: MPS,
    kraus: torch.Tensor,
    wires: Sequence[int],
    uniform: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply one Kraus operator of ``kraus`` ``(K, d, d)`` per row on ``wires``, drawn by
    ``uniform`` ``(B,)`` (numbers in ``[0, 1)``): with ``weights`` ``(K,)`` (a mixture of
    unitaries, ``K_k = sqrt(w_k) U_k``) by those weights, else by the Born rule (one wire).
    Returns the branch drawn per row ``(B,)``.

    Raises:
        ValueError: a channel on several wires that is not a mixture of unitaries.
    """
    rows = mps.batch
    if weights is not None:
        cdf = torch.cumsum(weights.to(torch.float64), 0).expand(rows, -1)
        k = _pick(cdf, uniform).to(kraus.device)
        scale = weights.to(kraus.device)[k].rsqrt().to(kraus.real.dtype)
        apply_gate(mps, kraus[k] * scale[:, None, None].to(kraus.dtype), wires)
        return k
    if len(wires) != 1:
        raise ValueError(
            f"mps: a {len(wires)}-qubit channel that is not a mixture of unitaries has no local"
            " trajectory step; use backend='statevector' (trajectories) or 'density_matrix'"
        )
    w = wires[0]
    mps.canonicalize(w, w)  # site w is now the canonical centre: its norm is the state's
    a = mps.tensors[w]
    branches = torch.einsum("kst,bxty->kbxsy", kraus, a)
    norms = (branches.real.square() + branches.imag.square()).sum((2, 3, 4))  # (K, B)
    total = norms.sum(0)
    cdf = torch.cumsum(norms.detach().to(torch.float64).T, 1)
    k = _pick(cdf, uniform).to(a.device)
    idx = torch.arange(rows, device=a.device)
    scale = (total / norms[k, idx]).sqrt().to(a.dtype)
    mps.set(w, branches[k, idx] * scale[:, None, None, None], False, False)
    return k
