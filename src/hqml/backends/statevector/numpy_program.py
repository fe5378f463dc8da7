"""The NumPy engine's compiled program: a circuit's plan (:mod:`.plan`)
regrouped for whole-register matrices. Single-qubit layers of one signature form a group whose
matrices are built together; other gates keep their full-register index maps; permutations stay
index gathers. Cached per circuit, batch pattern and ``varying``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...circuit.circuit import Circuit
from ...circuit.gates import Gate
from .numpy_matrices import _gate_consts
from .plan import GateItem, Layer, Perm, PhaseRun, get_plan


@dataclass
class _Source:
    """Slots of one gate kind inside a layer group."""

    gate: Gate
    pos: np.ndarray  # (m, 3): layer, depth, wire of each slot
    cols: np.ndarray  # (m, p) theta columns (p = 0 for fixed gates)
    batched: bool


@dataclass
class _Group:
    """Single-qubit layers of one signature: ``M_l = fold_l(kron_q F_{l,q})`` with
    ``F_{l,q} = G_{l,D-1,q} ... G_{l,0,q}`` (slots past a wire's run are identities)."""

    members: list[int]
    batched: bool
    depth: int
    n: int
    sources: list[_Source]
    table: np.ndarray  # (L, D, n): slot index into the concatenated sources (+ identity last)
    fold: np.ndarray | None  # (L, d) row gather of each layer's folded permutation
    unfold: np.ndarray | None  # (L, d) its inverse
    columns: frozenset[int]
    # parameter slots, in the order the sources' derivatives concatenate
    ps_l: np.ndarray
    ps_j: np.ndarray
    ps_q: np.ndarray
    ps_col: np.ndarray
    ps_flat: np.ndarray  # flat (l, j, q) slot index
    # every slot a rotation exp(-i a theta G) (identities as theta = 0): one vectorised build
    rot: tuple | None = None  # (cols (S,), a (S,), K (S, 2, 2) = -i G / a)
    first: bool = False  # one layer acting on |0...0>: only the first columns are built


@dataclass
class _Gate:
    op: int
    gate: Gate
    cols: np.ndarray  # (p,)
    batched: bool
    rows: np.ndarray  # (a, b, rest) full-register row index of entry (a, b)
    cols_full: np.ndarray


@dataclass
class _Perm:
    index: np.ndarray
    inverse: np.ndarray


@dataclass
class SmallProgram:
    n: int
    items: list[Any]  # ("group", g, k) | _Gate | _Perm in circuit order
    groups: list[_Group]
    n_params: int
    per_sample: int  # per-sample d x d matrices the program builds (per row of theta)
    measures: dict[Any, Any] = field(default_factory=dict)


def program(circuit: Circuit, varying: tuple[bool, ...] | None, batched: bool) -> SmallProgram:
    """The compiled program (cached per circuit structure and batch pattern)."""
    key = ("hqml.numpy_program", varying, batched)
    return circuit.cached(key, lambda: _compile(circuit, varying, batched))


def _compile(circuit: Circuit, varying: tuple[bool, ...] | None, batched: bool) -> SmallProgram:
    plan = get_plan(circuit, varying, batched)
    n, d = circuit.n_qubits, 2**circuit.n_qubits
    plan_items: list[Any] = []
    for item in plan.items:
        if isinstance(item, Layer):
            plan_items.extend(_split(circuit, item, plan.columns, varying, batched))
        else:  # a phase run's gates one by one
            plan_items.extend(item.gates if isinstance(item, PhaseRun) else [item])
    by_sig: dict[tuple, list[int]] = {}
    for k, item in enumerate(plan_items):
        if isinstance(item, Layer):
            by_sig.setdefault((item.signature, item.batched), []).append(k)
    groups: list[_Group] = []
    where: dict[int, tuple[int, int]] = {}
    for (_, is_batched), members in by_sig.items():
        layers: list[Layer] = [plan_items[k] for k in members]
        for pos, k in enumerate(members):
            where[k] = (len(groups), pos)
        groups.append(_compile_group(circuit, plan.columns, layers, members, is_batched, n, d))
    items: list[Any] = []
    for k, item in enumerate(plan_items):
        if isinstance(item, Layer):
            items.append(("group",) + where[k])
        elif isinstance(item, Perm):
            items.append(_Perm(item.index, item.inverse_index))
        else:
            assert isinstance(item, GateItem)
            op = circuit.ops[item.op]
            items.append(_compile_gate(op, plan.columns[item.op], item.op, item.batched, n))
    if items and isinstance(items[0], tuple) and len(groups[items[0][1]].members) == 1:
        groups[items[0][1]].first = True
    n_params = sum(len(c) for c in plan.columns)
    per_sample = sum(len(g.members) for g in groups if g.batched and not g.first) + sum(
        1 for it in items if isinstance(it, _Gate) and it.batched
    )
    return SmallProgram(n, items, groups, n_params, per_sample)


def _split(
    circuit: Circuit,
    layer: Layer,
    columns: list[tuple[int, ...]],
    varying: tuple[bool, ...] | None,
    batched: bool,
) -> list[Layer]:
    """A per-sample layer as (per-sample part, shared part): on each wire the run splits after
    its last per-sample gate, so the weights that follow an encoding join the shared layers
    (their gradient then costs nothing per sample)."""
    if not layer.batched:
        return [layer]

    def per_sample(i: int) -> bool:
        return batched and any(varying is None or varying[c] for c in columns[i])

    head: dict[int, list[int]] = {}
    tail: dict[int, list[int]] = {}
    for q, run in layer.runs.items():
        cut = max((j + 1 for j, i in enumerate(run) if per_sample(i)), default=0)
        if cut:
            head[q] = run[:cut]
        if run[cut:]:
            tail[q] = run[cut:]
    if not tail:
        return [layer]

    def signature(runs: dict[int, list[int]]) -> tuple:
        return tuple((q, tuple(circuit.ops[i].gate for i in runs[q])) for q in sorted(runs))

    return [
        Layer(head, True, signature(head)),
        Layer(tail, False, signature(tail), layer.perm_after),
    ]


def _compile_group(
    circuit: Circuit,
    columns: list[tuple[int, ...]],
    layers: list[Layer],
    members: list[int],
    batched: bool,
    n: int,
    d: int,
) -> _Group:
    depth = max(len(run) for run in layers[0].runs.values())
    shape = (len(layers), depth, n)
    slots: dict[Gate, list[tuple[int, int, int, tuple[int, ...]]]] = {}
    for li, layer in enumerate(layers):
        for q, run in layer.runs.items():
            for j, op_index in enumerate(run):
                gate = circuit.ops[op_index].gate
                slots.setdefault(gate, []).append((li, j, q, columns[op_index]))
    sources, table = [], np.full(shape, -1, dtype=np.int64)
    offset = 0
    ps: list[np.ndarray] = []
    ps_col: list[np.ndarray] = []
    for gate, entries in slots.items():
        pos = np.asarray([e[:3] for e in entries], dtype=np.int64)
        cols = np.asarray([e[3] for e in entries], dtype=np.int64).reshape(len(entries), -1)
        table[pos[:, 0], pos[:, 1], pos[:, 2]] = offset + np.arange(len(entries))
        offset += len(entries)
        sources.append(_Source(gate, pos, cols, batched))
        for pi in range(cols.shape[1]):
            ps.append(pos)
            ps_col.append(cols[:, pi])
    table[table < 0] = offset  # identity
    fold = unfold = None
    perms = [layer.perm_after for layer in layers]
    if any(p is not None for p in perms):
        fold = np.stack([np.arange(d) if p is None else p.index for p in perms])
        unfold = np.argsort(fold, axis=1)
    pos_all = np.concatenate(ps) if ps else np.zeros((0, 3), dtype=np.int64)
    col_all = np.concatenate(ps_col) if ps_col else np.zeros(0, dtype=np.int64)
    flat = np.ravel_multi_index((pos_all[:, 0], pos_all[:, 1], pos_all[:, 2]), shape)
    g = _Group(
        members,
        batched,
        depth,
        n,
        sources,
        table,
        fold,
        unfold,
        frozenset(int(c) for c in col_all),
        pos_all[:, 0],
        pos_all[:, 1],
        pos_all[:, 2],
        col_all,
        flat,
    )
    rot = [_rotation(s.gate) for s in sources]
    if sources and all(r is not None for r in rot):
        size = int(np.prod(shape))
        cols_flat = np.zeros(size, dtype=np.int64)
        a_flat = np.zeros(size)
        k_flat = np.zeros((size, 2, 2), dtype=np.complex128)
        for src, (a, k) in zip(sources, rot, strict=True):
            f = np.ravel_multi_index((src.pos[:, 0], src.pos[:, 1], src.pos[:, 2]), shape)
            cols_flat[f], a_flat[f], k_flat[f] = src.cols[:, 0], a, k
        g.rot = (cols_flat, a_flat, k_flat)
    return g


def _rotation(gate: Gate) -> tuple[float, np.ndarray] | None:
    """``(a, -i G / a)`` for a one-qubit ``exp(-i theta G)`` with ``G^2 = a^2``."""
    if gate.num_wires != 1 or gate.generator is None:
        return None
    c = _gate_consts(gate, np.complex128)
    if "rot" not in c:
        return None
    a, _, k = c["rot"]
    return a, k


def _compile_gate(op: Any, cols: tuple[int, ...], index: int, batched: bool, n: int) -> _Gate:
    k = len(op.wires)
    others = [w for w in range(n) if w not in op.wires]
    a = np.arange(2**k)
    rest = np.arange(2 ** (n - k))

    def compose(sub: np.ndarray, r: np.ndarray) -> np.ndarray:
        full = np.zeros(np.broadcast(sub, r).shape, dtype=np.int64)
        for i, w in enumerate(op.wires):
            full |= ((sub >> (k - 1 - i)) & 1) << (n - 1 - w)
        for i, w in enumerate(others):
            full |= ((r >> (n - k - 1 - i)) & 1) << (n - 1 - w)
        return full

    rows = compose(a[:, None, None], rest[None, None, :]) + 0 * a[None, :, None]
    cols_full = compose(a[None, :, None], rest[None, None, :]) + 0 * a[:, None, None]
    return _Gate(index, op.gate, np.asarray(cols, dtype=np.int64), batched, rows, cols_full)
