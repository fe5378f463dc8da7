"""The ad hoc dataset of Havlicek et al. (2019), separable by the ZZ feature map by construction.

Points ``x`` are drawn uniformly from ``[0, 2 pi)^n`` and mapped to
``|Phi(x)> = U_Phi(x) H^n U_Phi(x) H^n |0>`` with
``U_Phi(x) = exp(i sum_i x_i Z_i + i sum_{i<j} (pi - x_i)(pi - x_j) Z_i Z_j)``.
The label is the sign of ``<Phi(x)| V^dagger Z^n V |Phi(x)>`` for a random unitary ``V`` (fixed
by the seed); points whose value lies within ``gap`` of zero are rejected, so the two classes
are separated by a margin in the feature space of the ZZ feature map (two repetitions, all
pairs).
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

_MAX_QUBITS = 10


def _haar_unitary(rng: np.random.Generator, d: int) -> np.ndarray:
    z = (rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def _signs(n: int) -> np.ndarray:
    """``(2**n, n)``: eigenvalue (+-1) of ``Z_i`` on each basis state (wire 0 the MSB)."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)[None, :]) & 1
    return 1.0 - 2.0 * bits


def feature_states(X: np.ndarray) -> np.ndarray:
    """``(N, 2**n)``: ``U_Phi(x) H U_Phi(x) H |0>`` for each row of ``X`` (dense, NumPy)."""
    n = X.shape[1]
    s = _signs(n)
    phase = X @ s.T  # sum_i x_i z_i
    for i, j in itertools.combinations(range(n), 2):
        phase += np.outer((np.pi - X[:, i]) * (np.pi - X[:, j]), s[:, i] * s[:, j])
    diag = np.exp(1j * phase)
    hn = np.array([[1.0]])
    for _ in range(n):
        hn = np.kron(hn, np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2))
    psi = diag * hn[:, 0][None, :]  # U H |0>
    return diag * (psi @ hn.T)  # U H U H |0>


def ad_hoc(
    training_size: int,
    test_size: int,
    n: int = 2,
    gap: float = 0.3,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Generate the ad hoc dataset: ``X_train, y_train, X_test, y_test``.

    Args:
        training_size: training samples per class.
        test_size: test samples per class.
        n: features (= qubits of the ZZ feature map), 1 to 10.
        gap: the margin: ``|<O>| >= gap`` for every kept point (0 <= gap < 1).
        seed: seeds the random unitary ``V`` and the points.

    Returns:
        Features ``(2 * size, n)`` in ``[0, 2 pi)`` and labels ``{0, 1}`` (int64), shuffled.

    Raises:
        ValueError: bad sizes, ``n`` or ``gap``, or a gap so large no points are found.

    >>> X, y, Xt, yt = ad_hoc(5, 2, n=2, gap=0.3, seed=0)
    >>> X.shape, int(y.sum()), Xt.shape
    ((10, 2), 5, (4, 2))
    """
    for name, value, low in (
        ("training_size", training_size, 0),
        ("test_size", test_size, 0),
        ("n", n, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if n > _MAX_QUBITS:
        raise ValueError(
            f"n must be at most {_MAX_QUBITS} (dense simulation of 2**n amplitudes), got {n}"
        )
    if not 0 <= gap < 1:
        raise ValueError(f"gap must be in [0, 1) (|<O>| <= 1), got {gap!r}")
    rng = np.random.default_rng(seed)
    V = _haar_unitary(rng, 2**n)
    parity = np.prod(_signs(n), axis=1)
    O = V.conj().T @ (parity[:, None] * V)
    need = training_size + test_size
    found: list[list[np.ndarray]] = [[], []]
    counts = [0, 0]
    for _ in range(1000):
        if min(counts) >= need:
            break
        X = rng.uniform(0.0, 2 * np.pi, size=(max(64, 4 * need), n))
        psi = feature_states(X)
        value = np.einsum("bi,ij,bj->b", psi.conj(), O, psi).real
        for label, keep in ((1, value >= gap), (0, value <= -gap)):
            take = X[keep][: need - counts[label]]
            found[label].append(take)
            counts[label] += len(take)
    if min(counts) < need:
        raise ValueError(
            f"could not find {need} points per class with gap={gap}; use a smaller gap"
        )
    splits = []
    for label in (0, 1):
        pts = np.concatenate(found[label]) if found[label] else np.zeros((0, n))
        splits.append((pts[:training_size], pts[training_size:need]))
    out = []
    for part in (0, 1):
        X = np.concatenate([splits[0][part], splits[1][part]])
        y = np.concatenate(
            [np.zeros(len(splits[0][part]), np.int64), np.ones(len(splits[1][part]), np.int64)]
        )
        order = rng.permutation(len(y))
        out.extend([X[order], y[order]])
    return out[0], out[1], out[2], out[3]


__all__ = ["ad_hoc", "feature_states"]
