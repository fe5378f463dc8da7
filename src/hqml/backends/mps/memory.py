"""What an MPS simulation holds, priced from the bond dimensions it can reach, before anything
is built.

A statevector row holds ``2^n`` amplitudes; an MPS row holds its site tensors ``(Dl, 2, Dr)``,
whose bonds the circuit and ``max_bond`` bound. :func:`peak_bonds` follows the bonds a circuit
can reach with integers only (no tensors): a block of ``k`` sites split back gives the bond
``min(2 * left, 2^(k-1-j) * right, max_bond)`` at each of its cuts (:meth:`MPS.split`), a
distant gate applied as an MPO (``long_range="mpo"``) doubles the bonds of its span before they
are cut, and noise (Kraus operators applied like gates) is bounded by the chain's own limit
``min(max_bond, 2^i, 2^(n-i))``. :func:`row_elements` adds the working block of the largest
gate and what the measurement builds, so that

- :func:`rows_per_call` stacks many rows into one call of a shifted-copy gradient (the
  statevector's ``2^n`` rule gave one row per call past 25 qubits), and
- :func:`check_memory` refuses, in one line and before anything is allocated, a request whose
  rows do not fit in the memory the process can still get.
"""

from __future__ import annotations

import torch

from ...circuit.circuit import Circuit
from ...limits import available_memory, format_bytes
from ..base import MAX_STACKED_AMPLITUDES, Expval, Probs, Sample, State, Task
from .grad import backprop_bytes

# the merged block of a gate, its reshaped copy, and the SVD's U and V^H (each up to the block)
BLOCK_COPIES = 4
# under this many bytes a request is not worth asking the OS about
SMALL = 64 * 2**20


def chain_bonds(n: int, max_bond: int) -> list[int]:
    """``min(max_bond, 2^i, 2^(n-i))`` for ``i = 0..n``: the most any bond of ``n`` sites
    can hold (``[0]`` and ``[n]`` are the open ends, 1)."""
    return [min(max_bond, 2 ** min(i, n - i, 62)) for i in range(n + 1)]


def _track(circuit: Circuit, max_bond: int, mpo: list[bool]) -> tuple[list[int], int]:
    """The peak of each bond over the run, and the largest merged block (elements per row)."""
    n = circuit.n_qubits
    cap = chain_bonds(n, max_bond)
    now, peak = [1] * (n + 1), [1] * (n + 1)
    widest = 2

    def block(first: int, k: int) -> None:
        nonlocal widest
        dl, dr = now[first], now[first + k]
        widest = max(widest, dl * 2**k * dr)
        left = dl
        for j in range(k - 1):
            left = min(left * 2, 2 ** (k - 1 - j) * dr, max_bond)
            now[first + j + 1] = left
            peak[first + j + 1] = max(peak[first + j + 1], left)

    for op, by_mpo in zip(circuit.ops, mpo, strict=True):
        ws = sorted(op.wires)
        if len(ws) < 2:
            continue
        if by_mpo:  # every bond of the span doubles, then is cut back to max_bond
            for i in range(ws[0] + 1, ws[1] + 1):
                peak[i] = max(peak[i], 2 * now[i])
                now[i] = min(2 * now[i], cap[i])
            continue
        swaps = [i for j, w in enumerate(ws[1:], 1) for i in range(w - 1, ws[0] + j - 1, -1)]
        for i in swaps:
            block(i, 2)
        block(ws[0], len(ws))
        for i in reversed(swaps):
            block(i, 2)
    return peak, widest


def peak_bonds(
    circuit: Circuit, max_bond: int, mpo: list[bool] | None = None, noisy: bool = False
) -> tuple[list[int], int]:
    """Each bond's largest dimension over the simulation (``n + 1`` values, the open ends 1)
    and the largest merged block (elements per row). ``mpo[j]``: operation ``j`` goes as an
    MPO; ``noisy``: trajectories (Kraus operators between the gates): the chain's limit."""
    n = circuit.n_qubits
    if noisy:
        cap = chain_bonds(n, max_bond)
        k = max([len(op.wires) for op in circuit.ops] + [2])
        return cap, 2**k * max(cap) ** 2
    key = ("hqml.backends.mps", "peak-bonds", max_bond, None if mpo is None else tuple(mpo))
    return circuit.cached(key, lambda: _track(circuit, max_bond, mpo or [False] * len(circuit.ops)))


