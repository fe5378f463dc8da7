"""The circuits of the zoo's models, written as hqml circuits with one input ``x`` per sample.

PennyLane's ``Rot(phi, theta, omega)`` is ``RZ(omega) RY(theta) RZ(phi)``: :func:`rot` applies
``RZ(phi)`` first. Its broadcast patterns: ``"double"`` pairs ``(0,1), (2,3), ...``,
``"double_odd"`` pairs ``(1,2), (3,4), ...``, ``"ring"`` is ``(i, i+1 mod n)`` (one pair for two
wires).
"""

from __future__ import annotations

import math
from typing import Any

from ...circuit.circuit import Circuit
from ...circuit.templates import amplitude_encoding_angles, iqp_encoding


def rot(c: Circuit, phi: Any, theta: Any, omega: Any, wire: int) -> Circuit:
    """PennyLane's ``Rot(phi, theta, omega)`` on ``wire``."""
    return c.rz(phi, wire).ry(theta, wire).rz(omega, wire)


def pairs(n: int, pattern: str) -> list[tuple[int, int]]:
    """The wire pairs of a PennyLane broadcast pattern."""
    if pattern == "double":
        return [(i, i + 1) for i in range(0, n - 1, 2)]
    if pattern == "double_odd":
        return [(i, i + 1) for i in range(1, n - 1, 2)]
    if pattern == "ring":
        return [] if n < 2 else [(0, 1)] if n == 2 else [(i, (i + 1) % n) for i in range(n)]
    raise ValueError(f"unknown pattern {pattern!r}")


def strongly_entangling_layers(
    c: Circuit, w: Any, n_layers: int, n: int, imprimitive: str = "cx"
) -> Circuit:
    """PennyLane's ``StronglyEntanglingLayers`` (default ranges) with ``imprimitive`` ``cx`` or
    ``cz``, weights ``w[l, q, 0:3]``."""
    for layer in range(n_layers):
        for q in range(n):
            rot(c, w[layer, q, 0], w[layer, q, 1], w[layer, q, 2], q)
        if n > 1:
            r = layer % (n - 1) + 1
            for q in range(n):
                getattr(c, imprimitive)(q, (q + r) % n)
    return c


def iqp_variational_circuit(n: int, repeats: int, n_layers: int) -> Circuit:
    """``IQPEmbedding(x, n_repeats=repeats)`` then ``StronglyEntanglingLayers`` with CZ."""
    c = iqp_encoding(n, reps=repeats)
    w = c.weight("weights", (n_layers, n, 3))
    return strongly_entangling_layers(c, w, n_layers, n, "cz")


def reuploading_circuit(n: int, n_layers: int, variant: str) -> Circuit:
    """The multi-qubit data re-uploading classifier of the study (input ``x`` of ``3 n`` padded
    features; weights ``thetas (n, L+1, 3)`` and, except ``"no_scaling"``, ``omegas (L+1, 3n)``).

    Variants: ``"full"`` (the model), ``"no_scaling"``, ``"no_trainable_embedding"``,
    ``"separable"`` (the study's ablations).
    """
    c = Circuit(n)
    x = c.input("x", 3 * n)
    th = c.weight("thetas", (n, n_layers + 1, 3))
    om = c.weight("omegas", (n_layers + 1, 3 * n)) if variant != "no_scaling" else None

    def enc(layer: int, q: int, k: int) -> Any:
        return x[3 * q + k] if om is None else x[3 * q + k] * om[layer, 3 * q + k]

    def entangle(layer: int) -> None:
        for a, b in pairs(n, "double" if layer % 2 == 0 else "double_odd"):
            c.cz(a, b)

    if variant == "no_trainable_embedding":
        for layer in range(n_layers + 1):
            for q in range(n):
                rot(c, enc(layer, q, 0), enc(layer, q, 1), enc(layer, q, 2), q)
        for layer in range(n_layers + 1):
            for q in range(n):
                rot(c, th[q, layer, 0], th[q, layer, 1], th[q, layer, 2], q)
            if layer < n_layers:
                entangle(layer)
        return c
    for layer in range(n_layers + 1):
        for q in range(n):
            angles = [enc(layer, q, k) for k in range(3)]
            if variant == "full" and layer < n_layers:
                rot(c, *angles, q)
                rot(c, th[q, layer, 0], th[q, layer, 1], th[q, layer, 2], q)
            else:
                rot(c, *(angles[k] + th[q, layer, k] for k in range(3)), q)
        if layer < n_layers and variant != "separable":
            entangle(layer)
    return c


