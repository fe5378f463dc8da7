"""Measurements of NumPy statevectors for the interpreter and NumPy engines.

A measurement is a real diagonal ``(2**n, K)`` (values ``|psi|^2 @ diag``: Z-type observables,
probabilities), a stack of dense Hermitian matrices, or the state itself; it is built once per
program and measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...circuit.observables import PauliSum, observable_terms, z_only
from ...sim.measure import word_signs
from ..base import Probs, State
from .numpy_matrices import REAL_TORCH as REAL_TORCH  # re-exported for the engines
from .numpy_matrices import real_of


@dataclass
class Measure:
    """A measurement as ``diag`` (real ``(d, K)``: values ``|psi|^2 @ diag``) or ``dense``
    (Hermitian ``(K, d, d)``)."""

    diag: np.ndarray | None = None
    dense: np.ndarray | None = None
    state: bool = False


def measure_of(prog: Any, m: Any, cdt: Any) -> Measure:
    """The measurement ``m`` for a program's register (cached on the program)."""
    if isinstance(m, State):
        return Measure(state=True)
    if isinstance(m, Probs):
        key: Any = ("probs", m.wires, cdt)
    else:
        key = ("expval", tuple(o.key() for o in m.observables), cdt)
    out = prog.measures.get(key)
    if out is not None:
        return out
    n, d = prog.n, 2**prog.n
    rdt = real_of(cdt)
    if isinstance(m, Probs):
        idx = np.arange(d)
        sub = np.zeros(d, dtype=np.int64)
        for i, w in enumerate(m.wires):
            sub |= ((idx >> (n - 1 - w)) & 1) << (len(m.wires) - 1 - i)
        diag = np.zeros((d, 2 ** len(m.wires)), dtype=rdt)
        diag[idx, sub] = 1
        out = Measure(diag=diag)
    else:
        obs: tuple[PauliSum, ...] = m.observables
        words, coeffs = observable_terms(obs)
        if z_only(words):
            signs = word_signs(n, [[w for w, _ in word] for word in words]).astype(np.float64)
            out = Measure(diag=(signs @ coeffs).astype(rdt))
        else:
            out = Measure(dense=np.stack([o.to_matrix(n) for o in obs]).astype(cdt))
    prog.measures[key] = out
    return out


def measure(meas: Measure, state: np.ndarray) -> tuple[np.ndarray, Any]:
    """Values ``(rows, K)`` (or the state) and what :func:`cotangent_state` needs."""
    if meas.state:
        return state, None
    if meas.diag is not None:
        probs = state.real**2 + state.imag**2
        return probs @ meas.diag, None
    o_psi = np.einsum("kij,bj->bki", meas.dense, state)
    return np.einsum("bi,bki->bk", state.conj(), o_psi).real, o_psi


def cotangent_state(meas: Measure, state: np.ndarray, extra: Any, cot: np.ndarray) -> np.ndarray:
    """``O psi`` for the Hermitian ``O = sum_k cot_k O_k`` the cotangent weighs."""
    if meas.diag is not None:
        return state * (cot @ meas.diag.T)
    return np.einsum("bk,bki->bi", cot.astype(extra.dtype), extra)
