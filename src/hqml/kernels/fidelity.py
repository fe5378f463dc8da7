"""The fidelity quantum kernel ``k(x, y) = |<psi(x)|psi(y)>|^2`` (Havlicek et al. 2019).

Exact evaluation simulates the ``N + M`` feature states once (batched) and takes the Gram matrix
from their inner products, block by block; the symmetric case computes the upper triangle of
blocks only. With ``shots`` every entry is estimated as hardware would: run the
compute-uncompute circuit ``U(y)^dagger U(x)`` and count how often all qubits read 0.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..backends.base import Backend
from ..backends.mps import worst
from ..backends.registry import get_backend
from ..circuit.circuit import Circuit
from ..circuit.expr import BinOp, Const, Expr, Function, Neg, Symbol, apply_function
from ..derived import overlaps
from ..execute import sample, state
from ..request import choose_auto
from .base import QuantumKernel, complex_dtype
from .simplify import merge_parity_phases

_BLOCK_BYTES = 2**26  # memory for one block of simulated states / samples (64 MiB)
_STATE_BUDGET = 2**31  # keep all N + M states up to this; above, stream blocks (2 GiB)


def _real(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.complex128 else torch.float32


def _auto_batch(n_qubits: int, batch_size: int | None, itemsize: int) -> int:
    if batch_size is not None:
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, numbers.Integral)
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        return int(batch_size)
    return max(1, _BLOCK_BYTES // (itemsize * 2**n_qubits))


def feature_states(
    circuit: Circuit,
    X: np.ndarray | torch.Tensor,
    weights: Mapping[str, torch.Tensor],
    *,
    backend: Any = "statevector",
    dtype: torch.dtype = torch.complex128,
    batch_size: int | None = None,
) -> torch.Tensor:
    """The states ``|psi(x)>`` of the rows of ``X``: ``(N, 2**n)``, simulated in batches.

    Differentiable in ``weights`` when they require grad (backprop through the simulator).
    """
    circuit = merge_parity_phases(circuit)  # same states up to a global phase, fewer passes
    name = next(iter(circuit.inputs))
    itemsize = 16 if dtype == torch.complex128 else 8
    b = _auto_batch(circuit.n_qubits, batch_size, itemsize)
    Xt = torch.as_tensor(X, dtype=_real(dtype))
    w = {k: v.to(_real(dtype)) for k, v in weights.items()}
    parts = [
        state(circuit, inputs={name: Xt[i : i + b]}, weights=w, backend=backend, dtype=dtype)
        for i in range(0, Xt.shape[0], b)
    ]
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def overlap_gram(psi_x: torch.Tensor, psi_y: torch.Tensor | None, block: int) -> torch.Tensor:
    """``|psi_x psi_y^H|^2`` in blocks of ``block`` rows; upper-triangle blocks when symmetric."""
    symmetric = psi_y is None
    psi_y = psi_x if psi_y is None else psi_y
    if torch.is_grad_enabled() and (psi_x.requires_grad or psi_y.requires_grad):
        return (psi_x @ psi_y.conj().T).abs() ** 2  # autograd: one functional product
    n, m = psi_x.shape[0], psi_y.shape[0]
    K = torch.empty(n, m, dtype=psi_x.real.dtype, device=psi_x.device)
    for i in range(0, n, block):
        rows = psi_x[i : i + block]
        for j in range(i if symmetric else 0, m, block):
            G = (rows @ psi_y[j : j + block].conj().T).abs().square_()
            if symmetric and j == i:  # keep the upper triangle; the matrix is exactly symmetric
                G = G.triu() + G.triu(1).T
            K[i : i + block, j : j + block] = G
            if symmetric and j != i:
                K[j : j + block, i : i + block] = G.T
    return K


def direct_gram(
    circuit: Circuit,
    X: np.ndarray,
    Y: np.ndarray | None,
    weights: Mapping[str, torch.Tensor],
    backend: Backend,
    dtype: torch.dtype,
) -> torch.Tensor:
    """``|<psi(x_i)|psi(y_j)>|^2`` from the backend's overlaps (``Backend.overlaps``)."""
    circuit = merge_parity_phases(circuit)
    name = next(iter(circuit.inputs))
    Xt = torch.as_tensor(X, dtype=_real(dtype))
    Yt = Xt if Y is None else torch.as_tensor(Y, dtype=_real(dtype))
    w = {k: v.to(_real(dtype)) for k, v in weights.items()}
    ov = overlaps(circuit, {name: Xt}, {name: Yt}, weights=w, backend=backend, dtype=dtype)
    gram = ov.abs() ** 2
    gram.truncation = getattr(ov, "truncation", None)  # type: ignore[attr-defined]
    return gram


def _rename(e: Expr, old: str, new: str) -> Expr:
    if isinstance(e, Symbol):
        return Symbol(new, e.kind, e.index) if (e.name == old and e.kind == "input") else e
    if isinstance(e, Const):
        return e
    if isinstance(e, Neg):
        return -_rename(e.arg, old, new)
    if isinstance(e, BinOp):
        return BinOp(e.op, _rename(e.left, old, new), _rename(e.right, old, new))
    if isinstance(e, Function):
        return apply_function(e.fn, _rename(e.arg, old, new))
    raise TypeError(f"cannot rename symbols in expression {e!r}")


