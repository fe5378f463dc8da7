"""Materialisation of statevector execution plans: a :class:`~.plan.Plan` and the parameter
values become :class:`~hqml.sim.fused.Step` s.

Every group of layers with one gate signature is built in one vectorised pass (the fused 2x2
factors of each wire), then becomes one step per layer: its factors for the compiled kernels
(:mod:`hqml.sim.native`), one dense matrix on few qubits (with the following permutation folded
in), or else matrices over chunks of neighbouring wires. Fixed permutations become gathers and
any other gate one step of its own (:func:`gate_step`). With a tape, parametrized steps are tagged
for the analytic chain rule of :mod:`.chain`.

The size thresholds live in :mod:`.limits`; ``native_layers`` comes from the engine chosen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...circuit.circuit import Circuit
from ...circuit.gates import Gate
from ...sim.fused import LinearGather, Step
from ...sim.statevector import kron_factors
from ...sim.zwords import levels
from ..instructions import gate_step
from . import limits
from .chain import GateTape, LayerTape, PhaseTape
from .plan import Layer, Perm, PhaseRun, Plan


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
    ops: tuple[Any, ...],
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
                by_gate.setdefault(ops[run[j]].gate, []).append(qi)
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
    native_layers: bool = False,
    dense_batched: bool = True,
    tape: list | None = None,
) -> list[Step]:
    """Build the steps (gate data from ``theta``; differentiable when ``theta`` requires grad).

    ``dense_batched=False`` keeps per-sample layers in chunks: the adjoint method holds every
    layer's data until the sweep, and a dense per-sample ``2^n x 2^n`` matrix per layer would
    make that grow with depth much faster than the parameters themselves.

    ``native_layers`` runs single-qubit layers (outside dense plans) by the compiled kernels.
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
    use_native = native_layers and not plan.dense
    for (signature, batched), members in groups.items():
        layers = [plan.items[k] for k in members]
        batched = batched and batched_theta
        # a per-sample dense matrix pays off only for a layer over (nearly) the whole register
        dense = plan.dense and (
            not batched
            or (
                dense_batched
                and len(signature) >= n - 1
                and theta.shape[0] * 4**n <= limits.LIMITS.dense_max_batched_elements
            )
        )
        wires = list(range(n)) if dense else [q for q, _ in signature]
        factors, positions = _layer_factors(
            plan.ops, layers, theta, batched, plan.columns, wires, dtype, consts, members
        )
        is_param = factors.requires_grad or (
            tape is not None and any(g.num_params for _, parts in positions for g, *_ in parts)
        )
        group_tape = None
        if tape is not None and is_param:
            group_tape = LayerTape(factors, positions, dense, len(members), native=use_native)
            tape.append(group_tape)
        if use_native:  # one step per layer: its 2x2 factors, applied by the compiled kernels
            made = _native_steps(
                factors, layers, members, wires, is_param, group_tape, consts, dtype
            )
        elif dense:
            mats = _fold_perms(kron_factors(factors), layers, members, consts, dtype, group_tape)
            made = _dense_steps(mats, members, n, is_param, group_tape)
        else:
            # per-sample data the adjoint holds until its sweep: keep those chunks small
            chunk = 2 if batched and not dense_batched else limits.LIMITS.chunk
            made = _chunked_steps(
                factors, layers, members, wires, chunk, is_param, group_tape, consts, dtype
            )
        layer_steps.update(made)
    return _in_order(plan, circuit, layer_steps, theta, dtype, consts, tape)


def _native_steps(
    factors: torch.Tensor,
    layers: list,
    members: list[int],
    wires: list[int],
    is_param: bool,
    group_tape: Any,
    consts: Any,
    dtype: torch.dtype,
) -> dict[int, list[Step]]:
    """One step per layer holding its 2x2 factors, for the compiled layer kernels."""
    out: dict[int, list[Step]] = {}
    for pos, k in enumerate(members):
        step = Step("layer", tuple(wires), factors[..., pos, :, :, :], is_param)
        step.tag = (group_tape, pos, None)
        out[k] = [step]
        if layers[pos].perm_after is not None:
            out[k].append(_perm_step(layers[pos].perm_after, consts, dtype))
    return out


def _dense_steps(
    mats: torch.Tensor, members: list[int], n: int, is_param: bool, group_tape: Any
) -> dict[int, list[Step]]:
    """One full-register matrix step per layer (permutations already folded in)."""
    out: dict[int, list[Step]] = {}
    for pos, k in enumerate(members):
        step = Step("matrix", tuple(range(n)), mats[..., pos, :, :], is_param)
        step.tag = (group_tape, pos, None)
        out[k] = [step]
    return out


