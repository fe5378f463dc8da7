"""Measurements of torch statevectors ``(B, 2**n)``: values and the adjoint's cotangent state."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch

from ...circuit.observables import PauliSum, Word, observable_terms, z_only
from ...sim import measure
from ...sim.statevector import apply_diagonal, apply_matrix
from ..base import Expval, Probs, Sample, State, Task

# Z words measured as |psi|^2 @ signs while the (2^n, T) sign table stays this small
_ZSIGN_MAX_ELEMENTS = 2**24


def measure_state(task: Task, state: torch.Tensor) -> torch.Tensor:
    """The task's measurement of the final states ``(B, 2**n)``."""
    n = task.circuit.n_qubits
    m = task.measurement
    if isinstance(m, State):
        return state
    if isinstance(m, Probs):
        return measure.probabilities(state, n, m.wires)
    if isinstance(m, Sample):
        probs = measure.probabilities(state, n, m.wires)
        idx = measure.sample_indices(probs, task.shots or 1, task.generator)
        return measure.indices_to_bits(idx, len(m.wires))
    if isinstance(m, Expval):
        words, coeffs = observable_terms(m.observables)
        if task.shots is None:
            values = _exact_words(state, n, words)
        else:
            values = _sampled_words(state, n, words, task.shots, task.generator)
        return values @ torch.as_tensor(coeffs, dtype=values.dtype, device=values.device)
    raise TypeError(f"unknown measurement {m!r}")


def _sampled_words(
    state: torch.Tensor,
    n: int,
    words: list[Word],
    shots: int,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Estimate each word from ``shots`` samples of its qubit-wise commuting group's basis."""
    bs = state.shape[0]
    out = torch.zeros(bs, len(words), dtype=state.real.dtype, device=state.device)
    groups = PauliSum({w: 1.0 for w in words if w}).group_qwc()
    h = torch.tensor([[1, 1], [1, -1]], dtype=state.dtype, device=state.device) / 2**0.5
    hsdg = h @ torch.tensor([[1, 0], [0, -1j]], dtype=state.dtype, device=state.device)
    index = {w: i for i, w in enumerate(words)}
    if () in index:
        out[:, index[()]] = 1.0
    for group in groups:
        basis: dict[int, str] = {}
        for word in group.terms:
            basis.update(word)
        wires = sorted(basis)
        rotated = state
        for w in wires:
            if basis[w] == "X":
                rotated = apply_matrix(rotated, n, h, [w])
            elif basis[w] == "Y":
                rotated = apply_matrix(rotated, n, hsdg, [w])
        probs = measure.probabilities(rotated, n, wires)
        idx = measure.sample_indices(probs, shots, generator)
        bits = measure.indices_to_bits(idx, len(wires))  # (B, shots, k)
        for word in group.terms:
            cols = [wires.index(w) for w, _ in word]
            parity = bits[..., cols].sum(dim=-1) % 2
            out[:, index[word]] = (1 - 2 * parity).to(out.dtype).mean(dim=1)
    return out


def _zsigns(n: int, words: list[Word], dtype: torch.dtype, device: Any) -> torch.Tensor:
    """``(2**n, T)`` eigenvalues of Z-type words on every basis state (cached)."""
    return _zsigns_cached(n, tuple(words), dtype, str(device))


@lru_cache(maxsize=64)
def _zsigns_cached(n: int, words: tuple, dtype: torch.dtype, device: str) -> torch.Tensor:
    signs = measure.word_signs(n, [[w for w, _ in word] for word in words])
    return torch.from_numpy(signs).to(dtype=dtype, device=device)


def _exact_words(state: torch.Tensor, n: int, words: list[Word]) -> torch.Tensor:
    if words and z_only(words) and len(words) * 2**n <= _ZSIGN_MAX_ELEMENTS:
        probs = state.real.square() + state.imag.square()
        return probs @ _zsigns(n, words, probs.dtype, state.device)
    return measure.expval_words(state, n, words)


def cotangent_state(state: torch.Tensor, n: int, m: Any, cotangent: torch.Tensor) -> torch.Tensor:
    """``O psi`` for the Hermitian ``O`` whose expectation the cotangent weighs."""
    if isinstance(m, Probs):
        return apply_diagonal(state, n, cotangent.to(state.dtype), m.wires)
    if not isinstance(m, Expval):
        raise ValueError("the adjoint method differentiates expval and probs only")
    words, coeffs = observable_terms(m.observables)
    rdt = state.real.dtype
    w = cotangent.to(rdt) @ torch.as_tensor(coeffs.T, dtype=rdt, device=state.device)  # (B, T)
    if words and z_only(words) and len(words) * 2**n <= _ZSIGN_MAX_ELEMENTS:
        return state * (w @ _zsigns(n, words, rdt, state.device).T)
    lam = torch.zeros_like(state)
    for t, word in enumerate(words):
        lam = lam + w[:, t : t + 1] * measure.apply_word(state, n, word)
    return lam
