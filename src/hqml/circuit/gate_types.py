"""The :class:`Gate` value and its two derived kinds, :class:`UnitaryGate` (a user's matrix) and
:class:`ControlledGate` (a gate with control wires).

A :class:`Gate` is a value: a name, an arity, a parameter count and a matrix function. Fixed
gates are given by their matrix; rotation-like gates by a Hermitian generator ``G`` with
``U(theta) = exp(-i theta G)``, from which the matrix, its derivative, the inverse and the
parameter-shift frequencies all follow. The simulator reads ``structure`` to apply diagonal and
monomial (permutation times phases) gates without dense matrix products. The standard library
of named gates is :mod:`hqml.circuit.gates`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import torch

_PI = math.pi
# the standard library's gates by name (filled by hqml.circuit.gates): a built-in gate is equal
# to another by name, and its JSON is its name
BUILTIN: dict[str, Gate] = {}
_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}
_REAL = {torch.complex64: torch.float32, torch.complex128: torch.float64}


def complex_dtype(real: torch.dtype) -> torch.dtype:
    return _COMPLEX.get(real, real)


def real_dtype(cplx: torch.dtype) -> torch.dtype:
    return _REAL.get(cplx, cplx)


def _classify(m: np.ndarray) -> str:
    off = m - np.diag(np.diag(m))
    if np.allclose(off, 0, atol=1e-12):
        return "diagonal"
    nz = np.abs(m) > 1e-12
    if (nz.sum(axis=0) == 1).all() and (nz.sum(axis=1) == 1).all():
        return "monomial"
    return "dense"


class Gate:
    """A gate definition: ``num_wires`` qubits, ``num_params`` real parameters.

    Args:
        name: the canonical name (also the QASM name where one exists).
        num_wires: arity.
        matrix: the fixed matrix (for gates without parameters).
        generators: for parametrized gates of the form ``exp(-i theta G)``, the Hermitian ``G``
            (one parameter).
        matrix_fn: for other parametrized gates, ``params (..., p) -> (..., d, d)``; then
            ``derivative_fn`` and ``spectra`` (eigenvalues of each parameter's effective generator,
            used by parameter-shift rules) must be given too.
    """

    def __init__(
        self,
        name: str,
        num_wires: int,
        *,
        matrix: Any = None,
        generator: Any = None,
        matrix_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        derivative_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        num_params: int = 0,
        spectra: Sequence[Sequence[float]] | None = None,
        structure: str | None = None,
        inverse: Callable[[tuple], tuple[Gate, tuple]] | None = None,
        qasm2: str | None = None,
        qasm3: str | None = None,
        label: str | None = None,
    ):
        self.name = name
        self.num_wires = num_wires
        self.dim = 2**num_wires
        self.qasm2_name = qasm2
        self.qasm3_name = qasm3
        self.label = label or name.upper()
        self._inverse = inverse
        self._cache: dict[Any, Any] = {}
        if matrix is not None:
            self._fixed = np.asarray(matrix, dtype=np.complex128) + 0.0  # no negative zeros
            if self._fixed.shape != (self.dim, self.dim):
                raise ValueError(f"gate {name}: matrix must be {self.dim}x{self.dim}")
            self.num_params = 0
            self.structure = structure or _classify(self._fixed)
            self.generator = None
            self.spectra: tuple[tuple[float, ...], ...] = ()
        elif generator is not None:
            g = np.asarray(generator, dtype=np.complex128)
            if not np.allclose(g, g.conj().T):
                raise ValueError(f"gate {name}: generator must be Hermitian")
            self._fixed = None
            self.generator = g
            self.num_params = 1
            self._evals, self._evecs = np.linalg.eigh(g)
            self.spectra = (tuple(float(e) for e in self._evals),)
            self.structure = structure or ("diagonal" if _classify(g) == "diagonal" else "dense")
        else:
            if matrix_fn is None or derivative_fn is None or spectra is None:
                raise ValueError(
                    f"gate {name}: give matrix, generator, or matrix_fn+derivative_fn+spectra"
                )
            self._fixed = None
            self.generator = None
            self._matrix_fn, self._derivative_fn = matrix_fn, derivative_fn
            self.num_params = num_params
            self.spectra = tuple(tuple(s) for s in spectra)
            self.structure = structure or "dense"

    # --- value semantics --------------------------------------------------------------------
    def _key(self) -> tuple:
        if BUILTIN.get(self.name) is self:
            return (self.name,)
        # a user gate: equal by definition, not by name
        data = self._fixed if self._fixed is not None else self.generator
        if data is None:
            return (self.name, id(self))
        return (self.name, self.num_wires, np.round(data, 12).tobytes())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Gate) and type(self) is type(other) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Gate({self.name!r})"

    def to_json(self) -> Any:
        if BUILTIN.get(self.name) is self:
            return {"name": self.name}
        if self._fixed is not None:
            return {
                "name": "gate",
                "id": self.name,
                "real": self._fixed.real.tolist(),
                "imag": self._fixed.imag.tolist(),
            }
        if self.generator is not None:
            return {
                "name": "gate",
                "id": self.name,
                "generator_real": self.generator.real.tolist(),
                "generator_imag": self.generator.imag.tolist(),
            }
        raise ValueError(
            f"gate {self.name!r} is defined by a Python function and has no JSON form;"
            " define it by its matrix or generator"
        )

    # --- matrices ---------------------------------------------------------------------------
    @property
    def fixed_matrix(self) -> np.ndarray | None:
        """The constant matrix of a gate without parameters (complex128, not to be modified),
        None for a parametrised gate."""
        return self._fixed

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()``'s value for ``key``, computed once per gate (engines' constant forms of
        its matrices; start the key with the caller's module name)."""
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = build()
            return value

    def _const(self, key: str, value: np.ndarray, dtype: torch.dtype, device: Any) -> torch.Tensor:
        k = (key, dtype, str(device))
        t = self._cache.get(k)
        if t is None:
            t = torch.as_tensor(value, dtype=dtype, device=device)
            self._cache[k] = t
        return t

    def matrix(
        self,
        params: torch.Tensor | None = None,
        dtype: torch.dtype | None = None,
        device: Any = None,
    ) -> torch.Tensor:
        """The matrix: ``(d, d)`` if fixed, ``(..., d, d)`` for params of shape ``(..., p)``."""
        if self._fixed is not None:
            return self._const("m", self._fixed, dtype or torch.complex64, device)
        params = self._check_params(params)
        cdt = complex_dtype(params.dtype)
        if self.generator is not None:
            theta = params[..., 0]
            if self.structure == "diagonal":
                return torch.diag_embed(self.diagonal(params))
            evals = self._const("ev", self._evals, params.dtype, params.device)
            vecs = self._const("V", self._evecs, cdt, params.device)
            phases = torch.polar(torch.ones_like(theta)[..., None], -theta[..., None] * evals)
            return (vecs * phases[..., None, :]) @ vecs.mH
        return self._matrix_fn(params)

    def diagonal(
        self,
        params: torch.Tensor | None = None,
        dtype: torch.dtype | None = None,
        device: Any = None,
    ) -> torch.Tensor:
        """The diagonal of a diagonal gate: ``(d,)`` or ``(..., d)``."""
        if self.structure != "diagonal":
            raise ValueError(f"gate {self.name} is not diagonal")
        if self._fixed is not None:
            return self._const("d", np.diag(self._fixed).copy(), dtype or torch.complex64, device)
        params = self._check_params(params)
        if self.generator is not None:
            evals = self._const(
                "gd", np.diag(self.generator).real.copy(), params.dtype, params.device
            )
            theta = params[..., 0:1]
            return torch.polar(torch.ones_like(theta * evals), -theta * evals)
        return torch.diagonal(self._matrix_fn(params), dim1=-2, dim2=-1)

    @cached_property
    def monomial(self) -> tuple[tuple[int, ...], np.ndarray]:
        """For a fixed monomial gate, ``(perm, phases)`` with ``M[perm[j], j] = phases[j]``."""
        if self._fixed is None or self.structure not in ("monomial", "diagonal"):
            raise ValueError(f"gate {self.name} is not a fixed monomial gate")
        perm = tuple(int(np.argmax(np.abs(self._fixed[:, j]))) for j in range(self.dim))
        phases = np.array([self._fixed[perm[j], j] for j in range(self.dim)])
        return perm, phases

    def derivatives(self, params: torch.Tensor) -> torch.Tensor:
        """``dU/dtheta_k`` for each parameter: ``(..., p, d, d)``."""
        params = self._check_params(params)
        if self.generator is not None:
            g = self._const("G", self.generator, complex_dtype(params.dtype), params.device)
            return (-1j * (g @ self.matrix(params)))[..., None, :, :]
        return self._derivative_fn(params)

    def _check_params(self, params: torch.Tensor | None) -> torch.Tensor:
        if params is None or params.shape[-1:] != (self.num_params,):
            got = None if params is None else tuple(params.shape)
            raise ValueError(
                f"gate {self.name} takes {self.num_params} parameter(s); got shape {got}"
            )
        return params

    # --- derived gates ----------------------------------------------------------------------
    def inverse(self, params: tuple) -> tuple[Gate, tuple]:
        """The inverse as ``(gate, params)``; params are expressions or numbers."""
        if self._inverse is not None:
            return self._inverse(params)
        if self.generator is not None:
            return self, tuple(-p for p in params)
        if self._fixed is not None:
            if np.allclose(self._fixed, self._fixed.conj().T):
                return self, ()
            return UnitaryGate(self._fixed.conj().T), ()
        raise NotImplementedError(f"gate {self.name} has no inverse rule")


