"""Exact minimisation of a BQM by vectorised enumeration of all ``2**n`` assignments.

The variables split into a *high* block (enumerated in chunks) and a *low* block of ``L`` bits
whose ``2**L`` assignments form a fixed 0/1 matrix. For a chunk of high assignments ``Xh`` the
energies of every completion are one matrix product:

    E = E_high(Xh)[:, None] + (Xh @ Q_hl) @ Xl.T + E_low(Xl)[None, :]

so the work is ``O(2**n * L)`` flops in NumPy with ``O(chunk * 2**L)`` memory. 2**24 assignments
take about a second on one core. A deadline is checked between chunks.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

MAX_VARIABLES = 30  # 2**30 evaluations is minutes; beyond that enumeration is not an option


class SolverTimeout(RuntimeError):
    """A solver ran past its deadline."""


def _bits(n_rows: int, width: int) -> np.ndarray:
    """All ``2**width`` rows of bits, most significant first (row index = integer value)."""
    idx = np.arange(n_rows, dtype=np.int64)
    return ((idx[:, None] >> np.arange(width - 1, -1, -1)) & 1).astype(np.float64)


def qubo_arrays(
    bqm: Any,
    variables: Sequence[Hashable] | None = None,
) -> tuple[np.ndarray, np.ndarray, float, list[Hashable]]:
    """``(linear, Q upper-triangular, offset, order)`` of the BINARY form of ``bqm``."""
    binary = bqm.binary if bqm.vartype.name == "SPIN" else bqm
    order = list(binary.variables) if variables is None else list(variables)
    index = {v: i for i, v in enumerate(order)}
    n = len(order)
    lin = np.zeros(n)
    quad = np.zeros((n, n))
    for v, b in binary.linear.items():
        lin[index[v]] = b
    for (u, v), b in binary.quadratic.items():
        i, j = sorted((index[u], index[v]))
        quad[i, j] += b
    return lin, quad, float(binary.offset), order


def exact_minimize(
    bqm: Any, deadline: float | None = None, low_bits: int = 16, chunk: int = 64
) -> tuple[dict, float]:
    """The lowest-energy assignment of ``bqm`` (first one in binary counting order on ties).

    Args:
        bqm: a ``dimod.BinaryQuadraticModel`` with at most :data:`MAX_VARIABLES` variables.
        deadline: ``time.perf_counter()`` value after which to stop with :class:`SolverTimeout`.
        low_bits: bits in the low block (memory ``chunk * 2**low_bits`` doubles).
        chunk: high assignments per matrix product.

    Returns:
        ``(sample, energy)`` with the sample in the BQM's own vartype.
    """
    n = len(bqm.variables)
    if n == 0:
        return {}, float(bqm.offset)
    if n > MAX_VARIABLES:
        raise ValueError(
            f"exact enumeration handles at most {MAX_VARIABLES} variables, the BQM"
            f" has {n}; use solver='sa' or 'tabu'"
        )
    lin, quad, offset, order = qubo_arrays(bqm)
    L = min(n, low_bits)
    H = n - L
    # variables 0..H-1 are the high block, H..n-1 the low block
    q_ll = quad[H:, H:]
    xl = _bits(2**L, L)
    e_low = xl @ lin[H:] + np.einsum("ki,ij,kj->k", xl, q_ll, xl)
    q_hl = quad[:H, H:]
    best_e, best_idx = np.inf, 0
    for start in range(0, 2**H, chunk):
        if deadline is not None and time.perf_counter() > deadline:
            raise SolverTimeout(
                f"exact enumeration stopped after {start} of {2**H} chunks of"
                f" 2**{L} assignments (deadline reached)"
            )
        stop = min(start + chunk, 2**H)
        idx = np.arange(start, stop, dtype=np.int64)
        xh = ((idx[:, None] >> np.arange(H - 1, -1, -1)) & 1).astype(np.float64)
        e_high = xh @ lin[:H] + np.einsum("ki,ij,kj->k", xh, quad[:H, :H], xh) + offset
        energies = (xh @ q_hl) @ xl.T
        energies += e_high[:, None]
        energies += e_low[None, :]
        k = int(np.argmin(energies))
        if energies.flat[k] < best_e:
            best_e, best_idx = float(energies.flat[k]), (start + k // 2**L) * 2**L + k % 2**L
    bits = [(best_idx >> (n - 1 - i)) & 1 for i in range(n)]
    spin = bqm.vartype.name == "SPIN"
    sample = {v: (2 * b - 1 if spin else b) for v, b in zip(order, bits, strict=False)}
    return sample, float(bqm.energy(sample))
