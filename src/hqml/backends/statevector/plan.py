"""Execution plans for the statevector backend: fusion decided once per circuit structure.

Planning (cached per circuit, batch pattern, dtype and device) walks the operations once:

- runs of single-qubit gates between multi-qubit gates form a *layer*; each wire's gates fuse
  into one 2x2 matrix, and layers with the same gate pattern are built together in one
  vectorised pass (so the cost of building matrices does not grow with the number of layers);
- consecutive fixed permutation-like gates (CNOT, SWAP, CZ, X, ...) compose into one
  whole-register gather;
- on few qubits a layer becomes one dense ``2^n x 2^n`` matrix (with the following permutation
  folded in), so a hybrid layer costs one GEMM on the batch; on many qubits it is applied in
  chunks of a few neighbouring wires, each chunk one pass over the state.

:mod:`.materialize` turns a plan and the parameter values into :class:`~hqml.sim.fused.Step` s.
The size thresholds are those of :mod:`.limits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ...circuit.circuit import Circuit
from ...circuit.dynamic import require_static
from ...sim.zwords import ZBasis, walsh, zbasis
from . import limits


@dataclass
class Layer:
    """Single-qubit gates: ``runs[q]`` lists the operation indices on wire ``q`` in order."""

    runs: dict[int, list[int]] = field(default_factory=dict)
    batched: bool = False
    signature: tuple = ()
    perm_after: Any = None  # an immediately following fixed permutation (index, phases)


class Perm:
    """A composition of CNOT / SWAP gates: the GF(2)-linear map ``x -> A x`` on basis-state bits.

    Composing is a product of ``n x n`` bit matrices (no ``2^n`` arrays); the gather index
    ``out[y] = in[A^-1 y]`` is built once, when first needed.
    """

    phases = None  # CNOT and SWAP permute without phases

    def __init__(self, n: int, rows: list[int] | None = None):
        self.n = n
        # rows[w]: bitmask (over input bits) whose parity gives output bit w; wire 0 = MSB
        self.rows = rows if rows is not None else [1 << (n - 1 - w) for w in range(n)]
        self.key = (n, tuple(self.rows))  # equal for equal maps (repeated ladders share one index)
        self._index: np.ndarray | None = None

    @classmethod
    def of_gate(cls, name: str, wires: Sequence[int], n: int) -> Perm:
        rows = cls(n).rows
        a, b = wires
        if name == "cx":
            rows[b] = rows[b] | (1 << (n - 1 - a))
        else:  # swap
            rows[a], rows[b] = rows[b], rows[a]
        return cls(n, rows)

    def then(self, other: Perm) -> Perm:
        """``other`` applied after ``self``."""
        rows = []
        for mask in other.rows:
            acc = 0
            for w in range(self.n):
                if mask >> (self.n - 1 - w) & 1:
                    acc ^= self.rows[w]
            rows.append(acc)
        return Perm(self.n, rows)

    def _inverse_rows(self) -> list[int]:
        """Rows of ``A^-1`` by Gauss-Jordan elimination over GF(2)."""
        n = self.n
        a = list(self.rows)
        inv = [1 << (n - 1 - w) for w in range(n)]
        for col in range(n):
            bit = 1 << (n - 1 - col)
            pivot = next(r for r in range(col, n) if a[r] & bit)
            a[col], a[pivot] = a[pivot], a[col]
            inv[col], inv[pivot] = inv[pivot], inv[col]
            for r in range(n):
                if r != col and a[r] & bit:
                    a[r] ^= a[col]
                    inv[r] ^= inv[col]
        return inv

    def _apply_rows(self, rows: list[int]) -> np.ndarray:
        """``M y`` for every basis index ``y``, with ``M`` given by its rows.

        ``M`` is linear over GF(2), so ``M y = M y_high ^ M y_low``: two tables of ``2^(n/2)``
        images and one broadcast XOR (one pass over ``2^n`` integers).
        """
        n = self.n
        # image of each input bit j (bit j of the index, least significant first)
        cols = [
            sum(((mask >> j) & 1) << (n - 1 - w) for w, mask in enumerate(rows)) for j in range(n)
        ]

        def table(bits: list[int]) -> np.ndarray:
            t = np.zeros(1, dtype=np.int64)
            for c in bits:
                t = np.concatenate([t, t ^ c])
            return t

        m = n // 2
        return (table(cols[m:])[:, None] ^ table(cols[:m])[None, :]).reshape(-1)

    def gather_columns(self) -> list[int]:
        """The gather as a linear map: ``index[y]`` is the XOR of ``columns[j]`` over the set
        bits ``j`` of ``y`` (least significant first), ``columns[j] = A^-1 e_j``."""
        n, rows = self.n, self._inverse_rows()
        return [
            sum(((mask >> j) & 1) << (n - 1 - w) for w, mask in enumerate(rows)) for j in range(n)
        ]

    @property
    def index(self) -> np.ndarray:
        """``out[y] = in[index[y]]``: ``index = A^-1 y``."""
        if self._index is None:
            self._index = self._apply_rows(self._inverse_rows())
        return self._index

    @property
    def inverse_index(self) -> np.ndarray:
        """The inverse gather, ``A y`` (no sort needed)."""
        return self._apply_rows(self.rows)


@dataclass
class GateItem:
    op: int
    batched: bool


@dataclass
class PhaseRun:
    """Consecutive one-parameter gates with diagonal generators (RZ, RZZ, P ...): they commute,
    and together multiply the state by ``exp(-i sum_k a_k z_k(x))`` over the Z words ``z_k`` of
    their generators, with ``a = theta[:, columns] @ coeffs`` (one step, :mod:`hqml.sim.zwords`)."""

    gates: list[GateItem]
    columns: tuple[int, ...]  # each gate's theta column
    coeffs: np.ndarray  # (gates, words): each generator's Walsh coefficients
    basis: ZBasis
    batched: bool


def phase_gate(gate: Any) -> bool:
    """Whether ``gate`` joins a :class:`PhaseRun`: one parameter, a diagonal generator."""
    return gate.num_params == 1 and gate.generator is not None and gate.structure == "diagonal"


def _phase_run(circuit: Circuit, gates: list[GateItem], columns: list) -> PhaseRun:
    words: dict[tuple[int, ...], int] = {}
    rows = []
    for item in gates:
        op = circuit.ops[item.op]
        k = len(op.wires)
        c = walsh(np.diag(op.gate.generator).real)
        row = {}
        for mask, value in enumerate(c):
            if value != 0:
                word = tuple(sorted(op.wires[i] for i in range(k) if mask >> (k - 1 - i) & 1))
                row[words.setdefault(word, len(words))] = value
        rows.append(row)
    coeffs = np.zeros((len(gates), len(words)))
    for g, row in enumerate(rows):
        for w, value in row.items():
            coeffs[g, w] += value
    cols = tuple(columns[item.op][0] for item in gates)
    batched = any(item.batched for item in gates)
    # one basis (and its sign tables) for runs on the same words, e.g. the layers of a QAOA
    return PhaseRun(gates, cols, coeffs, zbasis(circuit.n_qubits, tuple(words)), batched)


def _merge_phase_runs(circuit: Circuit, items: list[Any], columns: list) -> list[Any]:
    """Runs of at least ``phase_min_gates`` consecutive :func:`phase_gate` items as one
    :class:`PhaseRun` each."""
    out: list[Any] = []
    run: list[GateItem] = []

    def flush() -> None:
        if len(run) >= limits.LIMITS.phase_min_gates:
            out.append(_phase_run(circuit, list(run), columns))
        else:
            out.extend(run)
        run.clear()

    for item in items:
        if isinstance(item, GateItem) and phase_gate(circuit.ops[item.op].gate):
            run.append(item)
            continue
        flush()
        out.append(item)
    flush()
    return out


@dataclass
class Plan:
    n: int
    items: list[Any]
    columns: list[tuple[int, ...]]  # theta columns of each operation
    dense: bool
    ops: tuple[Any, ...] = ()  # the circuit's operations when planned (a plan dies with an edit)
    consts: dict[Any, torch.Tensor] = field(default_factory=dict)  # tensors by (key, dtype, device)


def build_plan(circuit: Circuit, varying: Sequence[bool] | None, batched_theta: bool) -> Plan:
    require_static(circuit, "the statevector plan")
    n = circuit.n_qubits
    columns: list[tuple[int, ...]] = []
    col = 0
    for op in circuit.ops:
        columns.append(tuple(range(col, col + op.gate.num_params)))
        col += op.gate.num_params

    def is_batched(i: int) -> bool:
        return batched_theta and any(varying is None or varying[c] for c in columns[i])

    items: list[Any] = []
    pending: Any = None

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            items.append(pending)
        pending = None

    use_perm = n <= limits.LIMITS.perm_max_qubits
    for i, op in enumerate(circuit.ops):
        g = op.gate
        if g.num_wires == 1:
            if not isinstance(pending, Layer):
                flush()
                pending = Layer()
            pending.runs.setdefault(op.wires[0], []).append(i)
            pending.batched |= is_batched(i)
        elif use_perm and g.name in ("cx", "swap"):
            p = Perm.of_gate(g.name, op.wires, n)
            if isinstance(pending, Perm):
                pending = pending.then(p)
            else:
                flush()
                pending = p
        else:
            flush()
            items.append(GateItem(i, is_batched(i)))
    flush()
    items = _merge_phase_runs(circuit, items, columns)
    for item in items:
        if isinstance(item, Layer):
            item.signature = tuple(
                (q, tuple(circuit.ops[i].gate for i in item.runs[q])) for q in sorted(item.runs)
            )
    dense = n <= limits.LIMITS.dense_max_qubits
    if dense:  # fold a permutation into the dense layer before it
        merged: list[Any] = []
        for item in items:
            if (
                isinstance(item, Perm)
                and merged
                and isinstance(merged[-1], Layer)
                and merged[-1].perm_after is None
            ):
                merged[-1].perm_after = item
            else:
                merged.append(item)
        items = merged
    return Plan(n, items, columns, dense, tuple(circuit.ops))


def get_plan(circuit: Circuit, varying: Sequence[bool] | None, batched_theta: bool) -> Plan:
    key = ("hqml.plan", tuple(varying) if varying is not None else None, batched_theta)
    return circuit.cached(key, lambda: build_plan(circuit, varying, batched_theta))


__all__ = [
    "Layer",
    "Perm",
    "GateItem",
    "PhaseRun",
    "Plan",
    "build_plan",
    "get_plan",
]
