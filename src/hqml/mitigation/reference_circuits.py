"""The reference circuits on which the mitigation claims are stated (and tested): mirror circuits
(which compose to the identity) and a hardware-efficient VQE ansatz.

>>> mirror_circuit(4, 2).count_ops()
{'ry': 16, 'rz': 16, 'cx': 6}
"""

from __future__ import annotations

import numpy as np

from ..circuit.circuit import Circuit


def mirror_circuit(n: int = 4, layers: int = 2, seed: int = 0) -> Circuit:
    """Random layers ``U`` (RY, RZ on every wire, alternating CNOT bricks) followed by ``U^dagger``.

    The ideal final state is ``|0...0>``, so every ``<Z...Z>`` is 1.
    """
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for layer in range(layers):
        for q in range(n):
            c.ry(float(rng.uniform(-np.pi, np.pi)), q).rz(float(rng.uniform(-np.pi, np.pi)), q)
        for q in range(layer % 2, n - 1, 2):
            c.cnot(q, q + 1)
    return c + c.inverse()


def vqe_circuit(n: int = 4, layers: int = 2, seed: int = 1) -> Circuit:
    """A hardware-efficient ansatz (RY layers and CNOT chains) at fixed random angles."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(layers):
        for q in range(n):
            c.ry(float(rng.uniform(-np.pi, np.pi)), q)
        for q in range(n - 1):
            c.cnot(q, q + 1)
    for q in range(n):
        c.ry(float(rng.uniform(-np.pi, np.pi)), q)
    return c