def _chunked_steps(
    factors: torch.Tensor,
    layers: list,
    members: list[int],
    wires: list[int],
    chunk: int,
    is_param: bool,
    group_tape: Any,
    consts: Any,
    dtype: torch.dtype,
) -> dict[int, list[Step]]:
    """Per layer, matrix steps over chunks of ``chunk`` wires (Kronecker products of factors)."""
    chunks = _chunk_matrices(wires, factors, chunk)
    if group_tape is not None:
        group_tape.chunks = [(cw, start) for cw, start, _ in chunks]
    out: dict[int, list[Step]] = {}
    for pos, k in enumerate(members):
        steps_k = []
        for ci, (cw, _, m) in enumerate(chunks):
            step = Step("matrix", cw, m[..., pos, :, :], is_param)
            step.tag = (group_tape, pos, ci)
            steps_k.append(step)
        if layers[pos].perm_after is not None:
            steps_k.append(_perm_step(layers[pos].perm_after, consts, dtype))
        out[k] = steps_k
    return out


def _in_order(
    plan: Plan,
    circuit: Circuit,
    layer_steps: dict[int, list[Step]],
    theta: torch.Tensor,
    dtype: torch.dtype,
    consts: _Consts,
    tape: list | None,
) -> list[Step]:
    """The plan's steps in circuit order: the layers' (built by group), permutations and the
    other gates, one step each."""
    batched_theta = theta.shape[0] > 1
    steps: list[Step] = []
    for k, item in enumerate(plan.items):
        if isinstance(item, Layer):
            steps.extend(layer_steps[k])
        elif isinstance(item, Perm):
            steps.append(_perm_step(item, consts, dtype))
        elif isinstance(item, PhaseRun):
            steps.append(_phase_step(item, k, theta, consts, tape))
        else:
            step = gate_step(
                plan.ops[item.op],
                plan.columns[item.op],
                item.batched and batched_theta,
                theta,
                dtype,
                tape is not None,
            )
            if tape is not None and step.param:
                step.tag = GateTape(plan.ops[item.op].gate, plan.columns[item.op], step.rows)
                tape.append(step.tag)
            steps.append(step)
    return steps


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


def _phase_step(run: PhaseRun, k: int, theta: torch.Tensor, consts: _Consts, tape: Any) -> Step:
    """One ``phase`` step for a run of diagonal-generator gates: its words' coefficients
    ``theta[:, columns] @ coeffs``; with the lookup of :func:`_uniform_levels` when they allow."""
    cols = consts.get(("phase-cols", k), lambda: np.asarray(run.columns, dtype=np.int64))
    mat = consts.get(("phase-coeffs", k), lambda: run.coeffs).to(theta.dtype)
    rows = theta[:, cols] if run.batched and theta.shape[0] > 1 else theta[0, cols]
    a = rows @ mat
    data: tuple[Any, ...] = (run.basis, a)
    if not a.requires_grad:  # the lookup has no derivative in ``a`` (the adjoint takes its own)
        lv = _uniform_levels(run, rows, consts)
        data = data if lv is None else data + (lv,)
    step = Step("phase", (), data, tape is not None or a.requires_grad)
    if tape is not None:
        step.tag = PhaseTape(cols, mat)
        tape.append(step.tag)
    return step


def _uniform_levels(run: PhaseRun, rows: torch.Tensor, consts: _Consts) -> Any:
    """``(index, values, u)`` for :func:`hqml.sim.fused.phase` when every gate of the run has
    the same angle ``u`` (per sample), as in a QAOA cost layer: the coefficients are then ``u``
    times the run's summed pattern, whose diagonal takes few values (``zwords.levels``, indexed
    once per plan and shared by runs of equal words and pattern); None otherwise."""
    if rows.shape[-1] < 2 or not bool((rows == rows[..., :1]).all()):
        return None
    pattern = run.coeffs.sum(axis=0)
    key = ("phase-levels", tuple(run.basis.words), pattern.tobytes())
    found: list[Any] = []

    def make(part: int) -> Any:
        if not found:
            found.append(levels(run.basis, pattern))
        lv = found[0]
        return np.zeros(0) if lv is None else lv[part]

    index = consts.get(key + ("index",), lambda: make(0))
    values = consts.get(key + ("values",), lambda: make(1))
    if not values.numel():
        return None
    return index, values, rows[..., 0]


def _perm_step(p: Perm, consts: _Consts, dtype: torch.dtype) -> Step:
    index = consts.get(("pi", p.key), lambda: p.index)
    inverse = consts.get(("pv", p.key), lambda: p.inverse_index)
    phases = None if p.phases is None else consts.get(("pp", id(p)), lambda: p.phases).to(dtype)
    step = Step("perm", (), (index, inverse, phases))
    if isinstance(p, Perm) and p.phases is None:  # the native kernels gather by the bit map
        cols = consts.get(("pc", p.key), lambda: np.asarray(p.gather_columns(), dtype=np.int64))
        step.tag = LinearGather(cols)
    return step
