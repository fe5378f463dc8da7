"""WeiNet, the quantum convolutional network of Wei et al. (arXiv:2104.06918, fig. 2) as the
qml-benchmarks study (Bowles, Ahmed & Schuld 2024) implements it.

The image is amplitude-encoded on ``2 m`` qubits (``m`` for the rows, ``m`` for the columns of
the image padded to ``2^m x 2^m``); a classical mixture (weights ``softmax(s)``) of nine
unitaries that shift the rows and columns cyclically by -1, 0 or 1 acts on it; the last row and
column qubits are traced out (pooling) and every ``<Z_i>`` and ``<Z_i Z_j>`` of the others, plus
a constant, goes into a linear read-out. A cyclic shift permutes basis states, so every such
expectation is a sum of the permuted probabilities ``|x_rc|^2 / |x|^2`` with signs: hqml computes
these exact values directly (no ``2^{2m}`` statevector per shift).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from .base import LogitReadout, ZooClassifier, check_qubits

FILTERS = ("edge_detect", "smooth", "sharpen")
SHIFTS = (-1, 0, 1)


def weinet_qubits(n_features: int) -> int:
    """``2 ceil(log2 h)`` qubits for ``h x h`` images (``h = sqrt(n_features)``)."""
    side = math.isqrt(n_features)
    if side * side != n_features or side < 3:
        raise ValueError(
            f"WeiNet reads square images of at least 3x3 pixels; {n_features} features are not"
            " one (flatten h x h images row by row, h >= 3)"
        )
    return 2 * math.ceil(math.log2(side))


def readout_signs(m: int) -> torch.Tensor:
    """``(n_obs, 2^m, 2^m)`` values of the read-out observables on every basis state ``(r, c)``:
    ``Z_i`` and ``Z_i Z_j`` (``i < j``) over the qubits kept after pooling, in the study's order,
    then the identity. Wires ``0..m-1`` hold the row (wire 0 its highest bit), ``m..2m-1`` the
    column; the pooled qubits are ``m - 1`` and ``2m - 1``."""
    side = 2**m
    idx = torch.arange(side)
    bits = [((idx >> (m - 1 - w)) & 1) for w in range(m)]
    z = [1.0 - 2.0 * b.to(torch.float64) for b in bits]
    planes = [z[w][:, None].expand(side, side) for w in range(m)]
    planes += [z[w][None, :].expand(side, side) for w in range(m)]
    kept = [w for w in range(2 * m - 1) if w != m - 1]
    obs = []
    for a, i in enumerate(kept):
        obs.append(planes[i])
        obs += [planes[i] * planes[j] for j in kept[a + 1 :]]
    obs.append(torch.ones(side, side, dtype=torch.float64))
    return torch.stack(obs)


class WeiNet(LogitReadout, ZooClassifier):
    """Quantum convolutional network (Wei et al. 2021, arXiv:2104.06918; the study's ``WeiNet``):
    amplitude encoding of the (zero-padded) ``h x h`` image, a trainable classical mixture
    ``softmax(s)`` of the nine row/column shift unitaries, pooling of the last row and column
    qubit, a linear model on all kept ``<Z_i>``, ``<Z_i Z_j>`` and a constant; sigmoid
    cross-entropy. Inputs are only multiplied by ``scaling`` (as in the study). ``s`` starts
    standard normal, the read-out weights normal over their number.

    Departures: ``diagonal_shifts=False`` (default) mixes all nine (row shift, column shift)
    pairs, as the paper's filter positions; the study's code applies the row shift to both
    rows and columns (three distinct unitaries, each three times), which
    ``diagonal_shifts=True`` reproduces (``hqml compare`` uses it). ``filter_name`` (the study's
    grid) has no effect, exactly as in the study's code: the filter's values cancel when its
    shift matrices are normalised to unitaries, and the mixture weights are trained. Images
    smaller than 3x3 are refused (the study's read-out count fails there).
    """

    _preprocessing = "none"

    def __init__(
        self,
        filter_name: str = "edge_detect",
        diagonal_shifts: bool = False,
        learning_rate: float = 0.1,
        batch_size: int = 32,
        max_steps: int = 10000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
    ):
        self.filter_name = filter_name
        self.diagonal_shifts = diagonal_shifts
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        if self.filter_name not in FILTERS:
            raise ValueError(f"filter_name must be one of {FILTERS}, got {self.filter_name!r}")
        n = check_qubits(weinet_qubits(n_features), "WeiNet")
        self.n_qubits_ = n
        self.side_ = math.isqrt(n_features)
        self._signs = readout_signs(n // 2)
        if self.diagonal_shifts:
            self._shifts = [(a, a) for a in SHIFTS for _ in SHIFTS]
        else:
            self._shifts = [(a, b) for a in SHIFTS for b in SHIFTS]
        k = self._signs.shape[0]
        f64 = torch.float64
        return {
            "s": torch.randn(9, generator=gen, dtype=f64),
            "weights": torch.randn(k, generator=gen, dtype=f64) / k,
        }

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        b, h = X.shape[0], self.side_
        side = 2 ** (self.n_qubits_ // 2)
        img = torch.zeros(b, side, side, dtype=X.dtype)
        img[:, :h, :h] = X.reshape(b, h, h)
        p = img**2
        p = p / p.sum(dim=(1, 2), keepdim=True)  # amplitude encoding's probabilities
        mix = torch.softmax(params["s"], 0)
        expvals = 0
        for w, (dr, dc) in zip(mix, self._shifts, strict=True):
            # (S_k v)_i = v_{i+k}: the shifted state's probability at (r, c) is p[r+dr, c+dc]
            shifted = torch.roll(p, shifts=(-dr, -dc), dims=(1, 2))
            expvals = expvals + w * torch.einsum("brc,orc->bo", shifted, self._signs)
        return expvals @ params["weights"]


__all__ = ["WeiNet", "weinet_qubits", "readout_signs"]
