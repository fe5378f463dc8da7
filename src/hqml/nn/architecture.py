"""The search space of classifier circuits: per layer, rotation axes, entangler, re-uploading.

Every :class:`Architecture` with ``L`` layers on ``n`` wires has ``2 n L`` circuit parameters,
the size of the fixed hardware-efficient ansatz (:func:`fixed_ansatz`: RY-RZ, CNOT chain, encode
once), so any two compare at equal parameter count. :class:`QuantumClassifierNet` is the model:
``<Z_i>`` of the circuit followed by a linear read-out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ..circuit.circuit import Circuit
from ..circuit.observables import Z
from .layer import QuantumLayer

AXES = ("x", "y", "z")
ENTANGLERS = ("none", "cnot_chain", "cnot_ring", "cz_ring", "cz_all")


@dataclass(frozen=True)
class LayerGene:
    """One layer: rotation axes ``(first, second)``, the entangler, and re-uploading."""

    axes: tuple[str, str] = ("y", "z")
    entangler: str = "cnot_chain"
    reupload: bool = False

    def __post_init__(self) -> None:
        if len(self.axes) != 2 or any(a not in AXES for a in self.axes):
            raise ValueError(f"axes must be two of {AXES}, got {self.axes!r}")
        if self.entangler not in ENTANGLERS:
            raise ValueError(f"entangler must be one of {ENTANGLERS}, got {self.entangler!r}")


@dataclass(frozen=True)
class Architecture:
    """A classifier circuit: ``n_qubits`` features encoded as ``RY``, then the layers."""

    n_qubits: int
    layers: tuple[LayerGene, ...]

    def __post_init__(self) -> None:
        if self.n_qubits < 2 or not self.layers:
            raise ValueError("an architecture needs at least 2 qubits and 1 layer")

    @property
    def num_parameters(self) -> int:
        return 2 * self.n_qubits * len(self.layers)

    def describe(self) -> str:
        """``"yz:cnot_chain; xy:cz_ring+reupload"`` (layers in order)."""
        return "; ".join(
            f"{''.join(g.axes)}:{g.entangler}" + ("+reupload" if g.reupload else "")
            for g in self.layers
        )

    def circuit(self) -> Circuit:
        """The circuit with input ``"x"`` ``(n,)`` and weight ``"w"`` ``(L, n, 2)``."""
        n = self.n_qubits
        c = Circuit(n)
        x, w = c.input("x", n), c.weight("w", (len(self.layers), n, 2))
        for layer, gene in enumerate(self.layers):
            if layer == 0 or gene.reupload:
                for q in range(n):
                    c.ry(x[q], q)
            for q in range(n):
                for k, axis in enumerate(gene.axes):
                    c.append("r" + axis, [q], [w[layer, q, k]])
            _entangle(c, gene.entangler)
        return c


def _entangle(c: Circuit, kind: str) -> None:
    n = c.n_qubits
    chain = [(q, q + 1) for q in range(n - 1)]
    ring = chain + ([(n - 1, 0)] if n > 2 else [])
    if kind == "cnot_chain":
        for a, b in chain:
            c.cnot(a, b)
    elif kind == "cnot_ring":
        for a, b in ring:
            c.cnot(a, b)
    elif kind == "cz_ring":
        for a, b in ring:
            c.cz(a, b)
    elif kind == "cz_all":
        for a in range(n):
            for b in range(a + 1, n):
                c.cz(a, b)


def fixed_ansatz(n_qubits: int, n_layers: int) -> Architecture:
    """The hardware-efficient baseline: RY-RZ rotations and a CNOT chain, features encoded once
    (the same circuit as ``angle_encoding(n)`` + ``hardware_efficient(n, L)``)."""
    return Architecture(n_qubits, tuple(LayerGene() for _ in range(n_layers)))


def random_architecture(n_qubits: int, n_layers: int, rng: np.random.Generator) -> Architecture:
    genes = []
    for _ in range(n_layers):
        axes = (str(rng.choice(AXES)), str(rng.choice(AXES)))
        genes.append(LayerGene(axes, str(rng.choice(ENTANGLERS)), bool(rng.random() < 0.5)))
    return Architecture(n_qubits, tuple(genes))


def mutate(arch: Architecture, rng: np.random.Generator) -> Architecture:
    """Change exactly one gene of one layer to a different value."""
    layer = int(rng.integers(len(arch.layers)))
    g = arch.layers[layer]
    field_ = ("axis0", "axis1", "entangler", "reupload")[int(rng.integers(4))]
    if field_.startswith("axis"):
        k = int(field_[-1])
        axes = list(g.axes)
        axes[k] = str(rng.choice([a for a in AXES if a != axes[k]]))
        new = replace(g, axes=tuple(axes))
    elif field_ == "entangler":
        new = replace(g, entangler=str(rng.choice([e for e in ENTANGLERS if e != g.entangler])))
    else:
        new = replace(g, reupload=not g.reupload)
    layers = list(arch.layers)
    layers[layer] = new
    return Architecture(arch.n_qubits, tuple(layers))


class QuantumClassifierNet(nn.Module):
    """``<Z_i>`` of the architecture's circuit, then a linear read-out to the class logits."""

    def __init__(self, arch: Architecture, n_classes: int, seed: int):
        super().__init__()
        obs = [Z(q) for q in range(arch.n_qubits)]
        self.quantum = QuantumLayer(arch.circuit(), obs, seed=seed, diff_method="adjoint")
        # skip_init: torch's own init would draw from the global RNG (hidden state)
        self.head = nn.utils.skip_init(nn.Linear, arch.n_qubits, n_classes)
        gen = torch.Generator().manual_seed(seed)
        bound = arch.n_qubits**-0.5  # torch's default range, drawn from our generator
        with torch.no_grad():
            self.head.weight.uniform_(-bound, bound, generator=gen)
            self.head.bias.uniform_(-bound, bound, generator=gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.quantum(x))