class UnitaryGate(Gate):
    """A fixed user matrix on ``log2(d)`` wires."""

    def __init__(self, matrix: Any, label: str = "U"):
        m = (
            matrix.detach().cpu().numpy()
            if isinstance(matrix, torch.Tensor)
            else np.asarray(matrix)
        )
        m = np.asarray(m, dtype=np.complex128)
        d = m.shape[0]
        n = int(round(math.log2(d))) if d > 0 else 0
        if m.ndim != 2 or m.shape != (d, d) or 2**n != d or n == 0:
            raise ValueError(f"unitary: need a 2^k x 2^k matrix, got shape {m.shape}")
        if not np.allclose(m @ m.conj().T, np.eye(d), atol=1e-6):
            raise ValueError("unitary: the matrix is not unitary (U U^dagger != I within 1e-6)")
        super().__init__("unitary", n, matrix=m, label=label)

    def _key(self) -> tuple:
        return ("unitary", np.round(self._fixed, 12).tobytes())

    def __repr__(self) -> str:
        return f"UnitaryGate({self.num_wires} wires)"

    def inverse(self, params: tuple) -> tuple[Gate, tuple]:
        return UnitaryGate(self._fixed.conj().T, self.label + "†"), ()

    def to_json(self) -> Any:
        return {
            "name": "unitary",
            "real": self._fixed.real.tolist(),
            "imag": self._fixed.imag.tolist(),
        }


