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

:func:`materialize` turns a plan and the parameter values into :class:`~hqml.sim.fused.Step` s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..circuit.circuit import Circuit
from ..circuit.gates import Gate
from ..sim import native
from ..sim.fused import Step
from ..sim.statevector import kron_factors
from .chain import GateTape, LayerTape

DENSE_MAX_QUBITS = 5  # full-register dense layers up to here: one GEMM beats many tiny kernels
DENSE_MAX_BATCHED_ELEMENTS = 2**22
# whole-register gathers up to here (one pass for a whole CNOT ladder; per-gate strided slice
# copies are several times slower per pass); above, the int64 index itself gets too large
PERM_MAX_QUBITS = 24
CHUNK = 4  # wires per fused chunk on many qubits (fewer passes; each pass costs about the same)


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
        self._index: np.ndarray | None = None

    @classmethod
    def of_gate(cls, name: str, wires: Sequence[int], n: int) -> Perm:
        p = cls(n)
        a, b = wires
        if name == "cx":
            p.rows[b] = p.rows[b] | (1 << (n - 1 - a))
        else:  # swap
            p.rows[a], p.rows[b] = p.rows[b], p.rows[a]
        return p

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

    @property
    def key(self) -> tuple:
        """Equal for equal maps (repeated ladders share one index)."""
        return (self.n, tuple(self.rows))

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
class Plan:
    n: int
    items: list[Any]
    columns: list[tuple[int, ...]]  # theta columns of each operation
    dense: bool
    consts: dict[Any, torch.Tensor] = field(default_factory=dict)  # tensors by (key, dtype, device)


def build_plan(circuit: Circuit, varying: Sequence[bool] | None, batched_theta: bool) -> Plan:
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

    use_perm = n <= PERM_MAX_QUBITS
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
    for item in items:
        if isinstance(item, Layer):
            item.signature = tuple(
                (q, tuple(circuit.ops[i].gate for i in item.runs[q])) for q in sorted(item.runs)
            )
    dense = n <= DENSE_MAX_QUBITS
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
    return Plan(n, items, columns, dense)


def get_plan(circuit: Circuit, varying: Sequence[bool] | None, batched_theta: bool) -> Plan:
    key = ("sv_plan", tuple(varying) if varying is not None else None, batched_theta)
    plan = circuit._cache.get(key)
    if plan is None:
        plan = build_plan(circuit, varying, batched_theta)
        circuit._cache[key] = plan
    return plan


# --------------------------------------------------------------------------------------------
# materialisation


class _Consts:
    """Constant tensors of a plan, kept across calls per device."""

    def __init__(self, store: dict[Any, torch.Tensor], device: Any):
        self.store, self.device = store, device

    def get(self, key: Any, make: Any) -> torch.Tensor:
        k = key + (str(self.device),)
        t = self.store.get(k)
        if t is None:
            t = torch.as_tensor(make(), device=self.device)
            self.store[k] = t
        return t


def _layer_factors(
    circuit: Circuit,
    layers: list[Layer],
    theta: torch.Tensor,
    batched: bool,
    columns: list[tuple[int, ...]],
    wires: list[int],
    dtype: torch.dtype,
    consts: _Consts,
    members: list[int],
) -> tuple[torch.Tensor, list]:
    """Fused 2x2 factors of layers sharing one signature: ``(B?, L, len(wires), 2, 2)``, and per
    gate position the matrices with the parts they were assembled from (for the chain rule)."""
    device = theta.device
    n_layers = len(layers)
    runs0 = layers[0].runs
    depth = max(len(runs0.get(q, ())) for q in wires)
    eye = torch.eye(2, dtype=dtype, device=device)
    lead = (theta.shape[0],) if batched else ()
    total = None
    positions = []
    for j in range(depth):
        # wires grouped by the gate at position j (same for every layer of the signature)
        by_gate: dict[Gate, list[int]] = {}
        for qi, q in enumerate(wires):
            run = runs0.get(q, ())
            if j < len(run):
                by_gate.setdefault(circuit.ops[run[j]].gate, []).append(qi)
        parts = []
        for gate, qis in by_gate.items():
            if gate.num_params == 0:
                m = gate.matrix(dtype=dtype, device=device).expand(
                    lead + (n_layers, len(qis), 2, 2)
                )
                idx = params = None
            else:
                idx = consts.get(
                    ("cols", tuple(members), j, gate.name, len(wires)),
                    lambda qis=qis, j=j: np.asarray(
                        [[columns[layer.runs[wires[qi]][j]] for qi in qis] for layer in layers],
                        dtype=np.int64,
                    ),
                )
                params = theta[:, idx] if batched else theta[0][idx]
                m = gate.matrix(params)
            qis_t = consts.get(("q",) + tuple(qis), lambda qis=qis: np.asarray(qis))
            parts.append((gate, qis, qis_t, idx, params, m))
        if len(parts) == 1 and len(parts[0][1]) == len(wires):
            mats = parts[0][5]
        else:
            mats = eye.expand(lead + (n_layers, len(wires), 2, 2))
            for _, _, qis_t, _, _, m in parts:
                mats = mats.index_copy(-3, qis_t, m.to(dtype))
        positions.append((mats, parts))
        total = mats if total is None else mats @ total
    return total, positions


