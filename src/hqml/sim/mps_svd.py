"""A singular value decomposition whose gradient stays finite at degenerate singular values.

``torch.linalg.svd``'s backward divides by ``s_i^2 - s_j^2`` and by ``s_i``: a matrix product
state is full of equal (often zero) singular values, where that gradient is ``inf``/``nan``.
:func:`svd` uses the same formula with Lorentzian broadening, ``1/x -> x / (x^2 + eps)``
(Liao, Liu, Wang, Xiang, PRX 9, 031041 (2019)): exact where the spectrum is separated by more
than ``sqrt(eps)``, finite where it is not.
"""

from __future__ import annotations

from typing import Any

import torch


def _eps(dtype: torch.dtype) -> float:
    return 1e-12 if dtype in (torch.float32, torch.complex64) else 1e-24


def _inv(x: torch.Tensor, eps: float) -> torch.Tensor:
    return x / (x * x + eps)


class _SVD(torch.autograd.Function):
    @staticmethod
    def forward(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        u, s, vh = torch.linalg.svd(a, full_matrices=False)
        return u, s, vh

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        u, s, vh = output
        ctx.save_for_backward(u, s, vh)
        ctx.shape = inputs[0].shape

    @staticmethod
    def backward(ctx: Any, gu: torch.Tensor, gs: torch.Tensor, gvh: torch.Tensor) -> torch.Tensor:
        u, s, vh = ctx.saved_tensors
        m, n = ctx.shape[-2], ctx.shape[-1]
        eps = _eps(s.dtype)
        v = vh.mH
        gu = torch.zeros_like(u) if gu is None else gu
        gv = torch.zeros_like(v) if gvh is None else gvh.mH
        uhgu = u.mH @ gu
        vhgv = v.mH @ gv
        uhgu = uhgu - uhgu.mH  # skew-Hermitian parts
        vhgv = vhgv - vhgv.mH
        s2 = s * s
        e = s2.unsqueeze(-2) - s2.unsqueeze(-1)  # e[i, j] = s_j^2 - s_i^2
        f = _inv(e, eps)
        f.diagonal(0, -2, -1).zero_()
        inner = (uhgu * s.unsqueeze(-2) + s.unsqueeze(-1) * vhgv) * f
        if gs is not None:
            inner = inner + torch.diag_embed(gs.to(inner.dtype))
        sinv = _inv(s, eps)
        if u.is_complex():  # the phase gauge of each singular pair
            inner = inner + torch.diag_embed(uhgu.diagonal(0, -2, -1) * sinv / 2)
        ga = u @ inner @ vh
        if m > s.shape[-1]:
            gus = gu * sinv.unsqueeze(-2).to(gu.dtype)
            ga = ga + (gus - u @ (u.mH @ gus)) @ vh
        if n > s.shape[-1]:
            gvs = gv * sinv.unsqueeze(-2).to(gv.dtype)
            ga = ga + u @ (gvs - v @ (v.mH @ gvs)).mH
        return ga


def svd(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``u, s, vh`` of ``a`` (``(..., m, n)``, thin), differentiable at degenerate spectra."""
    return _SVD.apply(a)
