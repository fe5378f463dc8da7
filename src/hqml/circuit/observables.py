"""Observables: Pauli words and sums of them.

>>> from hqml.circuit.observables import X, Z
>>> H = 0.5 * Z(0) @ Z(1) + X(2)
>>> H
0.5 * Z(0) @ Z(1) + 1.0 * X(2)
>>> (X(0) @ Y(0))  # operator product on one wire keeps its phase
1j * Z(0)
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

Word = tuple[tuple[int, str], ...]  # sorted by wire; () is the identity

_PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0 + 0j, -1.0]),
}
# product table: (a, b) -> (phase, c) with a b = phase * c
_PRODUCT = {
    ("X", "Y"): (1j, "Z"),
    ("Y", "Z"): (1j, "X"),
    ("Z", "X"): (1j, "Y"),
    ("Y", "X"): (-1j, "Z"),
    ("Z", "Y"): (-1j, "X"),
    ("X", "Z"): (-1j, "Y"),
}


def _mul_words(a: Word, b: Word) -> tuple[complex, Word]:
    phase: complex = 1.0
    out = dict(a)
    for w, p in b:
        q = out.get(w)
        if q is None:
            out[w] = p
        elif q == p:
            del out[w]
        else:
            ph, r = _PRODUCT[(q, p)]
            phase *= ph
            out[w] = r
    return phase, tuple(sorted(out.items()))


def _word_str(word: Word) -> str:
    return " @ ".join(f"{p}({w})" for w, p in word) if word else "I()"


def _coeff_str(c: complex) -> str:
    if abs(c.imag) < 1e-15:
        return repr(float(c.real))
    if abs(c.real) < 1e-15:
        return f"{c.imag!r}j"
    return repr(c)


class _Terms(dict):
    """The terms of a :class:`PauliSum`: a dict that counts its in-place edits, so that the
    sum's cached key and wires are rebuilt after one."""

    __slots__ = ("version",)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.version = 0

    def __reduce__(self) -> tuple:  # pickle as a plain copy (the count restarts)
        return (_Terms, (dict(self),))


def _counting(name: str) -> Any:
    base = getattr(dict, name)

    def method(self: _Terms, *args: Any, **kwargs: Any) -> Any:
        self.version += 1
        return base(self, *args, **kwargs)

    method.__name__ = name
    return method


for _name in (
    "__setitem__",
    "__delitem__",
    "__ior__",
    "update",
    "pop",
    "popitem",
    "clear",
    "setdefault",
):
    setattr(_Terms, _name, _counting(_name))