MAX_CONTROLLED_WIRES = 10  # a controlled gate is a dense 2^n x 2^n matrix: 16 MiB at n = 10


class ControlledGate(Gate):
    """``base`` controlled on ``num_controls`` wires (placed first): blockdiag(I, ..., U).

    Its matrix is dense, so it is priced first: more than :data:`MAX_CONTROLLED_WIRES` wires in
    all are refused before anything is built.
    """

    def __init__(self, base: Gate, num_controls: int = 1):
        if not isinstance(num_controls, int) or num_controls < 1:
            raise ValueError(f"num_controls must be an integer >= 1, got {num_controls!r}")
        if isinstance(base, ControlledGate):
            num_controls, base = num_controls + base.num_controls, base.base
        n = base.num_wires + num_controls
        if n > MAX_CONTROLLED_WIRES:
            raise ValueError(
                f"a {num_controls}-controlled {base.name} acts on {n} wires; hqml builds"
                f" controlled gates as dense matrices up to {MAX_CONTROLLED_WIRES} wires"
                f" (2^{MAX_CONTROLLED_WIRES} x 2^{MAX_CONTROLLED_WIRES}); decompose it into"
                " gates with fewer controls"
            )
        self.base, self.num_controls = base, num_controls
        d_base, d = base.dim, 2**n
        name = "c" * num_controls + base.name
        if base.num_params == 0:
            m = np.eye(d, dtype=np.complex128)
            m[d - d_base :, d - d_base :] = base.fixed_matrix
            super().__init__(name, n, matrix=m, label=base.label)
        else:
            off = d - d_base

            def embed(x: torch.Tensor, fill: complex) -> torch.Tensor:
                out = torch.zeros(x.shape[:-2] + (d, d), dtype=x.dtype, device=x.device)
                if fill:
                    idx = torch.arange(off, device=x.device)
                    out[..., idx, idx] = fill
                out[..., off:, off:] = x
                return out

            spectra = [tuple(sorted(set(s) | {0.0})) for s in base.spectra]
            structure = "diagonal" if base.structure == "diagonal" else "dense"
            super().__init__(
                name,
                n,
                num_params=base.num_params,
                spectra=spectra,
                structure=structure,
                matrix_fn=lambda p: embed(base.matrix(p), 1.0),
                derivative_fn=lambda p: embed(base.derivatives(p), 0.0),
                label=base.label,
            )

    def _key(self) -> tuple:
        return ("ctrl", self.num_controls, self.base._key())

    def __repr__(self) -> str:
        return f"ControlledGate({self.base!r}, {self.num_controls})"

    def inverse(self, params: tuple) -> tuple[Gate, tuple]:
        g, p = self.base.inverse(params)
        return controlled(g, self.num_controls), p

    def to_json(self) -> Any:
        return {"name": "ctrl", "controls": self.num_controls, "base": self.base.to_json()}


def controlled(base: Gate, num_controls: int = 1) -> Gate:
    """``base`` with ``num_controls`` control wires (first); built-in names where they exist."""
    gate = ControlledGate(base, num_controls)
    return BUILTIN.get(gate.name, gate) if BUILTIN.get(gate.name) == gate else gate
