"""Quantum channels as Kraus operators, and readout errors.

A :class:`Channel` is a list of Kraus matrices on ``k`` wires (wire order as gates: the first wire
is the most significant bit). Constructors validate their arguments and return completely
positive, trace-preserving maps.

>>> ch = depolarizing(0.03)
>>> ch.num_wires, len(ch.kraus), ch.is_cptp()
(1, 4, True)
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from functools import reduce
from typing import Any

import numpy as np

PAULIS = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0 + 0j, -1.0]),
}


def pauli_matrix(label: str) -> np.ndarray:
    """The matrix of a Pauli string such as ``"XZ"`` (character 0 on the most significant wire)."""
    return reduce(np.kron, (PAULIS[c] for c in label), np.eye(1, dtype=complex))


def pauli_labels(k: int) -> list[str]:
    """All ``4**k`` Pauli strings on ``k`` wires, identity first."""
    return ["".join(p) for p in itertools.product("IXYZ", repeat=k)]


def _probability(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


class Channel:
    """A completely positive trace-preserving map given by Kraus operators.

    Args:
        kraus: matrices ``(d, d)`` with ``sum_k K^dagger K = I``.
        name: a short description used in ``repr``.

    Raises:
        ValueError: when the operators are not square ``2^k`` matrices or not trace preserving.
    """

    def __init__(self, kraus: Sequence[Any], name: str = "kraus"):
        ks = [np.asarray(k, dtype=np.complex128) for k in kraus]
        if not ks:
            raise ValueError("a channel needs at least one Kraus operator")
        d = ks[0].shape[0]
        k = int(round(math.log2(d))) if d > 0 else 0
        if any(m.shape != (d, d) for m in ks) or 2**k != d or k == 0:
            raise ValueError(
                f"Kraus operators must all be 2^k x 2^k; got shapes {[m.shape for m in ks]}"
            )
        self.kraus = [m for m in ks if np.abs(m).max() > 1e-15] or ks[:1]
        self.num_wires = k
        self.name = name
        completeness = sum(m.conj().T @ m for m in self.kraus)
        if not np.allclose(completeness, np.eye(d), atol=1e-8):
            raise ValueError(f"channel {name!r} is not trace preserving: sum K^dagger K != I")

    # --- views -------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return 2**self.num_wires

    def superoperator(self) -> np.ndarray:
        """``sum_k K (x) conj(K)``, acting on row-major ``vec(rho)``."""
        return sum(np.kron(m, m.conj()) for m in self.kraus)

    def choi(self) -> np.ndarray:
        """The Choi matrix ``sum_ij |i><j| (x) E(|i><j|)`` (positive semidefinite iff CP)."""
        d = self.dim
        out = np.zeros((d * d, d * d), dtype=complex)
        for i in range(d):
            for j in range(d):
                e = np.zeros((d, d), dtype=complex)
                e[i, j] = 1
                out += np.kron(e, self(e))
        return out

    def __call__(self, rho: np.ndarray) -> np.ndarray:
        """Apply to a ``(d, d)`` density matrix (NumPy; the simulators use their own kernels)."""
        return sum(m @ rho @ m.conj().T for m in self.kraus)

    def is_cptp(self, atol: float = 1e-8) -> bool:
        """Kraus completeness and a positive semidefinite Choi matrix."""
        d = self.dim
        tp = np.allclose(sum(m.conj().T @ m for m in self.kraus), np.eye(d), atol=atol)
        return bool(tp and np.linalg.eigvalsh(self.choi()).min() > -atol)

    def pauli_transfer_matrix(self) -> np.ndarray:
        """``R[i, j] = Tr(P_i E(P_j)) / d`` over :func:`pauli_labels` (real)."""
        mats = [pauli_matrix(p) for p in pauli_labels(self.num_wires)]
        cols = np.stack([m.reshape(-1) for m in mats], axis=1)  # row-major vec(P_j)
        rows = np.stack([m.T.reshape(-1) for m in mats], axis=0)  # Tr(A B) = vec(A^T) . vec(B)
        return (rows @ self.superoperator() @ cols).real / self.dim

    def pauli_probabilities(self, atol: float = 1e-9) -> dict[str, float] | None:
        """``{label: p}`` when the channel is a Pauli channel ``sum p_P P rho P``, else ``None``."""
        r = self.pauli_transfer_matrix()
        if not np.allclose(r, np.diag(np.diag(r)), atol=atol):
            return None
        probs = pauli_probs_from_fidelities(np.diag(r), self.num_wires)
        if probs.min() < -atol:
            return None
        return {p: float(v) for p, v in zip(pauli_labels(self.num_wires), probs, strict=True)}

    def compose(self, after: Channel) -> Channel:
        """The channel ``after(self(rho))`` on the same wires."""
        if after.num_wires != self.num_wires:
            raise ValueError("compose: channels act on different numbers of wires")
        return Channel(
            [b @ a for b in after.kraus for a in self.kraus], f"{after.name}∘{self.name}"
        ).simplified()

    def tensor(self, other: Channel) -> Channel:
        """``self (x) other``: ``self`` on the first wires, ``other`` on the following ones."""
        return Channel(
            [np.kron(a, b) for a in self.kraus for b in other.kraus], f"{self.name}⊗{other.name}"
        ).simplified()

    def simplified(self) -> Channel:
        """An equivalent channel with the fewest Kraus operators (from the Choi matrix)."""
        if len(self.kraus) <= self.dim * self.dim:
            return self
        return Channel(kraus_from_choi(self.choi()), self.name)

    def __repr__(self) -> str:
        return f"Channel({self.name}, wires={self.num_wires}, kraus={len(self.kraus)})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Channel)
            and other.num_wires == self.num_wires
            and np.allclose(self.superoperator(), other.superoperator(), atol=1e-10)
        )

    __hash__ = None  # type: ignore[assignment]


def kraus_from_choi(choi: np.ndarray, atol: float = 1e-12) -> list[np.ndarray]:
    """Kraus operators from a Choi matrix by eigendecomposition (see :meth:`Channel.choi`)."""
    d = int(round(math.sqrt(choi.shape[0])))
    vals, vecs = np.linalg.eigh((choi + choi.conj().T) / 2)
    if vals.min() < -1e-8:
        raise ValueError(
            "the map is not completely positive (Choi matrix has a negative eigenvalue)"
        )
    return [math.sqrt(v) * vecs[:, i].reshape(d, d).T for i, v in enumerate(vals) if v > atol]


def _commutes(a: str, b: str) -> bool:
    anti = sum(1 for x, y in zip(a, b, strict=True) if x != "I" and y != "I" and x != y)
    return anti % 2 == 0


def pauli_probs_from_fidelities(fidelities: np.ndarray, k: int) -> np.ndarray:
    """Pauli error probabilities from Pauli eigenvalues (``p_Q = 4^-k sum_P s(P,Q) f_P``)."""
    labels = pauli_labels(k)
    s = np.array([[1.0 if _commutes(p, q) else -1.0 for p in labels] for q in labels])
    return s @ np.asarray(fidelities) / 4**k


# --- constructors ---------------------------------------------------------------------------
def pauli_channel(probabilities: Mapping[str, float]) -> Channel:
    """``rho -> sum_P p_P P rho P`` from ``{"X": px, "Z": pz}`` or ``{"XZ": p, ...}``.

    The identity gets the remaining probability; all labels must have the same length.
    """
    labels = [str(k).upper() for k in probabilities]
    if not labels:
        raise ValueError("pauli_channel needs at least one Pauli label, e.g. {'X': 0.01}")
    k = len(labels[0])
    if any(len(lb) != k or set(lb) - set("IXYZ") for lb in labels):
        raise ValueError(f"Pauli labels must be strings of I/X/Y/Z of equal length, got {labels}")
    probs = {
        lb: _probability(v, f"probability of {lb}")
        for lb, v in zip(labels, probabilities.values(), strict=True)
    }
    total = sum(v for lb, v in probs.items() if lb != "I" * k)
    if total > 1 + 1e-12:
        raise ValueError(f"Pauli error probabilities sum to {total} > 1")
    probs["I" * k] = 1 - total
    return Channel(
        [math.sqrt(max(v, 0.0)) * pauli_matrix(lb) for lb, v in probs.items() if v > 0],
        f"pauli({', '.join(f'{lb}={v:g}' for lb, v in probabilities.items())})",
    )


def depolarizing(p: float, num_wires: int = 1) -> Channel:
    """Depolarizing: with probability ``p`` one of the ``4**k - 1`` non-identity Paulis, uniformly.

    This is PennyLane's and Nielsen & Chuang's convention for one qubit. Qiskit's
    ``depolarizing_error(lam, k)`` (``rho -> (1-lam) rho + lam I/d``) equals
    ``depolarizing(lam * (4**k - 1) / 4**k, k)``.
    """
    p = _probability(p, "depolarizing probability p")
    if num_wires not in (1, 2, 3):
        raise ValueError(f"depolarizing acts on 1, 2 or 3 wires, got {num_wires}")
    labels = pauli_labels(num_wires)[1:]
    ch = pauli_channel({lb: p / len(labels) for lb in labels})
    ch.name = f"depolarizing({p:g})" if num_wires == 1 else f"depolarizing{num_wires}({p:g})"
    return ch


def bit_flip(p: float) -> Channel:
    """X with probability ``p``."""
    ch = pauli_channel({"X": _probability(p, "bit-flip probability p")})
    ch.name = f"bit_flip({p:g})"
    return ch


def phase_flip(p: float) -> Channel:
    """Z with probability ``p``."""
    ch = pauli_channel({"Z": _probability(p, "phase-flip probability p")})
    ch.name = f"phase_flip({p:g})"
    return ch


def amplitude_damping(gamma: float) -> Channel:
    """Energy relaxation |1> -> |0> with probability ``gamma``."""
    g = _probability(gamma, "amplitude-damping gamma")
    return Channel(
        [np.array([[1, 0], [0, math.sqrt(1 - g)]]), np.array([[0, math.sqrt(g)], [0, 0]])],
        f"amplitude_damping({g:g})",
    )


def phase_damping(lam: float) -> Channel:
    """Pure dephasing: off-diagonal elements scaled by ``sqrt(1 - lam)``."""
    lam = _probability(lam, "phase-damping lambda")
    return Channel(
        [np.array([[1, 0], [0, math.sqrt(1 - lam)]]), np.array([[0, 0], [0, math.sqrt(lam)]])],
        f"phase_damping({lam:g})",
    )


def thermal_relaxation(t1: float, t2: float, time: float) -> Channel:
    """Relaxation to |0> during ``time`` with times ``t1`` and ``t2`` (same unit; ``t2 <= 2 t1``).

    Populations relax with ``exp(-time/t1)``; coherences decay with ``exp(-time/t2)``.
    """
    for name, v in (("t1", t1), ("t2", t2)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v > 0:
            raise ValueError(f"thermal_relaxation: {name} must be a positive number, got {v!r}")
    if isinstance(time, bool) or not isinstance(time, numbers.Real) or time < 0:
        raise ValueError(f"thermal_relaxation: time must be >= 0, got {time!r}")
    if t2 > 2 * t1 * (1 + 1e-12):
        raise ValueError(
            f"thermal_relaxation: t2={t2} exceeds 2*t1={2 * t1}; no physical channel has"
            " that; use t2 <= 2*t1"
        )
    gamma = 1 - math.exp(-time / t1)
    coherence = math.exp(-time / t2)
    # Choi matrix of rho00' = rho00 + g rho11, rho11' = (1-g) rho11, rho01' = c rho01
    choi = np.zeros((4, 4), dtype=complex)
    choi[0, 0] = 1
    choi[3, 3] = 1 - gamma
    choi[2, 2] = gamma
    choi[0, 3] = choi[3, 0] = coherence
    return Channel(
        kraus_from_choi(choi), f"thermal_relaxation(t1={t1:g}, t2={t2:g}, time={time:g})"
    )


class ReadoutError:
    """Classical misreading of one qubit.

    Args:
        probabilities: ``P[i][j]`` = probability to read ``j`` when the qubit is ``i`` (rows sum to
            one; Qiskit's ``ReadoutError`` convention).

    >>> ReadoutError.from_flips(p0to1=0.02, p1to0=0.05).confusion.tolist()
    [[0.98, 0.05], [0.02, 0.95]]
    """

    def __init__(self, probabilities: Any):
        m = np.asarray(probabilities, dtype=np.float64)
        if m.shape != (2, 2) or (m < 0).any() or not np.allclose(m.sum(axis=1), 1):
            raise ValueError(
                "ReadoutError needs a 2x2 matrix P[true][read] of probabilities whose rows"
                f" sum to 1, got {m.tolist()}"
            )
        self.probabilities = m

    @classmethod
    def from_flips(cls, p0to1: float, p1to0: float) -> ReadoutError:
        """From the probability to read 1 on |0> and to read 0 on |1>."""
        a, b = _probability(p0to1, "p0to1"), _probability(p1to0, "p1to0")
        return cls([[1 - a, a], [b, 1 - b]])

    @property
    def confusion(self) -> np.ndarray:
        """``A[read, true]``: noisy probabilities are ``A @ p``."""
        return self.probabilities.T.copy()

    def __repr__(self) -> str:
        return (
            f"ReadoutError(p0to1={self.probabilities[0, 1]:g}, p1to0={self.probabilities[1, 0]:g})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReadoutError) and np.allclose(
            self.probabilities, other.probabilities
        )

    __hash__ = None  # type: ignore[assignment]