class PauliSum:
    """A linear combination of Pauli words with complex coefficients.

    Wire ``i`` is qubit ``i`` of the circuit; wire 0 is the most significant bit in ``to_matrix``.
    """

    # ``terms`` is a plain slot (reading it costs no call: the front door keys every request by
    # the terms); assigning it goes through __setattr__, which keeps it a counting _Terms
    __slots__ = ("terms", "_memo")

    def __init__(self, terms: Mapping[Word, complex] | None = None):
        out: dict[Word, complex] = {}
        for word, c in (terms or {}).items():
            word = tuple(sorted((int(w), str(p).upper()) for w, p in word))
            for w, p in word:
                if p not in "XYZ" or w < 0:
                    raise ValueError(f"bad Pauli factor {p}({w})")
            if len({w for w, _ in word}) != len(word):
                raise ValueError(f"Pauli word {word} names a wire twice; use @ to multiply")
            out[word] = out.get(word, 0.0) + complex(c)
        self.terms = {w: c for w, c in out.items() if c != 0}  # exact cancellations

    terms: dict[Word, complex]  # ``{word: coefficient}``; a word: sorted ``(wire, "X"|"Y"|"Z")``

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "terms":
            object.__setattr__(self, "terms", _Terms(value))
            object.__setattr__(self, "_memo", None)
        else:
            object.__setattr__(self, name, value)

    def __getstate__(self) -> dict[str, Any]:
        return {"terms": dict(self.terms)}

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple):  # written before terms counted edits: (None, slots)
            state = state[1]
        self.terms = state["terms"]

    # --- constructors -----------------------------------------------------------------------
    @classmethod
    def from_list(cls, items: Iterable[tuple[str, complex]]) -> PauliSum:
        """From ``[("ZXII", 0.5), ...]``: character i of each string acts on wire i."""
        terms: dict[Word, complex] = {}
        for label, c in items:
            label = str(label).upper()
            if any(ch not in "IXYZ" for ch in label):
                raise ValueError(f"Pauli string {label!r} may contain only I, X, Y, Z")
            word = tuple((i, ch) for i, ch in enumerate(label) if ch != "I")
            terms[word] = terms.get(word, 0.0) + complex(c)
        return cls(terms)

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any]) -> PauliSum:
        if isinstance(data, str):
            data = json.loads(data)
        try:
            return cls(
                {
                    tuple((int(w), p) for w, p in t["word"]): complex(t["re"], t.get("im", 0.0))
                    for t in data["terms"]
                }
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"bad PauliSum JSON: {e}") from None

    def to_json(self) -> str:
        return json.dumps(
            {
                "terms": [
                    {"word": [[w, p] for w, p in word], "re": c.real, "im": c.imag}
                    for word, c in self.terms.items()
                ]
            }
        )

    # --- algebra ----------------------------------------------------------------------------
    def __add__(self, other: Any) -> PauliSum:
        other = _as_sum(other)
        out = dict(self.terms)
        for w, c in other.terms.items():
            out[w] = out.get(w, 0.0) + c
        return PauliSum(out)

    def __radd__(self, other: Any) -> PauliSum:
        return self + other

    def __sub__(self, other: Any) -> PauliSum:
        return self + (-1.0) * _as_sum(other)

    def __rsub__(self, other: Any) -> PauliSum:
        return _as_sum(other) + (-1.0) * self

    def __neg__(self) -> PauliSum:
        return (-1.0) * self

    def __mul__(self, other: Any) -> PauliSum:
        if isinstance(other, numbers.Number):
            return PauliSum({w: c * complex(other) for w, c in self.terms.items()})
        if isinstance(other, PauliSum):
            return self @ other
        return NotImplemented

    def __rmul__(self, other: Any) -> PauliSum:
        if isinstance(other, numbers.Number):
            return self * other
        return NotImplemented

    def __truediv__(self, other: Any) -> PauliSum:
        return self * (1.0 / complex(other))

    def __matmul__(self, other: Any) -> PauliSum:
        other = _as_sum(other)
        out: dict[Word, complex] = {}
        for wa, ca in self.terms.items():
            for wb, cb in other.terms.items():
                ph, w = _mul_words(wa, wb)
                out[w] = out.get(w, 0.0) + ph * ca * cb
        return PauliSum(out)

    def __rmatmul__(self, other: Any) -> PauliSum:
        return _as_sum(other) @ self

    # --- information ------------------------------------------------------------------------
    def simplify(self, tol: float = 1e-12) -> PauliSum:
        """Drop terms whose coefficient is below ``tol`` in magnitude."""
        return PauliSum({w: c for w, c in self.terms.items() if abs(c) > tol})

    def key(self) -> tuple:
        """A hashable value of the terms (cached until ``terms`` is edited or replaced)."""
        return self._info()[0]

    def _info(self) -> tuple[tuple, list[int]]:
        memo, terms = self._memo, self.terms
        if memo is None or memo[0] != terms.version:
            key = tuple(sorted(terms.items()))
            wires = sorted({w for word in terms for w, _ in word})
            memo = self._memo = (terms.version, (key, wires))
        return memo[1]

    @property
    def wires(self) -> list[int]:
        return list(self._info()[1])

    @property
    def n_terms(self) -> int:
        return len(self.terms)

    def is_hermitian(self, tol: float = 1e-10) -> bool:
        return all(abs(c.imag) <= tol for c in self.terms.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PauliSum):
            return NotImplemented
        a, b = self.simplify().terms, other.simplify().terms
        return a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-12 for k in a)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if not self.terms:
            return "0 * I()"
        return " + ".join(f"{_coeff_str(c)} * {_word_str(w)}" for w, c in self.terms.items())

    def to_list(self, n_qubits: int | None = None) -> list[tuple[str, complex]]:
        """Inverse of :meth:`from_list`."""
        n = n_qubits if n_qubits is not None else (max(self.wires) + 1 if self.wires else 1)
        out = []
        for word, c in self.terms.items():
            chars = ["I"] * n
            for w, p in word:
                if w >= n:
                    raise ValueError(f"wire {w} does not fit in {n} qubits")
                chars[w] = p
            out.append(("".join(chars), c))
        return out

    def to_matrix(self, n_qubits: int | None = None) -> np.ndarray:
        """The dense ``2^n x 2^n`` matrix (complex128), for tests and small systems."""
        n = n_qubits if n_qubits is not None else (max(self.wires) + 1 if self.wires else 1)
        if self.wires and max(self.wires) >= n:
            raise ValueError(
                f"observable acts on wire {max(self.wires)}; n_qubits={n} is too small"
            )
        out = np.zeros((2**n, 2**n), dtype=complex)
        for word, c in self.terms.items():
            factors = dict(word)
            m = np.ones((1, 1), dtype=complex)
            for q in range(n):
                m = np.kron(m, _PAULI[factors.get(q, "I")])
            out += c * m
        return out

    def group_qwc(self) -> list[PauliSum]:
        """Partition into qubit-wise commuting groups (greedy, largest words first)."""
        groups: list[tuple[dict[int, str], dict[Word, complex]]] = []
        for word, c in sorted(self.terms.items(), key=lambda t: -len(t[0])):
            for basis, terms in groups:
                if all(basis.get(w, p) == p for w, p in word):
                    basis.update(word)
                    terms[word] = c
                    break
            else:
                groups.append((dict(word), {word: c}))
        return [PauliSum(terms) for _, terms in groups]