def _measure_elements(task: Task, bonds: list[int]) -> int:
    """Elements per row that the measurement builds (environments, marginals, samples)."""
    m, n = task.measurement, task.circuit.n_qubits
    widest = max(bonds)
    if isinstance(m, State):
        return 2 * 2**n
    if isinstance(m, Probs):
        return 2 ** (len(m.wires) + 1) * widest**2 + 2 * sum(b * b for b in bonds)
    if isinstance(m, Sample):
        return (task.shots or 1) * (4 * widest + n + 1) + sum(b * b for b in bonds)
    if isinstance(m, Expval) and task.shots is not None:  # rotated copies, then samples
        return (task.shots or 1) * (4 * widest + n + 1) + 3 * sum(b * b for b in bonds)
    return 2 * sum(b * b for b in bonds)  # left and right environments


def row_elements(
    task: Task, max_bond: int, mpo: list[bool] | None = None, measured: bool = True
) -> int:
    """Complex numbers one row of ``task`` holds at most: site tensors at their peak bonds, the
    working copies of the largest block, and (``measured``) the measurement's own tensors."""
    noisy = task.options.get("noise_model") is not None
    bonds, widest = peak_bonds(task.circuit, max_bond, mpo, noisy)
    sites = sum(2 * a * b for a, b in zip(bonds[:-1], bonds[1:], strict=True))
    return sites + BLOCK_COPIES * widest + (_measure_elements(task, bonds) if measured else 0)


def rows_per_call(
    task: Task, max_bond: int, mpo: list[bool] | None = None, trajectories: int = 1
) -> int:
    """Rows of ``task`` one call may stack: the statevector's budget of
    :data:`~hqml.backends.base.MAX_STACKED_AMPLITUDES` complex numbers, spent on MPS rows
    (``trajectories`` of them per row of a noisy task)."""
    trajectories = max(1, trajectories)
    return max(1, MAX_STACKED_AMPLITUDES // (row_elements(task, max_bond, mpo) * trajectories))


def check_memory(
    task: Task,
    dtype: torch.dtype,
    max_bond: int,
    mpo: list[bool] | None = None,
    trajectories: int = 1,
    backprop: bool = False,
    measured: bool = True,
    available: int | None = None,
) -> None:
    """Refuse, before simulating, rows that do not fit in the memory the process can get.

    ``trajectories``: rows simulated per row of the task (noise); ``backprop``: autograd keeps
    the tensors of every block operation (:func:`~.grad.backprop_bytes`); ``measured=False``:
    the final MPS only (overlaps, which contract in chunks of their own budget).

    Raises:
        MemoryError: one line naming the size, the memory available and the fix.
    """
    rows = task.theta.shape[0] * max(1, trajectories)
    per_row = row_elements(task, max_bond, mpo, measured) * dtype.itemsize
    need = rows * per_row
    if backprop:
        need += backprop_bytes(task.circuit, rows, dtype, max_bond)
    if need < SMALL:
        return
    free = available_memory(task.theta.device) if available is None else available
    if free is None or need <= free:
        return
    n = task.circuit.n_qubits
    grad = " with backprop's saved tensors" if backprop else ""
    raise MemoryError(
        f"mps: {rows} row(s) of a {n}-qubit MPS at max_bond={max_bond} need"
        f" {format_bytes(need)}{grad} ({format_bytes(per_row)} per row), but only"
        f" {format_bytes(free)} is available: lower max_bond, split the batch"
        + (", or use diff_method='adjoint'" if backprop else "")
    )
