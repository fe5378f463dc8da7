"""A batched matrix product state: site tensors ``(B, Dl, 2, Dr)``, canonical-form flags, and
the record of every truncation.

Site ``i`` holds wire ``i`` (wire 0 first, the most significant bit of a basis index). Each site
knows whether it is a left isometry (``sum_{l,s} A* A = 1``) or a right one; a truncation at a
bond is optimal only with every site on its left a left isometry and every site on its right a
right isometry, and :meth:`MPS.canonicalize` makes them so before one (by SVD, whose gradient
is the broadened one of :mod:`.mps_svd`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from .mps_svd import svd


class TruncationError(RuntimeError):
    """A simulation discarded more weight than ``max_truncation`` allows."""


@dataclass
class Truncation:
    """What the truncations of one simulation discarded, per row of the batch.

    ``discarded`` is the summed discarded weight (sum of the squared singular values cut, each
    relative to the state's norm at that cut); ``fidelity`` the estimate ``prod(1 - w_k)`` of
    ``|<exact|mps>|^2``; ``count`` the number of cuts that discarded anything; ``max_bond`` the
    largest bond dimension reached; ``cuts`` the SVDs made; ``dropped`` the cuts that dropped
    singular values, of any weight (zero included: see :attr:`full_rank`).
    """

    discarded: torch.Tensor
    fidelity: torch.Tensor
    count: int = 0
    max_bond: int = 1
    cuts: int = 0
    dropped: int = 0

    @property
    def exact(self) -> bool:
        """Whether nothing was discarded (to rounding): the values are those of the circuit."""
        return float(self.discarded.max()) <= 1e-12 if self.discarded.numel() else True

    @property
    def full_rank(self) -> bool:
        """Whether no cut dropped any singular value. Only then are gradients those of the
        circuit: a singular value that is zero at these parameters carries no weight, but its
        direction can carry a derivative, and a cut that drops it loses that derivative."""
        return self.dropped == 0

    def summary(self) -> str:
        if self.exact:
            return f"MPS exact (max bond {self.max_bond}, nothing discarded)"
        return (
            f"MPS truncated {self.count} time(s): discarded weight up to"
            f" {float(self.discarded.max()):.3g}, fidelity estimate >="
            f" {float(self.fidelity.min()):.6f} (max bond {self.max_bond})"
        )


def worst(kept: Truncation | None, report: Truncation | None) -> Truncation | None:
    """Of two reports (either may be ``None``: nothing simulated by MPS), the one whose row
    discarded most (``kept`` on ties), with the larger ``max_bond`` and ``dropped`` of the two
    (a copy where those change; neither report is modified). What a run of many simulations
    (an optimisation, a Gram matrix in blocks, a training) reports."""
    if report is None or kept is None:
        return kept if report is None else report
    worse, other = kept, report
    if float(report.discarded.max()) > float(kept.discarded.max()):
        worse, other = report, kept
    if other.max_bond <= worse.max_bond and other.dropped <= worse.dropped:
        return worse
    return replace(
        worse,
        max_bond=max(worse.max_bond, other.max_bond),
        dropped=max(worse.dropped, other.dropped),
    )


@dataclass
class Options:
    max_bond: int = 64
    cutoff: float = 0.0
    max_truncation: float | None = None


@dataclass
class MPS:
    tensors: list[torch.Tensor]
    left_iso: list[bool]
    right_iso: list[bool]
    options: Options
    report: Truncation = field(init=False)

    def __post_init__(self) -> None:
        a = self.tensors[0]
        real = torch.empty(0, dtype=a.real.dtype).dtype
        self.report = Truncation(
            torch.zeros(a.shape[0], dtype=real, device=a.device),
            torch.ones(a.shape[0], dtype=real, device=a.device),
        )

    @classmethod
    def zeros(cls, n: int, batch: int, dtype: torch.dtype, device: object, options: Options) -> MPS:
        """``|0...0>`` for ``batch`` rows (every site is both a left and a right isometry)."""
        site = torch.zeros(batch, 1, 2, 1, dtype=dtype, device=device)
        site[:, 0, 0, 0] = 1
        return cls([site] * n, [True] * n, [True] * n, options)

    @property
    def n(self) -> int:
        return len(self.tensors)

    @property
    def batch(self) -> int:
        return self.tensors[0].shape[0]

    def bonds(self) -> list[int]:
        return [t.shape[3] for t in self.tensors[:-1]]

    def set(self, i: int, tensor: torch.Tensor, left: bool, right: bool) -> None:
        self.tensors[i] = tensor
        self.left_iso[i] = left
        self.right_iso[i] = right
        if i < self.n - 1 and tensor.shape[3] > self.report.max_bond:
            self.report.max_bond = tensor.shape[3]

    # --- canonical form -----------------------------------------------------------------------
    def canonicalize(self, first: int, last: int) -> None:
        """Make sites ``< first`` left isometries and sites ``> last`` right isometries."""
        start = next((i for i in range(first) if not self.left_iso[i]), first)
        for i in range(start, first):
            self.move_right(i)
        stop = next((i for i in range(self.n - 1, last, -1) if not self.right_iso[i]), last)
        for i in range(stop, last, -1):
            self.move_left(i)

    def move_right(self, i: int) -> None:
        a = self.tensors[i]
        b, dl, _, dr = a.shape
        u, s, vh = svd(a.reshape(b, dl * 2, dr))
        r = s.to(vh.dtype).unsqueeze(-1) * vh
        nxt = torch.einsum("bkr,brsz->bksz", r, self.tensors[i + 1])
        self.set(i, u.reshape(b, dl, 2, -1), True, False)
        self.set(i + 1, nxt, False, False)

    def move_left(self, i: int) -> None:
        a = self.tensors[i]
        b, dl, _, dr = a.shape
        u, s, vh = svd(a.reshape(b, dl, 2 * dr))
        lft = u * s.to(u.dtype).unsqueeze(-2)
        prev = torch.einsum("bxsl,blk->bxsk", self.tensors[i - 1], lft)
        self.set(i, vh.reshape(b, -1, 2, dr), False, True)
        self.set(i - 1, prev, False, False)

    # --- splitting a merged block -------------------------------------------------------------
    def needs_svd(self, dl: int, k: int, dr: int) -> bool:
        """Whether splitting a ``(Dl, 2**k, Dr)`` block would cut (or compress) a bond."""
        if self.options.cutoff > 0:
            return True
        left = dl
        for j in range(k - 1):
            left = min(left * 2, 2 ** (k - 1 - j) * dr)
            if left > self.options.max_bond:
                return True
        return False

    def split(
        self, first: int, block: torch.Tensor, k: int, use_svd: bool, leftward: bool = False
    ) -> None:
        """Write the block ``(B, Dl, 2**k, Dr)`` back as ``k`` sites from ``first`` on.

        ``leftward`` (two sites cut by SVD): leave the canonical centre on the left site, for a
        sweep that goes on to the left (a wire swapped towards lower sites)."""
        b, dl, _, dr = block.shape
        if leftward and use_svd and k == 2:
            mat = block.reshape(b, dl * 2, 2 * dr)
            if self.options.cutoff > 0 or min(mat.shape[1:]) > self.options.max_bond:
                u, s, vh = self.cut(mat, first)
                us = u * s.to(u.dtype).unsqueeze(-2)
                self.set(first, us.reshape(b, dl, 2, -1), False, False)
                self.set(first + 1, vh.reshape(b, -1, 2, dr), False, True)
                return
        rest = block.reshape(b, dl, 2**k * dr)
        for j in range(k - 1):
            m, ncols = rest.shape[1] * 2, rest.shape[2] // 2
            mat = rest.reshape(b, m, ncols)
            site = first + j
            if use_svd and (self.options.cutoff > 0 or min(m, ncols) > self.options.max_bond):
                left, sv, rest = self.cut(mat, site)
                rest = sv.to(rest.dtype).unsqueeze(-1) * rest
                self.set(site, left.reshape(b, m // 2, 2, -1), True, False)
            elif m <= ncols:  # the identity on the left keeps it a left isometry
                eye = torch.eye(m, dtype=block.dtype, device=block.device)
                self.set(site, eye.reshape(1, m // 2, 2, m).expand(b, -1, -1, -1), True, False)
                rest = mat
            else:
                self.set(site, mat.reshape(b, m // 2, 2, ncols), False, False)
                eye = torch.eye(ncols, dtype=block.dtype, device=block.device)
                rest = eye.unsqueeze(0).expand(b, -1, -1)
            rest = rest.reshape(b, rest.shape[1], -1)
        self.set(first + k - 1, rest.reshape(b, rest.shape[1], 2, dr), False, False)

    def cut(self, mat: torch.Tensor, site: int) -> tuple[torch.Tensor, ...]:
        """SVD at the bond right of ``site``: keep what ``max_bond``/``cutoff`` allow, record and
        check the discarded weight; returns ``U, S, V^H`` (``S`` renormalised)."""
        u, s, vh = svd(mat)
        opts = self.options
        w = s * s
        total = w.sum(-1, keepdim=True)
        keep = min(s.shape[-1], opts.max_bond)
        if opts.cutoff > 0:  # fewest values whose discarded tail stays under the cutoff, per row
            tail = torch.flip(torch.cumsum(torch.flip(w, [-1]), -1), [-1]) / total
            need = int((tail > opts.cutoff).sum(-1).max())
            keep = max(1, min(keep, need))
        self.report.cuts += 1
        if keep < s.shape[-1]:
            self.report.dropped += 1
            lost = (w[:, keep:].sum(-1) / total[:, 0]).detach()
            self._record(lost, site)
            s = s[:, :keep] * torch.sqrt(total / w[:, :keep].sum(-1, keepdim=True))
            u, vh = u[:, :, :keep], vh[:, :keep, :]
        return u, s, vh

    def _record(self, lost: torch.Tensor, site: int) -> None:
        rep = self.report
        lost = lost.clamp(min=0.0)
        # a cut counts when it lost more than rounding: a complex64 SVD gives zero singular
        # values at about eps = 1e-7 of the largest, weights near eps^2 = 1.4e-14 of the total
        if float(lost.max()) > max(1e-14, 100 * torch.finfo(lost.dtype).eps ** 2):
            rep.count += 1
        rep.discarded = rep.discarded + lost
        rep.fidelity = rep.fidelity * (1 - lost)
        limit = self.options.max_truncation
        if limit is not None and float(rep.discarded.max()) > limit:
            raise TruncationError(
                f"MPS truncation discarded weight {float(rep.discarded.max()):.3g} >"
                f" max_truncation={limit:g} (cut at bond {site}-{site + 1}, max_bond="
                f"{self.options.max_bond}): raise max_bond or max_truncation"
            )