def materialize(
    plan: Plan,
    circuit: Circuit,
    theta: torch.Tensor,
    dtype: torch.dtype,
    dense_batched: bool = True,
    tape: list | None = None,
) -> list[Step]:
    """Build the steps (gate data from ``theta``; differentiable when ``theta`` requires grad).

    ``dense_batched=False`` keeps per-sample layers in chunks: the adjoint method holds every
    layer's data until the sweep, and a dense per-sample ``2^n x 2^n`` matrix per layer would
    make that grow with depth much faster than the parameters themselves.

    With a ``tape`` list, parametrized steps are tagged with what :mod:`hqml.backends.chain`
    needs to take their cotangents back to ``theta`` analytically (no autograd graph).
    """
    n, device = plan.n, theta.device
    consts = _Consts(plan.consts, device)
    batched_theta = theta.shape[0] > 1
    # build every group of layers with one signature in one vectorised pass
    groups: dict[tuple, list[int]] = {}
    for k, item in enumerate(plan.items):
        if isinstance(item, Layer):
            groups.setdefault((item.signature, item.batched), []).append(k)
    layer_steps: dict[int, list[Step]] = {}
    use_native = not plan.dense and native.usable(device, dtype, n)
    for (signature, batched), members in groups.items():
        layers = [plan.items[k] for k in members]
        batched = batched and batched_theta
        # a per-sample dense matrix pays off only for a layer over (nearly) the whole register
        dense = plan.dense and (
            not batched
            or (
                dense_batched
                and len(signature) >= n - 1
                and theta.shape[0] * 4**n <= DENSE_MAX_BATCHED_ELEMENTS
            )
        )
        wires = list(range(n)) if dense else [q for q, _ in signature]
        factors, positions = _layer_factors(
            circuit, layers, theta, batched, plan.columns, wires, dtype, consts, members
        )
        is_param = factors.requires_grad or (
            tape is not None and any(g.num_params for _, parts in positions for g, *_ in parts)
        )
        group_tape = None
        if tape is not None and is_param:
            group_tape = LayerTape(factors, positions, dense, len(members), native=use_native)
            tape.append(group_tape)
        if use_native:  # one step per layer: its 2x2 factors, applied by the compiled kernels
            for pos, k in enumerate(members):
                step = Step("layer", tuple(wires), factors[..., pos, :, :, :], is_param)
                step.tag = (group_tape, pos, None)
                layer_steps[k] = [step]
                if layers[pos].perm_after is not None:
                    layer_steps[k].append(_perm_step(layers[pos].perm_after, consts, dtype))
        elif dense:
            mats = _fold_perms(kron_factors(factors), layers, members, consts, dtype, group_tape)
            for pos, k in enumerate(members):
                step = Step("matrix", tuple(range(n)), mats[..., pos, :, :], is_param)
                step.tag = (group_tape, pos, None)
                layer_steps[k] = [step]
        else:
            # per-sample data the adjoint holds until its sweep: keep those chunks small
            chunk = 2 if batched and not dense_batched else CHUNK
            chunks = _chunk_matrices(wires, factors, chunk)
            if group_tape is not None:
                group_tape.chunks = [(cw, start) for cw, start, _ in chunks]
            for pos, k in enumerate(members):
                steps_k = []
                for ci, (cw, _, m) in enumerate(chunks):
                    step = Step("matrix", cw, m[..., pos, :, :], is_param)
                    step.tag = (group_tape, pos, ci)
                    steps_k.append(step)
                if layers[pos].perm_after is not None:
                    steps_k.append(_perm_step(layers[pos].perm_after, consts, dtype))
                layer_steps[k] = steps_k
    steps: list[Step] = []
    for k, item in enumerate(plan.items):
        if isinstance(item, Layer):
            steps.extend(layer_steps[k])
        elif isinstance(item, Perm):
            steps.append(_perm_step(item, consts, dtype))
        else:
            step = gate_step(
                circuit.ops[item.op],
                plan.columns[item.op],
                item.batched and batched_theta,
                theta,
                dtype,
                tape is not None,
            )
            if tape is not None and step.param:
                step.tag = GateTape(circuit.ops[item.op].gate, plan.columns[item.op], step.rows)
                tape.append(step.tag)
            steps.append(step)
    return steps


