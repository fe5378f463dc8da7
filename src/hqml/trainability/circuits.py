"""Circuits of the trainability literature, and a circuit's weights turned into per-sample inputs.

- :func:`random_pqc`: McClean et al. 2018 (barren plateaus): an RY(pi/4) layer, then layers of
  rotations about random axes (X, Y or Z per gate) each followed by a CZ chain.
- :func:`alternating_layered`: Cerezo et al. 2021 (cost-function-dependent barren plateaus): an
  alternating layered ansatz of two-qubit blocks (RY on both wires, then CZ), bricks shifted by
  one wire every other layer.
- :func:`weights_as_inputs`: the same circuit with every weight declared as an input, so that one
  batched call evaluates many parameter sets (the batch is the leading dimension of inputs).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..circuit.circuit import Circuit
from ..circuit.serialize import circuit_to_dict

AXES = ("rx", "ry", "rz")


def random_pqc(
    n_qubits: int,
    layers: int,
    seed: int = 0,
    first_axis: str | None = None,
    weight_name: str = "w",
) -> Circuit:
    """McClean et al.'s random parameterised circuit (weights ``(layers, n_qubits)``).

    Args:
        n_qubits: wires (at least 2).
        layers: rotation + CZ-chain layers after the fixed RY(pi/4) layer.
        seed: chooses the random axis of every rotation.
        first_axis: force the axis of the first rotation (wire 0, layer 0), one of ``"rx"``,
            ``"ry"``, ``"rz"`` (an ensemble over the three averages the first gradient's axis).

    >>> random_pqc(3, 2).weights["w"].shape
    (2, 3)
    """
    if n_qubits < 2 or layers < 1:
        raise ValueError(
            f"random_pqc needs n_qubits >= 2 and layers >= 1, got {n_qubits}, {layers}"
        )
    if first_axis is not None and first_axis not in AXES:
        raise ValueError(f"first_axis must be one of {AXES}, got {first_axis!r}")
    gen = torch.Generator().manual_seed(seed)
    axes = torch.randint(3, (layers, n_qubits), generator=gen).tolist()
    c = Circuit(n_qubits)
    w = c.weight(weight_name, (layers, n_qubits))
    for q in range(n_qubits):
        c.ry(math.pi / 4, q)
    for layer in range(layers):
        for q in range(n_qubits):
            axis = first_axis if (layer, q) == (0, 0) and first_axis else AXES[axes[layer][q]]
            c.append(axis, [q], [w[layer, q]])
        for q in range(n_qubits - 1):
            c.cz(q, q + 1)
    return c


def alternating_layered(n_qubits: int, layers: int, weight_name: str = "w") -> Circuit:
    """Cerezo et al.'s alternating layered ansatz of two-qubit blocks.

    Layer ``l`` places blocks on pairs ``(2k + l % 2, 2k + 1 + l % 2)``; a block is RY on both
    wires then CZ. Weights ``(layers, n_qubits)``: ``w[l, q]`` is the RY angle on wire ``q`` in
    layer ``l`` (wires outside any block of an odd layer keep an RY, so every wire rotates).

    >>> alternating_layered(4, 2).count_ops()
    {'ry': 8, 'cz': 3}
    """
    if n_qubits < 2 or layers < 1:
        raise ValueError(
            f"alternating_layered needs n_qubits >= 2 and layers >= 1, got {n_qubits}, {layers}"
        )
    c = Circuit(n_qubits)
    w = c.weight(weight_name, (layers, n_qubits))
    for layer in range(layers):
        for q in range(n_qubits):
            c.ry(w[layer, q], q)
        for a in range(layer % 2, n_qubits - 1, 2):
            c.cz(a, a + 1)
    return c


def _retag(node: Any, names: set[str]) -> Any:
    if isinstance(node, dict):
        if node.get("kind") == "weight" and node.get("sym") in names:
            return {**node, "kind": "input"}
        return {k: _retag(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [_retag(v, names) for v in node]
    return node


def weights_as_inputs(circuit: Circuit) -> Circuit:
    """``circuit`` with its weights declared as inputs of the same names and shapes.

    >>> c = Circuit(1); w = c.weight("w", 2); _ = c.ry(w[0], 0).rz(w[1] * 2, 0)
    >>> d = weights_as_inputs(c)
    >>> sorted(d.inputs), sorted(d.weights)
    (['w'], [])
    """
    data = circuit_to_dict(circuit)
    names = set(data["weights"])
    data["inputs"] = {**data["inputs"], **data["weights"]}
    data["weights"] = {}
    data["ops"] = _retag(data["ops"], names)
    return Circuit.from_json(data)


__all__ = ["random_pqc", "alternating_layered", "weights_as_inputs", "AXES"]
