"""Pauli-word expectation values of batched statevectors against dense matrices."""

from functools import reduce

import numpy as np
import torch

from hqml.sim import measure

PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


def dense(word, n):
    labels = ["I"] * n
    for w, p in word:
        labels[w] = p
    return reduce(np.kron, [PAULI[x] for x in labels])


def test_single_z_words_and_others_match_dense_algebra():
    """Every wire's Z (computed together by halving the register) mixed with other words."""
    rng = np.random.default_rng(5)
    n, bs = 5, 3
    psi = rng.normal(size=(bs, 2**n)) + 1j * rng.normal(size=(bs, 2**n))
    psi /= np.linalg.norm(psi, axis=1, keepdims=True)
    words = [((w, "Z"),) for w in (3, 0, 4, 1, 2)]
    words += [((0, "Z"), (2, "Z")), ((1, "X"),), ((4, "Y"), (0, "Z")), ()]
    got = measure.expval_words(torch.tensor(psi), n, words).numpy()
    want = np.array([[np.vdot(p, dense(word, n) @ p).real for word in words] for p in psi])
    np.testing.assert_allclose(got, want, atol=1e-12)
