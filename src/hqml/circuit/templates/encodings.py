"""Data encodings (feature maps): angle, basis, IQP and Qiskit's ZZ feature map.

Each function returns a new :class:`~hqml.circuit.Circuit` that declares one input vector
(named ``input_name``) so it can be composed with an ansatz and evaluated on a batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..circuit import Circuit
from ._common import check_count, check_qubits, entangling_pairs

_ROTATIONS = {"x": "rx", "y": "ry", "z": "rz"}


def angle_encoding(n_qubits: int, rotation: str = "y", input_name: str = "x") -> Circuit:
    """One feature per qubit as a rotation angle: ``R_rotation(x_i)`` on wire ``i``.

    Args:
        n_qubits: number of qubits (= number of features).
        rotation: ``"x"``, ``"y"`` or ``"z"`` (``"z"`` acts as a phase; put a Hadamard layer
            before it when starting from ``|0>``).
        input_name: name of the input vector of shape ``(n_qubits,)``.

    >>> angle_encoding(2).count_ops()
    {'ry': 2}
    """
    n = check_qubits(n_qubits, "angle_encoding")
    if rotation not in _ROTATIONS:
        raise ValueError(
            f"angle_encoding: rotation must be one of {tuple(_ROTATIONS)}, got {rotation!r}"
        )
    c = Circuit(n)
    x = c.input(input_name, n)
    for i in range(n):
        c.append(_ROTATIONS[rotation], [i], [x[i]])
    return c


def basis_encoding(n_qubits: int, input_name: str = "x") -> Circuit:
    """Bits ``x_i`` in {0, 1} as the basis state ``|x_0 x_1 ... x_{n-1}>`` (wire 0 first).

    Each wire gets ``U(pi x_i, 0, pi x_i)``, which is exactly the identity for 0 and X for 1, so
    the circuit stays a plain basis-state preparation for any batch of bit vectors.

    >>> basis_encoding(3).count_ops()
    {'u': 3}
    """
    n = check_qubits(n_qubits, "basis_encoding")
    c = Circuit(n)
    x = c.input(input_name, n)
    for i in range(n):
        c.u(math.pi * x[i], 0.0, math.pi * x[i], i)
    return c


def iqp_encoding(
    n_qubits: int,
    reps: int = 1,
    pairs: str | Sequence[Sequence[int]] = "full",
    input_name: str = "x",
) -> Circuit:
    """The IQP embedding (Havlicek et al. 2019; PennyLane's ``IQPEmbedding``).

    Per repetition: H on every wire, ``RZ(x_i)`` on wire ``i``, then ``RZZ(x_i x_j)`` on each
    pair (``exp(-i x_i x_j Z_i Z_j / 2)``).

    Args:
        n_qubits: number of qubits (= number of features).
        reps: number of repetitions.
        pairs: ``"full"``, ``"linear"``, ``"circular"`` or a list of wire pairs.
        input_name: name of the input vector.
    """
    n = check_qubits(n_qubits, "iqp_encoding")
    reps = check_count(reps, "reps", "iqp_encoding")
    pair_list = entangling_pairs(n, pairs, "iqp_encoding")
    c = Circuit(n)
    x = c.input(input_name, n)
    for _ in range(reps):
        for i in range(n):
            c.h(i)
        for i in range(n):
            c.rz(x[i], i)
        for i, j in pair_list:
            c.rzz(x[i] * x[j], i, j)
    return c


def zz_feature_map(
    n_qubits: int,
    reps: int = 2,
    entanglement: str | Sequence[Sequence[int]] = "full",
    input_name: str = "x",
) -> Circuit:
    """Qiskit's ``ZZFeatureMap`` (Havlicek et al. 2019), gate for gate.

    Per repetition: H on every wire, ``P(2 x_i)`` on wire ``i``, then for each pair ``(i, j)``:
    ``CX(i, j)``, ``P(2 (pi - x_i)(pi - x_j))`` on ``j``, ``CX(i, j)``.

    Args:
        n_qubits: number of qubits (= number of features).
        reps: number of repetitions (Qiskit's default is 2).
        entanglement: ``"full"`` (pairs ``i < j``), ``"linear"``, ``"circular"`` or a list of pairs.
        input_name: name of the input vector of shape ``(n_qubits,)``.

    >>> zz_feature_map(2, reps=1).count_ops()
    {'h': 2, 'p': 3, 'cx': 2}
    """
    n = check_qubits(n_qubits, "zz_feature_map")
    reps = check_count(reps, "reps", "zz_feature_map")
    pair_list = entangling_pairs(n, entanglement, "zz_feature_map")
    c = Circuit(n)
    x = c.input(input_name, n)
    for _ in range(reps):
        for i in range(n):
            c.h(i)
        for i in range(n):
            c.p(2.0 * x[i], i)
        for i, j in pair_list:
            c.cx(i, j)
            c.p(2.0 * (math.pi - x[i]) * (math.pi - x[j]), j)
            c.cx(i, j)
    return c