def dressed_circuit(n: int, n_layers: int, entangle: bool) -> Circuit:
    """H and ``RY(x_i)`` on every wire, then ``n_layers`` of ``RY(w[l, i])`` and a CNOT ring
    (``entangle=False``: no CNOTs, the study's separable ablation)."""
    c = Circuit(n)
    x = c.input("x", n)
    w = c.weight("circuit_weights", (n_layers, n))
    for i in range(n):
        c.h(i).ry(x[i], i)
    for layer in range(n_layers):
        for i in range(n):
            c.ry(w[layer, i], i)
        if entangle:
            for a, b in pairs(n, "ring"):
                c.cx(a, b)
    return c


def circuit_centric_circuit(n_per_copy: int, copies: int, n_layers: int) -> Circuit:
    """Amplitude encoding of the ``2^n_per_copy`` input on each of ``copies`` registers (the
    tensor power of the state), then ``StronglyEntanglingLayers`` (CNOT) on all wires. The
    input ``x`` is the encoding's gate angles: ``amplitude_angles(v, n_per_copy)`` of the
    normalised vector ``v``."""
    n = n_per_copy * copies
    c = Circuit(n)
    enc = amplitude_encoding_angles(n_per_copy, input_name="x")
    c.input("x", enc.inputs["x"].shape)
    for k in range(copies):
        c = c.compose(enc, list(range(k * n_per_copy, (k + 1) * n_per_copy)))
    w = c.weight("weights", (n_layers, n, 3))
    return strongly_entangling_layers(c, w, n_layers, n, "cx")


def tree_tensor_qubits(n_features: int) -> int:
    """The study's qubit count: a power of two holding ``ceil(log2 d)`` amplitude qubits."""
    m = max(1, math.ceil(math.log2(n_features))) if n_features > 1 else 0
    return 1 if m <= 1 else 2 ** math.ceil(math.log2(m))


def tree_tensor_circuit(n: int) -> Circuit:
    """Amplitude encoding of ``2^n`` values on ``n`` (a power of two) qubits, then the tree:
    level ``l`` puts ``RY`` on wires ``0, 2^l, 2*2^l, ...`` and ``CNOT(i + 2^l, i)`` for
    ``i = 0, 2^(l+1), ...``; a last ``RY`` on wire 0. Weights ``w (2n - 1,)``. The input
    ``x`` is the encoding's gate angles: ``amplitude_angles(v, n)`` of the vector ``v``."""
    c = Circuit(n)
    enc = amplitude_encoding_angles(n, input_name="x")
    c.input("x", enc.inputs["x"].shape)
    c = c.compose(enc)
    w = c.weight("weights", (2 * n - 1,))
    count = 0
    for level in range(int(math.log2(n))):
        for q in range(0, n, 2**level):
            c.ry(w[count], q)
            count += 1
        for i in range(0, n, 2 ** (level + 1)):
            c.cx(i + 2**level, i)
    return c.ry(w[count], 0)


def single_qubit_circuit(encoding_layers: int) -> Circuit:
    """One qubit of the separable variational model: input ``x = [x_i, w (L+1, 3) flattened]``;
    per layer ``Rot(w_l)`` then ``RY(x_i)``, then a final ``Rot(w_L)``. The per-qubit weights
    enter as inputs so that all qubits of all samples run as one batch of one-qubit circuits."""
    c = Circuit(1)
    v = c.input("x", 1 + 3 * (encoding_layers + 1))
    for layer in range(encoding_layers):
        rot(c, v[1 + 3 * layer], v[2 + 3 * layer], v[3 + 3 * layer], 0)
        c.ry(v[0], 0)
    last = 1 + 3 * encoding_layers
    return rot(c, v[last], v[last + 1], v[last + 2], 0)


def kitchen_sink_circuit(n: int) -> Circuit:
    """``RX(x_i)`` on every wire, CNOTs in the ``"double"`` pattern, then ``CNOT(i, i+2)``."""
    c = Circuit(n)
    x = c.input("x", n)
    for i in range(n):
        c.rx(x[i], i)
    for a, b in pairs(n, "double"):
        c.cx(a, b)
    for i in range(n - 2):
        c.cx(i, i + 2)
    return c


def qubits_per_copy(n_features: int) -> int:
    """``ceil(log2(d))`` qubits hold ``d`` amplitudes (at least one)."""
    return max(1, math.ceil(math.log2(n_features)))


__all__ = [
    "rot",
    "pairs",
    "strongly_entangling_layers",
    "iqp_variational_circuit",
    "reuploading_circuit",
    "dressed_circuit",
    "circuit_centric_circuit",
    "single_qubit_circuit",
    "tree_tensor_circuit",
    "tree_tensor_qubits",
    "kitchen_sink_circuit",
    "qubits_per_copy",
]
