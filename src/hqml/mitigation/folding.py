"""Noise scaling by unitary folding: ``circuit -> circuit`` transforms.

Folding replaces ``U`` by ``U (U^dagger U)^k``, which is the same unitary but runs ``2k + 1`` times
the gates, so gate noise grows by that factor. Fractional scale factors fold part of the gates.
The rules follow Mitiq (``fold_global``, ``fold_gates_at_random``) so results are comparable.

>>> from hqml.circuit.circuit import Circuit
>>> c = Circuit(2).h(0).cnot(0, 1).rz(0.3, 1)
>>> [op.gate.name for op in fold_global(c, 3)]
['h', 'cx', 'rz', 'rz', 'cx', 'h', 'h', 'cx', 'rz']
>>> len(fold_gates(c, 5.0, method="from_left"))
15
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

import numpy as np

from ..circuit.circuit import Circuit, Operation
from ..circuit.dynamic import require_static
from ..circuit.expr import as_expr

FOLDING_METHODS = ("global", "from_left", "from_right", "random")


def _check_scale(scale_factor: float) -> float:
    if (
        isinstance(scale_factor, bool)
        or not isinstance(scale_factor, numbers.Real)
        or not scale_factor >= 1
    ):
        raise ValueError(f"scale factors must be real numbers >= 1, got {scale_factor!r}")
    return float(scale_factor)


def _inverse_op(op: Operation) -> Operation:
    gate, params = op.gate.inverse(op.params)
    return Operation(gate, op.wires, tuple(as_expr(p) for p in params))


def _with_ops(circuit: Circuit, ops: list[Operation]) -> Circuit:
    out = circuit.copy()
    out.ops = ops
    return out


def fold_global(circuit: Circuit, scale_factor: float) -> Circuit:
    """``U (U^dagger U)^k`` then a partial fold of the last gates for the fractional part.

    With ``d`` gates and ``scale_factor = 1 + 2k + f`` (``0 <= f < 2``), the last
    ``round(f d / 2)`` gates ``L`` are folded as ``L^dagger L`` at the end (Mitiq's rule).
    """
    s = _check_scale(scale_factor)
    require_static(circuit, "unitary folding", "fold a circuit without mid-circuit operations")
    ops = list(circuit.ops)
    inverse = [_inverse_op(op) for op in reversed(ops)]
    k, frac = divmod(s - 1, 2)
    out = list(ops)
    for _ in range(int(k)):
        out += inverse + ops
    partial = int(round(frac * len(ops) / 2))
    if partial > 0:
        out += inverse[:partial] + ops[len(ops) - partial :]
    return _with_ops(circuit, out)


def fold_mask(
    num_gates: int,
    scale_factor: float,
    method: str = "from_left",
    seed: int | None = None,
    weights: Sequence[float] | None = None,
) -> list[int]:
    """How many times to fold each gate (``G -> G (G^dagger G)^m``) to reach ``scale_factor``.

    Every gate of nonzero weight gets ``floor((s - 1) / 2)`` folds; then gates in the order given
    by ``method`` get one more while that brings the total weight closer to ``s`` times the
    original (Mitiq's ``fold_gates_at_random`` for ``method="random"`` and the same ``seed``).
    """
    s = _check_scale(scale_factor)
    if method not in FOLDING_METHODS[1:]:
        raise ValueError(
            f"unknown local folding method {method!r}; choose one of"
            f" {', '.join(FOLDING_METHODS[1:])}"
        )
    w = np.ones(num_gates) if weights is None else np.asarray(weights, dtype=float)
    uniform = int((s - 1.0) / 2.0)
    odd = 2 * uniform + 1
    mask = [0 if np.isclose(x, 0.0) else uniform for x in w]
    if np.isclose(odd, s):
        return mask
    order = list(range(num_gates))
    if method == "from_right":
        order.reverse()
    elif method == "random":
        np.random.RandomState(seed).shuffle(order)
    total = w.sum()
    current = odd * total
    error = abs(current - s * total)
    for j in order:
        if np.isclose(w[j], 0.0):
            continue
        new_error = abs(current + 2 * w[j] - s * total)
        if new_error >= error:
            break
        error, current = new_error, current + 2 * w[j]
        mask[j] += 1
    return mask


def fold_gates(
    circuit: Circuit,
    scale_factor: float,
    method: str = "from_left",
    seed: int | None = None,
    exclude: Iterable[str] = (),
) -> Circuit:
    """Local folding: each gate ``G`` becomes ``G (G^dagger G)^m`` (see :func:`fold_mask`).

    Args:
        circuit: the circuit (symbols are kept).
        scale_factor: the noise scale, ``>= 1``.
        method: ``"from_left"``, ``"from_right"`` or ``"random"`` (seeded by ``seed``): which gates
            get the extra fold for a fractional scale.
        seed: seeds ``"random"``.
        exclude: gate names never folded (for example virtual ``"rz"`` gates).
    """
    excluded = set(exclude)
    require_static(circuit, "unitary folding", "fold a circuit without mid-circuit operations")
    weights = [0.0 if op.gate.name in excluded else 1.0 for op in circuit.ops]
    mask = fold_mask(len(circuit.ops), scale_factor, method, seed, weights)
    out: list[Operation] = []
    for op, m in zip(circuit.ops, mask, strict=True):
        out.append(op)
        if m:
            inv = _inverse_op(op)
            out += [inv, op] * m
    return _with_ops(circuit, out)


def fold(
    circuit: Circuit,
    scale_factor: float,
    method: str = "global",
    seed: int | None = None,
    exclude: Iterable[str] = (),
) -> Circuit:
    """Fold by ``method``: ``"global"`` or a local method of :func:`fold_gates`."""
    if method == "global":
        if tuple(exclude):
            raise ValueError(
                "exclude applies to local folding; use method='from_left' (or"
                " 'from_right', 'random')"
            )
        return fold_global(circuit, scale_factor)
    return fold_gates(circuit, scale_factor, method, seed, exclude)


def actual_scale_factor(circuit: Circuit, folded: Circuit) -> float:
    """Gates of the folded circuit over gates of the original (the realised noise scale)."""
    if not circuit.ops:
        return 1.0
    return len(folded.ops) / len(circuit.ops)
