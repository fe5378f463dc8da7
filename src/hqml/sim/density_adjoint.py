"""Running fused density-matrix blocks, with a memory-lean adjoint gradient.

:func:`evolve` applies :class:`~hqml.sim.density_fused.Block` superoperators to ``|0><0|`` and
returns ``readout(rho)`` for the final density matrices. Its gradient is not autograd through
every step: the backward pass sweeps the cotangent back through the blocks (the adjoint channel
``S^dagger`` in the Heisenberg picture), and the gradient of each block's matrix is the outer
product of the cotangent after it with the state before it, summed over the other slots. The
states before blocks are checkpointed: all of them when they fit :data:`STATE_BUDGET`, else one
every ``ceil(sqrt(G))`` blocks, recomputing each segment once. Batch rows run in chunks within
that budget and within :data:`CACHE_BYTES` (so a block's pass over a chunk stays in cache), so
a batch's memory is that of a chunk; the backward pass runs the chunks last to first, the last
one from the states the forward pass kept. Autograd carries the matrices' gradients on to the
gate parameters they were built from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .density_fused import PAULI_CODE, Block, pauli_to_density, pauli_transfer, pauli_zero, slots

STATE_BUDGET = 2**30  # bytes of stored density matrices per chunk (checkpoints and segment)
# rows per chunk: at most this many bytes of density matrices (at least one row). A block's pass
# over a chunk that stays in cache is bandwidth-cheap; one of 16 rows at 10 qubits (64 MiB) went
# to memory on every block and cost 144x one row, against 18x in one-row chunks (W6, session 11)
CACHE_BYTES = 2**20

Readout = Callable[[torch.Tensor], torch.Tensor]
PauliWord = Sequence[tuple[int, str]]


@dataclass
class _Plan:
    n: int
    slots: list[list[int]]
    readout: Callable[[_State], torch.Tensor]
    rows: int  # output rows (1 when no block is batched)
    chunk: int  # rows per chunk
    stride: int  # blocks per checkpoint segment


def _plan(n: int, blocks: Sequence[Block], readout: Readout, dtype: torch.dtype) -> _Plan:
    rows = max((b.matrix.shape[0] for b in blocks if b.matrix.dim() == 3), default=1)
    g = max(1, len(blocks))
    row_bytes = 4**n * torch.empty(0, dtype=dtype).element_size()
    sqrt_g = math.isqrt(g - 1) + 1
    fit = min(STATE_BUDGET // (row_bytes * (2 * sqrt_g + 2)), CACHE_BYTES // row_bytes)
    chunk = max(1, min(rows, fit))
    stride = g if g * chunk * row_bytes <= STATE_BUDGET else sqrt_g
    return _Plan(n, [slots(b.wires) for b in blocks], readout, rows, chunk, stride)


def evolve(
    n: int,
    blocks: Sequence[Block],
    readout: Readout | Sequence[PauliWord],
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """``readout(rho)`` for ``rho`` the blocks applied to ``|0><0|`` (``(B or 1, 2**n, 2**n)``,
    rows chunked), or, when ``readout`` is a list of Pauli words, their real expectation values
    ``(B or 1, T)`` (read off the Pauli coefficients, no density matrix is formed).
    Differentiable with respect to the block matrices by the adjoint sweep. The blocks run as
    real Pauli transfer matrices (:func:`~hqml.sim.density_fused.pauli_transfer`)."""
    real = [pauli_transfer(b) for b in blocks]
    rdt = torch.empty(0, dtype=dtype).real.dtype
    if callable(readout):
        fn = readout

        def read(st: _State) -> torch.Tensor:
            return fn(pauli_to_density(st.canonical(), n))
    else:
        words = list(readout)

        def read(st: _State) -> torch.Tensor:
            return _word_values(st, words)

    plan = _plan(n, real, read, rdt)
    return _Evolve.apply(plan, pauli_zero(n, rdt, device), *[b.matrix for b in real])


def _word_values(st: _State, words: Sequence[PauliWord]) -> torch.Tensor:
    """``Tr(P rho)`` ``(b, T)``: the Pauli coefficient of each word, gathered in ``st``'s order."""
    m = len(st.order)
    weight = {s: 1 << (m - 1 - j) for j, s in enumerate(st.order)}
    idx = []
    for word in words:
        i = 0
        for w, p in word:
            code = PAULI_CODE[p]
            i += (code >> 1) * weight[2 * w] + (code & 1) * weight[2 * w + 1]
        idx.append(i)
    flat = st.x.reshape(st.x.shape[0], -1)
    return flat[:, torch.as_tensor(idx, dtype=torch.long, device=flat.device)]


