"""Gate definitions.

A :class:`Gate` is a value: a name, an arity, a parameter count and a matrix function. Fixed
gates are given by their matrix; rotation-like gates by a Hermitian generator ``G`` with
``U(theta) = exp(-i theta G)``, from which the matrix, its derivative, the inverse and the
parameter-shift frequencies all follow. The simulator reads ``structure`` to apply diagonal and
monomial (permutation times phases) gates without dense matrix products.

>>> import torch
>>> from hqml.circuit.gates import get_gate
>>> get_gate("rx").matrix(torch.tensor([3.14159265]))[0, 1].imag.round()
tensor(-1.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import torch

_PI = math.pi
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
        if GATES.get(self.name) is self:
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
        if GATES.get(self.name) is self:
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

    def __reduce__(self) -> tuple:
        # gates hold closures and caches; they are rebuilt from their JSON description
        return (gate_from_json, (self.to_json(),))

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


# ------------------------------------------------------------------------------------------
# built-in gates

_I2 = np.eye(2)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]])
_Z = np.diag([1.0 + 0j, -1.0])
_H = np.array([[1, 1], [1, -1]]) / math.sqrt(2)
_P1 = np.diag([0.0 + 0j, 1.0])


def _u_matrix(p: torch.Tensor) -> torch.Tensor:
    theta, phi, lam = p[..., 0], p[..., 1], p[..., 2]
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    one = torch.ones_like(theta)
    e_phi, e_lam = torch.polar(one, phi), torch.polar(one, lam)
    rows = [
        torch.stack([c + 0j * c, -e_lam * s], -1),
        torch.stack([e_phi * s, e_phi * e_lam * c], -1),
    ]
    return torch.stack(rows, -2)


def _u_derivatives(p: torch.Tensor) -> torch.Tensor:
    theta, phi, lam = p[..., 0], p[..., 1], p[..., 2]
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    one = torch.ones_like(theta)
    zero = torch.zeros_like(theta) + 0j
    e_phi, e_lam = torch.polar(one, phi), torch.polar(one, lam)

    def m(a: Any, b: Any, c_: Any, d: Any) -> torch.Tensor:
        return torch.stack([torch.stack([a, b], -1), torch.stack([c_, d], -1)], -2)

    d_theta = m(-s / 2 + 0j, -e_lam * c / 2, e_phi * c / 2, -e_phi * e_lam * s / 2)
    d_phi = m(zero, zero, 1j * e_phi * s, 1j * e_phi * e_lam * c)
    d_lam = m(zero, -1j * e_lam * s, zero, 1j * e_phi * e_lam * c)
    return torch.stack([d_theta, d_phi, d_lam], -3)


def _u_inverse(params: tuple) -> tuple[Gate, tuple]:
    theta, phi, lam = params
    return GATES["u"], (-theta, -lam, -phi)


def _named_inverse(name: str) -> Callable[[tuple], tuple[Gate, tuple]]:
    return lambda params: (GATES[name], ())


def _build() -> dict[str, Gate]:
    iswap = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])
    sx = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2
    swap = np.eye(4)[[0, 2, 1, 3]]
    gates = [
        Gate("id", 1, matrix=_I2, qasm2="id", qasm3="id", label="I"),
        Gate("h", 1, matrix=_H, qasm2="h", qasm3="h"),
        Gate("x", 1, matrix=_X, qasm2="x", qasm3="x"),
        Gate("y", 1, matrix=_Y, qasm2="y", qasm3="y"),
        Gate("z", 1, matrix=_Z, qasm2="z", qasm3="z"),
        Gate("s", 1, matrix=np.diag([1, 1j]), inverse=_named_inverse("sdg"), qasm2="s", qasm3="s"),
        Gate(
            "sdg",
            1,
            matrix=np.diag([1, -1j]),
            inverse=_named_inverse("s"),
            qasm2="sdg",
            qasm3="sdg",
            label="S†",
        ),
        Gate(
            "t",
            1,
            matrix=np.diag([1, np.exp(1j * _PI / 4)]),
            inverse=_named_inverse("tdg"),
            qasm2="t",
            qasm3="t",
        ),
        Gate(
            "tdg",
            1,
            matrix=np.diag([1, np.exp(-1j * _PI / 4)]),
            inverse=_named_inverse("t"),
            qasm2="tdg",
            qasm3="tdg",
            label="T†",
        ),
        Gate(
            "sx", 1, matrix=sx, inverse=_named_inverse("sxdg"), qasm2="sx", qasm3="sx", label="√X"
        ),
        Gate(
            "sxdg", 1, matrix=sx.conj().T, inverse=_named_inverse("sx"), qasm2="sxdg", label="√X†"
        ),
        Gate("rx", 1, generator=_X / 2, qasm2="rx", qasm3="rx"),
        Gate("ry", 1, generator=_Y / 2, qasm2="ry", qasm3="ry"),
        Gate("rz", 1, generator=_Z / 2, qasm2="rz", qasm3="rz"),
        Gate("p", 1, generator=-_P1, qasm2="p", qasm3="p", label="P"),
        Gate(
            "u",
            1,
            num_params=3,
            matrix_fn=_u_matrix,
            derivative_fn=_u_derivatives,
            spectra=[(-0.5, 0.5), (0.0, 1.0), (0.0, 1.0)],
            inverse=_u_inverse,
            qasm2="u3",
            qasm3="U",
            label="U",
        ),
        Gate("swap", 2, matrix=swap, qasm2="swap", qasm3="swap", label="×"),
        Gate("iswap", 2, matrix=iswap, label="iSWAP"),
        Gate("rxx", 2, generator=np.kron(_X, _X) / 2, qasm2="rxx", label="RXX"),
        Gate("ryy", 2, generator=np.kron(_Y, _Y) / 2, label="RYY"),
        Gate("rzz", 2, generator=np.kron(_Z, _Z) / 2, qasm2="rzz", label="RZZ"),
    ]
    table = {g.name: g for g in gates}
    table["iswap"]._inverse = lambda params: (UnitaryGate(iswap.conj().T, "iSWAP†"), ())
    return table


GATES: dict[str, Gate] = _build()


def controlled(base: Gate, num_controls: int = 1) -> Gate:
    """``base`` with ``num_controls`` control wires (first); built-in names where they exist."""
    gate = ControlledGate(base, num_controls)
    return GATES.get(gate.name, gate) if GATES.get(gate.name) == gate else gate


def _register_controlled() -> None:
    for base, n, q2, q3 in [
        ("x", 1, "cx", "cx"),
        ("y", 1, "cy", "cy"),
        ("z", 1, "cz", "cz"),
        ("h", 1, "ch", "ch"),
        ("sx", 1, "csx", None),
        ("rx", 1, "crx", "crx"),
        ("ry", 1, "cry", "cry"),
        ("rz", 1, "crz", "crz"),
        ("p", 1, "cp", "cp"),
        ("u", 1, "cu3", None),
        ("x", 2, "ccx", "ccx"),
        ("swap", 1, "cswap", "cswap"),
    ]:
        g = ControlledGate(GATES[base], n)
        g.qasm2_name, g.qasm3_name = q2, q3
        GATES[g.name] = g


_register_controlled()

ALIASES = {
    "cnot": "cx",
    "toffoli": "ccx",
    "fredkin": "cswap",
    "phase": "p",
    "cphase": "cp",
    "u3": "u",
    "i": "id",
    "cu3": "cu",
    "u1": "p",
    "cu1": "cp",
}


def get_gate(name: str) -> Gate:
    """A built-in gate by name (aliases such as ``cnot`` accepted).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    key = ALIASES.get(name.lower(), name.lower())
    try:
        return GATES[key]
    except KeyError:
        raise ValueError(
            f"unknown gate {name!r}; known gates: {', '.join(sorted(GATES))}"
        ) from None


def gate_from_json(data: Any) -> Gate:
    """Inverse of :meth:`Gate.to_json`.

    Raises:
        ValueError: for anything that is not a gate description.
    """
    if not isinstance(data, dict):
        raise ValueError(
            f"a gate must be described by an object such as {{'name': 'rx'}}, got {data!r}"
        )
    name = data.get("name")
    if name == "gate":  # a user gate by definition
        if "real" in data:
            m = np.array(data["real"]) + 1j * np.array(data["imag"])
            return Gate(data["id"], int(round(math.log2(len(m)))), matrix=m)
        g = np.array(data["generator_real"]) + 1j * np.array(data["generator_imag"])
        return Gate(data["id"], int(round(math.log2(len(g)))), generator=g)
    if name == "unitary":
        return UnitaryGate(np.array(data["real"]) + 1j * np.array(data["imag"]))
    if name == "ctrl":
        controls = data.get("controls")
        if isinstance(controls, bool) or not isinstance(controls, int):
            raise ValueError(
                f"'controls' of a controlled gate must be an integer, got {controls!r:.50}"
            )
        return controlled(gate_from_json(data.get("base")), controls)
    return get_gate(name)
