"""Identity blocks (Grant et al. 2019): ``V(a)`` followed by ``V(b)^dagger``, repeated.

With ``b = a`` every block is the identity, so the whole circuit starts as the identity while
every parameter is random and non-zero, which avoids starting on a barren plateau.
:class:`hqml.nn.QuantumLayer` with ``init="identity_block"`` draws ``a`` and copies it to ``b``.
"""

from __future__ import annotations

from typing import Any

from ..circuit import Circuit
from ..serialize import circuit_to_dict
from ._common import check_count


def _rename(node: Any, old: str, new: str, prefix: list[int]) -> Any:
    if isinstance(node, dict):
        if node.get("sym") == old and node.get("kind") == "weight":
            return {"sym": new, "kind": "weight", "index": prefix + list(node.get("index", []))}
        return {k: _rename(v, old, new, prefix) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename(v, old, new, prefix) for v in node]
    return node


def identity_blocks(block: Circuit, n_blocks: int, weight_name: str = "w") -> Circuit:
    """``n_blocks`` copies of ``block(a_k)`` followed by ``block(b_k)^dagger``.

    Args:
        block: a circuit with exactly one weight array (shape ``S``) and no inputs, e.g.
            ``hardware_efficient(n, 1)``.
        n_blocks: number of identity blocks.
        weight_name: name of the weight tensor, of shape ``(n_blocks, 2, *S)``: ``w[k, 0]`` are
            the parameters of the forward half of block ``k``, ``w[k, 1]`` of the inverted half.

    >>> from hqml.circuit.templates import hardware_efficient
    >>> identity_blocks(hardware_efficient(2, 1), 3).weights["w"].shape
    (3, 2, 1, 2, 2)
    """
    n_blocks = check_count(n_blocks, "n_blocks", "identity_blocks")
    if len(block.weights) != 1 or block.inputs:
        raise ValueError(
            "identity_blocks: the block must have exactly one weight array and no inputs;"
            f" it has weights {sorted(block.weights)} and inputs {sorted(block.inputs)}"
        )
    ((old, arr),) = block.weights.items()
    halves = (circuit_to_dict(block), circuit_to_dict(block.inverse()))
    shape = (n_blocks, 2) + tuple(arr.shape)
    out = Circuit(block.n_qubits)
    out.weight(weight_name, shape)
    for k in range(n_blocks):
        for half, data in enumerate(halves):
            data = dict(
                data,
                weights={weight_name: list(shape)},
                ops=_rename(data["ops"], old, weight_name, [k, half]),
            )
            for op in Circuit.from_json(data).ops:
                out.append(op)
    return out