def _rows(m: torch.Tensor, r0: int, r1: int) -> torch.Tensor:
    return m[r0:r1] if m.dim() == 3 else m


@dataclass
class _State:
    """Interleaved density matrices ``(b, 2, ..., 2)`` whose axis ``1 + j`` is slot ``order[j]``:
    a block moves its slots to the front (one copy, none when they are there already) and one
    matrix product acts on them; the axes are never moved back."""

    x: torch.Tensor
    order: tuple[int, ...]

    def to_order(self, order: tuple[int, ...]) -> _State:
        if order == self.order:
            return self
        perm = [0] + [1 + self.order.index(s) for s in order]
        return _State(self.x.permute(perm).contiguous(), order)

    def to_front(self, where: Sequence[int]) -> _State:
        k = len(where)
        if self.order[:k] == tuple(where):
            return self
        return self.to_order(tuple(where) + tuple(s for s in self.order if s not in where))

    def apply(self, m: torch.Tensor, where: Sequence[int]) -> _State:
        st = self.to_front(where)
        b, d = st.x.shape[0], m.shape[-1]
        y = _product(m, st.x.reshape(b, d, -1))
        return _State(y.reshape((y.shape[0],) + st.x.shape[1:]), st.order)

    def canonical(self) -> torch.Tensor:
        """``(b, 4**n)`` in slot order."""
        return self.to_order(tuple(range(len(self.order)))).x.reshape(self.x.shape[0], -1)