def compute_uncompute(circuit: Circuit) -> tuple[Circuit, str, str]:
    """The circuit ``U(y)^dagger U(x)`` and the names of its two inputs (``x``, ``y``).

    The probability of reading all zeros is ``|<psi(y)|psi(x)>|^2``.
    """
    return circuit.cached(("hqml.kernels", "compute_uncompute"), lambda: _adjoint_pair(circuit))


def _adjoint_pair(circuit: Circuit) -> tuple[Circuit, str, str]:
    name = next(iter(circuit.inputs))
    other = name + "_y"
    while other in circuit.inputs or other in circuit.weights:
        other += "_"
    shape = circuit.inputs[name].shape
    out = circuit.copy()
    out.input(other, shape)
    for op in circuit.inverse().ops:
        out.append(op.gate, op.wires, [_rename(p, name, other) for p in op.params])
    return out, name, other


class FidelityKernel(QuantumKernel):
    """The fidelity kernel ``k(x, y) = |<psi(x)|psi(y)>|^2`` of a feature-map circuit.

    Args:
        feature_map: an hqml circuit with one input array of ``n_features`` values (and
            optionally weights), or a callable ``n_features -> Circuit`` such as
            ``hqml.circuit.templates.zz_feature_map``.
        weights: values for the feature map's weights, ``name -> array`` (trainable kernels).
        shots: ``None`` for exact values; an int to estimate each entry from that many runs of the
            compute-uncompute circuit.
        seed: seeds the shot sampling (each :meth:`evaluate` call restarts from it).
        backend: an hqml backend name or instance.
        batch_size: samples simulated together (and Gram block size); ``None`` sizes blocks to
            about 64 MiB of amplitudes.
        dtype: ``"complex128"`` (default) or ``"complex64"`` (faster, about 1e-6 accurate).
        noise_model: a ``hqml.noise.NoiseModel``: exact values become ``Tr(rho(x) rho(y))`` of
            the noisy density matrices (use ``backend="density_matrix"``); with shots the
            compute-uncompute circuit runs under the noise, diagonal included, as on hardware.
        bandwidth: features are multiplied by it before the feature map,
            ``k_b(x, y) = k(b x, b y)``. On standardised features the maps' rotations are too
            large and the Gram matrix concentrates towards the identity (Shaydulin & Wild 2022);
            a bandwidth below 1 restores it. ``"auto"`` is chosen from the training data by the
            estimators' ``fit`` (:func:`hqml.kernels.select_bandwidth`).

    Example:
        >>> import numpy as np, hqml
        >>> from hqml.kernels import FidelityKernel
        >>> c = hqml.Circuit(2)
        >>> x = c.input("x", 2)
        >>> _ = c.h(0).h(1).rz(x[0], 0).rz(x[1], 1).cnot(0, 1).rz(x[0] * x[1], 1)
        >>> K = FidelityKernel(c)(np.array([[0.1, 0.2], [0.3, 0.4], [1.0, 2.0]]))
        >>> K.shape, bool(np.allclose(np.diag(K), 1.0))
        ((3, 3), True)
    """

    def _gram(
        self,
        circuit: Circuit,
        X: np.ndarray,
        Y: np.ndarray | None,
        weights: Mapping[str, torch.Tensor],
    ) -> torch.Tensor:
        cdt = complex_dtype(self.dtype)
        if self.shots is not None:
            return self._gram_shots(circuit, X, Y, weights, cdt)
        if self.noise_model is not None:
            return self._gram_noisy(circuit, X, Y, weights, cdt)
        if isinstance(self.backend, str) and self.backend == "auto":  # one state must fit
            be = choose_auto(circuit.n_qubits, 1, cdt, "cpu")  # (the states go in blocks)
        else:
            be = get_backend(self.backend)
        if not be.capabilities.holds_state:  # MPS: inner products, no 2^n vector
            return direct_gram(circuit, X, Y, weights, be, cdt)
        itemsize = 16 if cdt == torch.complex128 else 8
        n_states = X.shape[0] + (0 if Y is None else Y.shape[0])
        if n_states * itemsize * 2**circuit.n_qubits > _STATE_BUDGET and not (
            torch.is_grad_enabled() and any(w.requires_grad for w in weights.values())
        ):
            return self._gram_streamed(circuit, X, Y, weights, cdt)
        psi_x = feature_states(
            circuit, X, weights, backend=self.backend, dtype=cdt, batch_size=self.batch_size
        )
        psi_y = (
            None
            if Y is None
            else feature_states(
                circuit, Y, weights, backend=self.backend, dtype=cdt, batch_size=self.batch_size
            )
        )
        block = _auto_batch(circuit.n_qubits, self.batch_size, 16 if cdt == torch.complex128 else 8)
        return overlap_gram(psi_x, psi_y, block)

    def _gram_noisy(
        self,
        circuit: Circuit,
        X: np.ndarray,
        Y: np.ndarray | None,
        weights: Mapping[str, torch.Tensor],
        cdt: torch.dtype,
    ) -> torch.Tensor:
        """``Tr(rho(x) rho(y))`` from flattened density matrices (Hermitian: one product)."""
        name = next(iter(circuit.inputs))
        rdt = _real(cdt)
        w = {k: v.to(rdt) for k, v in weights.items()}

        def rhos(A: np.ndarray) -> torch.Tensor:
            r = state(
                circuit,
                inputs={name: torch.as_tensor(A, dtype=rdt)},
                weights=w,
                backend=self.backend,
                dtype=cdt,
                noise_model=self.noise_model,
            )
            return r.reshape(r.shape[0], -1)

        rx = rhos(X)
        ry = rx if Y is None else rhos(Y)
        return (rx @ ry.conj().T).real

    def diag(self, X: Any) -> np.ndarray:
        """``k(x, x)``: ones for pure states; the purity ``Tr(rho(x)^2)`` under noise."""
        if self.noise_model is None or self.shots is not None:
            return super().diag(X)
        return np.diag(self.evaluate(X)).copy()

    def _gram_streamed(
        self,
        circuit: Circuit,
        X: np.ndarray,
        Y: np.ndarray | None,
        weights: Mapping[str, torch.Tensor],
        cdt: torch.dtype,
    ) -> torch.Tensor:
        """Bounded memory for many states: hold two blocks, re-simulate column blocks."""
        b = _auto_batch(circuit.n_qubits, self.batch_size, 16 if cdt == torch.complex128 else 8)
        symmetric = Y is None
        Y = X if Y is None else Y
        K = torch.empty(X.shape[0], Y.shape[0], dtype=_real(cdt))

        def states(A: np.ndarray) -> torch.Tensor:
            return feature_states(
                circuit, A, weights, backend=self.backend, dtype=cdt, batch_size=b
            )

        for i in range(0, X.shape[0], b):
            rows = states(X[i : i + b])
            for j in range(i if symmetric else 0, Y.shape[0], b):
                cols = rows if symmetric and j == i else states(Y[j : j + b])
                G = overlap_gram(rows, None, b) if cols is rows else overlap_gram(rows, cols, b)
                K[i : i + b, j : j + b] = G
                if symmetric and j != i:
                    K[j : j + b, i : i + b] = G.T
        return K

    def _gram_shots(
        self,
        circuit: Circuit,
        X: np.ndarray,
        Y: np.ndarray | None,
        weights: Mapping[str, torch.Tensor],
        cdt: torch.dtype,
    ) -> torch.Tensor:
        shots = self.shots
        if isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1:
            raise ValueError(f"shots must be a positive integer or None, got {shots!r}")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral)
        ):
            raise ValueError(f"seed must be an int or None, got {self.seed!r}")
        gen = torch.Generator()
        gen.manual_seed(int(self.seed)) if self.seed is not None else gen.seed()
        cu, xname, yname = compute_uncompute(circuit)
        n, m = X.shape[0], (X if Y is None else Y).shape[0]
        if Y is None:  # the diagonal is 1 for pure states; under noise hardware must measure it
            rows, cols = np.triu_indices(n, k=0 if self.noise_model is not None else 1)
        else:
            rows, cols = (a.ravel() for a in np.indices((n, m)))
        rdt = _real(cdt)
        Xt = torch.as_tensor(X, dtype=rdt)
        Yt = Xt if Y is None else torch.as_tensor(Y, dtype=rdt)
        w = {k: v.to(rdt) for k, v in weights.items()}
        per_pair = max(shots * circuit.n_qubits * 8, 16 * 2**circuit.n_qubits)
        b = self.batch_size or max(1, _BLOCK_BYTES // per_pair)
        est = torch.empty(len(rows), dtype=torch.float64)
        report = None  # an MPS backend's truncations, the worst block's
        for s in range(0, len(rows), b):
            r = torch.as_tensor(rows[s : s + b])
            c = torch.as_tensor(cols[s : s + b])
            bits = sample(
                cu,
                shots,
                inputs={xname: Xt[r], yname: Yt[c]},
                weights=w,
                backend=self.backend,
                seed=gen,
                dtype=cdt,
                noise_model=self.noise_model,
            )
            est[s : s + b] = (bits.sum(-1) == 0).to(torch.float64).mean(-1)
            report = worst(report, getattr(bits, "truncation", None))
        K = (
            torch.ones(n, m, dtype=torch.float64)
            if Y is None
            else torch.empty(n, m, dtype=torch.float64)
        )
        K[rows, cols] = est
        if Y is None:
            K[cols, rows] = est
        K.truncation = report  # type: ignore[attr-defined]
        return K


__all__ = ["FidelityKernel", "feature_states", "overlap_gram", "compute_uncompute"]
