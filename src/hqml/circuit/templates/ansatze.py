"""Trainable ansatze: hardware-efficient, strongly entangling layers, data re-uploading and the
tree tensor network.

Each function returns a new :class:`~hqml.circuit.Circuit` declaring its weight tensor (named
``weight_name``; data re-uploading also declares an input vector), ready to compose after an
encoding or to hand to :class:`hqml.nn.QuantumLayer`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..circuit import Circuit
from ._common import check_count, check_qubits, entangling_pairs

_ROT_GATES = ("rx", "ry", "rz")
_ENTANGLERS = ("cx", "cz", "none")


def _check_rotations(rotations: Sequence[str], template: str) -> tuple[str, ...]:
    rots = (rotations,) if isinstance(rotations, str) else tuple(rotations)
    if not rots or any(r not in _ROT_GATES for r in rots):
        raise ValueError(
            f"{template}: rotations must be a non-empty sequence of {_ROT_GATES}, got {rotations!r}"
        )
    return rots


def hardware_efficient(
    n_qubits: int,
    layers: int,
    rotations: Sequence[str] = ("ry", "rz"),
    entangler: str = "cx",
    weight_name: str = "w",
    entanglement: str | Sequence[Sequence[int]] = "linear",
) -> Circuit:
    """The hardware-efficient ansatz (Kandala et al. 2017).

    Per layer ``l``: on every wire ``q`` the rotations in order, ``rotations[k]`` with angle
    ``w[l, q, k]``; then the entangler (``"cx"``, ``"cz"`` or ``"none"``) on each pair of the
    entanglement pattern (``"linear"``: ``(0,1), (1,2), ...``).

    Args:
        n_qubits: number of qubits.
        layers: number of layers.
        rotations: rotation gates per wire and layer, from ``("rx", "ry", "rz")``.
        entangler: two-qubit gate between layers.
        weight_name: name of the weight tensor of shape ``(layers, n_qubits, len(rotations))``.
        entanglement: ``"linear"``, ``"circular"``, ``"full"`` or a list of wire pairs.

    >>> c = hardware_efficient(3, 2)
    >>> c.weights["w"].shape, c.count_ops()
    ((2, 3, 2), {'ry': 6, 'rz': 6, 'cx': 4})
    """
    n = check_qubits(n_qubits, "hardware_efficient")
    layers = check_count(layers, "layers", "hardware_efficient")
    rots = _check_rotations(rotations, "hardware_efficient")
    if entangler not in _ENTANGLERS:
        raise ValueError(
            f"hardware_efficient: entangler must be one of {_ENTANGLERS}, got {entangler!r}"
        )
    pairs = entangling_pairs(n, entanglement, "hardware_efficient") if entangler != "none" else []
    c = Circuit(n)
    w = c.weight(weight_name, (layers, n, len(rots)))
    for layer in range(layers):
        for q in range(n):
            for k, r in enumerate(rots):
                c.append(r, [q], [w[layer, q, k]])
        for a, b in pairs:
            c.append(entangler, [a, b])
    return c


def strongly_entangling(
    n_qubits: int, layers: int, weight_name: str = "w", ranges: Sequence[int] | None = None
) -> Circuit:
    """Strongly entangling layers (Schuld et al. 2020; PennyLane's ``StronglyEntanglingLayers``).

    Per layer ``l``: ``Rot(w[l,q,0], w[l,q,1], w[l,q,2]) = RZ(w2) RY(w1) RZ(w0)`` on every wire,
    then ``CX(q, (q + r_l) mod n)`` for every wire ``q``, with range ``r_l = l mod (n - 1) + 1``
    unless ``ranges`` is given. One qubit has no entanglers.

    Args:
        n_qubits: number of qubits.
        layers: number of layers.
        weight_name: name of the weight tensor of shape ``(layers, n_qubits, 3)``.
        ranges: the range of the entanglers of each layer.
    """
    n = check_qubits(n_qubits, "strongly_entangling")
    layers = check_count(layers, "layers", "strongly_entangling")
    if ranges is None:
        ranges = [(layer % (n - 1)) + 1 if n > 1 else 0 for layer in range(layers)]
    ranges = [int(r) for r in ranges]
    if len(ranges) != layers or (n > 1 and any(not 0 < r < n for r in ranges)):
        raise ValueError(
            f"strongly_entangling: ranges needs {layers} values in 1..{n - 1}, got {ranges}"
        )
    c = Circuit(n)
    w = c.weight(weight_name, (layers, n, 3))
    for layer in range(layers):
        for q in range(n):
            c.rz(w[layer, q, 0], q).ry(w[layer, q, 1], q).rz(w[layer, q, 2], q)
        if n > 1:
            for q in range(n):
                c.cx(q, (q + ranges[layer]) % n)
    return c


def data_reuploading(
    n_qubits: int,
    layers: int,
    input_name: str = "x",
    weight_name: str = "w",
    n_features: int | None = None,
) -> Circuit:
    """Data re-uploading (Perez-Salinas et al. 2020): the data is encoded again in every layer.

    Per layer ``l``: ``RY(x_f)`` on wire ``f mod n`` for every feature ``f`` (features beyond
    ``n_qubits`` wrap around), then the trainable ``RZ(w[l,q,0]) RY(w[l,q,1]) RZ(w[l,q,2])``
    on every wire, then a ring of CZ gates (a single CZ for two qubits, none for one).

    Args:
        n_qubits: number of qubits.
        layers: number of encoding + processing layers.
        input_name: name of the input vector of shape ``(n_features,)``.
        weight_name: name of the weight tensor of shape ``(layers, n_qubits, 3)``.
        n_features: number of features (default ``n_qubits``).
    """
    n = check_qubits(n_qubits, "data_reuploading")
    layers = check_count(layers, "layers", "data_reuploading")
    nf = n if n_features is None else check_count(n_features, "n_features", "data_reuploading")
    c = Circuit(n)
    x = c.input(input_name, nf)
    w = c.weight(weight_name, (layers, n, 3))
    ring = entangling_pairs(n, "circular", "data_reuploading")
    for layer in range(layers):
        for f in range(nf):
            c.ry(x[f], f % n)
        for q in range(n):
            c.rz(w[layer, q, 0], q).ry(w[layer, q, 1], q).rz(w[layer, q, 2], q)
        for a, b in ring:
            c.cz(a, b)
    return c


def tree_tensor_network(n_qubits: int, weight_name: str = "w") -> Circuit:
    """A tree tensor network classifier (Grant et al. 2018), for a power-of-two number of qubits.

    Level ``k`` (stride ``s = 2^k``) applies one block to each pair of wires
    ``(i + s - 1, i + 2s - 1)`` for ``i = 0, 2s, 4s, ...``; a block is ``RY(w[b, 0])`` on the
    first wire, ``RY(w[b, 1])`` on the second, then ``CX(first, second)``. The last wire
    (``n - 1``) carries the result; measure it (e.g. ``Z(n - 1)``).

    Args:
        n_qubits: number of qubits, a power of two (2, 4, 8, ...).
        weight_name: name of the weight tensor of shape ``(n_qubits - 1, 2)`` (one row per block).

    >>> tree_tensor_network(4).count_ops()
    {'ry': 6, 'cx': 3}
    """
    n = check_qubits(n_qubits, "tree_tensor_network", minimum=2)
    if n & (n - 1):
        raise ValueError(f"tree_tensor_network: n_qubits must be a power of two, got {n}")
    c = Circuit(n)
    w = c.weight(weight_name, (n - 1, 2))
    block, stride = 0, 1
    while stride < n:
        for i in range(0, n, 2 * stride):
            a, b = i + stride - 1, i + 2 * stride - 1
            c.ry(w[block, 0], a).ry(w[block, 1], b).cx(a, b)
            block += 1
        stride *= 2
    return c