def gate_step(
    op: Any,
    cols: tuple[int, ...],
    batched: bool,
    theta: torch.Tensor,
    dtype: torch.dtype,
    structural: bool = False,
) -> Step:
    g = op.gate
    if g.num_params == 0:
        if g.structure == "monomial":
            perm, phases = g.monomial
            ph = None if np.allclose(phases, 1) else [complex(v) for v in phases]
            return Step("monomial", op.wires, (perm, ph))
        if g.structure == "diagonal":
            return Step("diagonal", op.wires, g.diagonal(dtype=dtype, device=theta.device))
        return Step("matrix", op.wires, g.matrix(dtype=dtype, device=theta.device))
    rows = theta[:, cols[0] : cols[-1] + 1] if batched else theta[0, cols[0] : cols[-1] + 1]
    param = structural or rows.requires_grad
    if g.structure == "diagonal":
        step = Step("diagonal", op.wires, g.diagonal(rows), param)
    else:
        step = Step("matrix", op.wires, g.matrix(rows), param)
    step.rows = rows
    return step


def _fold_perms(
    mats: torch.Tensor,
    layers: list[Layer],
    members: list[int],
    consts: _Consts,
    dtype: torch.dtype,
    tape: Any = None,
) -> torch.Tensor:
    """Fold each layer's following permutation into its dense matrix (row gathers)."""
    perms = [layer.perm_after for layer in layers]
    if all(p is None for p in perms):
        return mats
    d = mats.shape[-1]
    key = ("fold", tuple(members))
    index = consts.get(
        key + ("i",), lambda: np.stack([np.arange(d) if p is None else p.index for p in perms])
    )
    phases = None
    if any(p is not None and p.phases is not None for p in perms):
        phases = consts.get(
            key + ("p",),
            lambda: np.stack(
                [np.ones(d, complex) if p is None or p.phases is None else p.phases for p in perms]
            ),
        ).to(dtype)
    if tape is not None:
        tape.fold_inverse = consts.get(
            key + ("v",), lambda: np.argsort(index.cpu().numpy(), axis=1)
        )
        tape.fold_phases = phases
    gathered = torch.gather(mats, -2, index[..., None].expand(mats.shape))
    return gathered if phases is None else gathered * phases[..., None]


def _chunk_matrices(
    wires: list[int], factors: torch.Tensor, chunk: int
) -> list[tuple[tuple[int, ...], int, torch.Tensor]]:
    """Per-wire factors grouped into chunks of up to ``chunk`` neighbouring wires (one pass
    each): ``(chunk wires, index of its first factor, kron of its factors)``."""
    out = []
    start = 0
    while start < len(wires):
        end = start + 1
        while end < len(wires) and end - start < chunk and wires[end] == wires[end - 1] + 1:
            end += 1
        out.append((tuple(wires[start:end]), start, kron_factors(factors[..., start:end, :, :])))
        start = end
    return out


def _perm_step(p: Perm, consts: _Consts, dtype: torch.dtype) -> Step:
    index = consts.get(("pi", p.key), lambda: p.index)
    inverse = consts.get(("pv", p.key), lambda: p.inverse_index)
    phases = None if p.phases is None else consts.get(("pp", id(p)), lambda: p.phases).to(dtype)
    return Step("perm", (), (index, inverse, phases))