def _product(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``m @ x`` for ``m`` ``(d, d)`` or ``(B, d, d)`` and ``x`` ``(b, d, N)``, by ``mm``/``bmm``:
    ``torch.matmul`` of a matrix and a stack multiplies the transposed stack and copies the result
    back (a third of a block's time at 10 qubits)."""
    b, d, cols = x.shape
    if m.dim() == 2:
        return torch.mm(m, x[0]).unsqueeze(0) if b == 1 else torch.bmm(m.expand(b, d, d), x)
    rows = max(b, m.shape[0])
    return torch.bmm(m.expand(rows, d, d), x.expand(rows, d, cols))


def _start(zero: torch.Tensor, n: int) -> _State:
    return _State(zero.reshape((1,) + (2,) * (2 * n)), tuple(range(2 * n)))


def _forward(
    plan: _Plan, x: _State, mats: Sequence[torch.Tensor], r0: int, r1: int, keep: bool
) -> tuple[_State, dict[int, _State]]:
    """The final state of rows ``r0:r1`` and, with ``keep``, the states before each checkpoint
    block and before every block of the last segment."""
    tape: dict[int, _State] = {}
    g = len(mats)
    last_seg = ((g - 1) // plan.stride) * plan.stride
    for i, m in enumerate(mats):
        x = x.to_front(plan.slots[i])  # kept so: the backward pass needs it in this order
        if keep and (i % plan.stride == 0 or i >= last_seg):
            tape[i] = x
        x = x.apply(_rows(m, r0, r1), plan.slots[i])
    return x, tape


def _grad_matrix(
    sigma: _State, x: _State, where: list[int], batched: bool
) -> tuple[torch.Tensor, _State]:
    """``sum_rest sigma[a, rest] conj(x[c, rest])`` per row (summed over rows when unbatched),
    and ``sigma`` with ``where`` in front."""
    x = x.to_front(where)
    sigma = sigma.to_order(x.order)
    d = 2 ** len(where)
    gm = sigma.x.reshape(sigma.x.shape[0], d, -1)
    xm = x.x.reshape(x.x.shape[0], d, -1)
    if not batched and gm.shape[0] > 1 and xm.shape[0] == 1:
        gm = gm.sum(0, keepdim=True)
    out = gm @ xm.conj().transpose(1, 2)
    return (out if batched else out.sum(0)), sigma


def _backward_rows(
    plan: _Plan,
    mats: Sequence[torch.Tensor],
    need: Sequence[bool],
    grad_out: torch.Tensor,
    rows: tuple[int, int],
    cached: tuple[_State, dict[int, _State]] | None,
    zero: torch.Tensor,
) -> list[torch.Tensor | None]:
    """Gradients of the block matrices from rows ``r0:r1`` (batched ones: those rows only)."""
    (r0, r1), n, g = rows, plan.n, len(mats)
    if cached is None:
        cached = _forward(plan, _start(zero, n), mats, r0, r1, True)
    x, tape = cached
    with torch.enable_grad():
        leaf = x.x.detach().requires_grad_()
        out = plan.readout(_State(leaf, x.order))
        (gx,) = torch.autograd.grad(out, leaf, grad_out.to(out.dtype))
    sigma = _State(gx, x.order)
    del x, leaf, out, cached
    first = next((i for i, nd in enumerate(need) if nd), g)
    grads: list[torch.Tensor | None] = [None] * g
    for start in range(((g - 1) // plan.stride) * plan.stride, -1, -plan.stride):
        end = min(start + plan.stride, g)
        if end <= first:
            break
        for i in range(start, end - 1):
            if i + 1 not in tape:
                y = tape[i].apply(_rows(mats[i], r0, r1), plan.slots[i])
                tape[i + 1] = y.to_front(plan.slots[i + 1])
        for i in range(end - 1, max(start, first) - 1, -1):
            m, xin = _rows(mats[i], r0, r1), tape.pop(i)
            if need[i]:
                grads[i], sigma = _grad_matrix(sigma, xin, plan.slots[i], m.dim() == 3)
            if i > first:
                sigma = sigma.apply(m.conj().transpose(-1, -2), plan.slots[i])
                if xin.x.shape[0] == 1 and sigma.x.shape[0] > 1:
                    sigma = _State(sigma.x.sum(0, keepdim=True), sigma.order)
    return grads


class _Evolve(torch.autograd.Function):
    @staticmethod
    def forward(ctx, plan: _Plan, zero: torch.Tensor, *mats: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = any(m.requires_grad for m in mats)
        outs, ctx.cached = [], None
        for r0 in range(0, plan.rows, plan.chunk):
            r1 = min(plan.rows, r0 + plan.chunk)
            keep = grad and r1 == plan.rows  # the backward pass starts with the last chunk
            x, tape = _forward(plan, _start(zero, plan.n), mats, r0, r1, keep)
            outs.append(plan.readout(x))
            if keep:
                ctx.cached = (x, tape)
        ctx.plan = plan
        ctx.save_for_backward(zero, *mats)
        return outs[0] if len(outs) == 1 else torch.cat(outs)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple:  # type: ignore[override]
        plan: _Plan = ctx.plan
        zero, *mats = ctx.saved_tensors
        need = list(ctx.needs_input_grad[2:])
        grads: list[torch.Tensor | None] = [
            torch.zeros_like(m) if nd else None for m, nd in zip(mats, need, strict=True)
        ]
        cached, ctx.cached = ctx.cached, None
        for r0 in reversed(range(0, plan.rows, plan.chunk)):
            r1 = min(plan.rows, r0 + plan.chunk)
            part = _backward_rows(
                plan, mats, need, grad_out[r0:r1], (r0, r1), cached, zero
            )  # fmt: skip
            cached = None
            for i, gi in enumerate(part):
                if gi is None:
                    continue
                if mats[i].dim() == 3:
                    grads[i][r0:r1] += gi  # type: ignore[index]
                else:
                    grads[i] += gi  # type: ignore[operator]
        return (None, None, *grads)