def _as_sum(x: Any) -> PauliSum:
    if isinstance(x, PauliSum):
        return x
    if isinstance(x, numbers.Number):
        return PauliSum({(): complex(x)})
    raise TypeError(f"cannot combine a PauliSum with {type(x).__name__}")


def _single(p: str, wire: int) -> PauliSum:
    if isinstance(wire, bool) or not isinstance(wire, numbers.Integral) or wire < 0:
        raise ValueError(f"{p}(wire): wire must be a non-negative integer, got {wire!r}")
    return PauliSum({((int(wire), p),): 1.0})


def X(wire: int) -> PauliSum:
    """Pauli X on ``wire``."""
    return _single("X", wire)


def Y(wire: int) -> PauliSum:
    """Pauli Y on ``wire``."""
    return _single("Y", wire)


def Z(wire: int) -> PauliSum:
    """Pauli Z on ``wire``."""
    return _single("Z", wire)


def I(wire: int | None = None) -> PauliSum:  # noqa: E743
    """The identity (on any wire)."""
    return PauliSum({(): 1.0})


def as_observables(obs: PauliSum | Sequence[PauliSum]) -> tuple[list[PauliSum], bool]:
    """Normalise one observable or a list; returns (list, was_single)."""
    if isinstance(obs, PauliSum):
        return [obs], True
    out = list(obs)
    for o in out:
        if not isinstance(o, PauliSum):
            raise TypeError(
                f"observables must be PauliSum (e.g. hqml.Z(0)), got {type(o).__name__}"
            )
    if not out:
        raise ValueError("give at least one observable")
    return out, False


def observable_terms(observables: Sequence[PauliSum]) -> tuple[list[Word], np.ndarray]:
    """Unique Pauli words across ``observables`` and the real coefficient matrix ``C`` (T, K):
    ``<O_k> = sum_t <word_t> C[t, k]``.

    Raises:
        ValueError: an observable with complex coefficients (not Hermitian).
    """
    index: dict[Word, int] = {}
    entries = []
    for k, obs in enumerate(observables):
        if not obs.is_hermitian():
            raise ValueError(
                f"observable {obs!r} is not Hermitian (complex coefficients); "
                "expectation values need a Hermitian observable"
            )
        for word, c in obs.terms.items():
            t = index.setdefault(word, len(index))
            entries.append((t, k, c.real))
    coeffs = np.zeros((len(index), len(observables)))
    for t, k, c in entries:
        coeffs[t, k] += c
    return list(index), coeffs


def z_only(words: Iterable[Word]) -> bool:
    """Whether every word is a product of Z's (diagonal in the computational basis)."""
    return all(p == "Z" for word in words for _, p in word)
