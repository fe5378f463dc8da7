"""Exact decompositions of fixed unitaries into ``u3``, ``ry``, ``rz`` and ``cx`` for export.

One qubit: ZYZ Euler angles (``U = e^{i alpha} U3(theta, phi, lambda)``). Two qubits: the
KAK (magic-basis) form with three CNOTs. More: the quantum Shannon decomposition (Shende,
Bullock, Markov 2006): a cosine-sine split (``scipy.linalg.cossin``) into two block-diagonal
multiplexors around a multiplexed ``Ry``; each multiplexor is demultiplexed into two smaller
unitaries around a multiplexed ``Rz``; multiplexed rotations become rotations and CNOTs.
Every step is exact; only the global phase is dropped, so the results are for circuits (and
QASM gate definitions) that are not controlled afterwards. CNOT counts: 3, 24, 120 for 2, 3,
4 qubits.

>>> import numpy as np
>>> cnot = np.eye(4)[[0, 1, 3, 2]]
>>> ops = decompose_unitary(cnot, (0, 1))
>>> m = sequence_matrix(ops, (0, 1))
>>> bool(np.allclose(m / m[0, 0], cnot)), sum(name == "cx" for name, _, _ in ops) <= 3
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# one primitive: (name, params, wires) with name in "u" (U3), "ry", "rz", "cx"
Prim = tuple[str, tuple[float, ...], tuple[int, ...]]

_TINY = 1e-13


def u3_matrix(theta: float, phi: float, lam: float) -> np.ndarray:
    """The OpenQASM 3 ``U`` / Qiskit ``u3`` matrix."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array(
        [[c, -np.exp(1j * lam) * s], [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]],
        dtype=np.complex128,
    )


def zyz_angles(u: np.ndarray) -> tuple[float, float, float, float]:
    """``(theta, phi, lam, alpha)`` with ``u = e^{i alpha} U3(theta, phi, lam)``."""
    u = np.asarray(u, dtype=np.complex128)
    det = np.linalg.det(u)
    v = u / np.sqrt(det)  # SU(2): [[e^{-i(p+l)/2} c, .], [e^{i(p-l)/2} s, e^{i(p+l)/2} c]]
    theta = 2 * math.atan2(abs(v[1, 0]), abs(v[0, 0]))
    plus = 2 * float(np.angle(v[1, 1])) if abs(v[1, 1]) > _TINY else 0.0
    minus = 2 * float(np.angle(v[1, 0])) if abs(v[1, 0]) > _TINY else 0.0
    phi, lam = (plus + minus) / 2, (plus - minus) / 2
    alpha = float(np.angle(np.trace(u3_matrix(theta, phi, lam).conj().T @ u)))
    return theta, phi, lam, alpha


def _rotation(axis: str, angle: float) -> np.ndarray:
    c, s = math.cos(angle / 2), math.sin(angle / 2)
    if axis == "ry":
        return np.array([[c, -s], [s, c]], dtype=np.complex128)
    return np.diag([complex(c, -s), complex(c, s)])


def multiplexed_rotation(
    axis: str,
    angles: np.ndarray,
    controls: Sequence[int],
    target: int,
    out: list[Prim],
    reverse: bool = False,
) -> None:
    """Append a rotation about ``axis`` on ``target`` whose angle is ``angles[j]`` when the
    ``controls`` (``controls[0]`` most significant) are in basis state ``j``.

    With ``c`` = ``controls[0]``: ``R(mean) . CX(c) . R(diff) . CX(c)`` (``X R(d) X = R(-d)``, so
    the control selects ``mean + diff`` or ``mean - diff``). Every CNOT appears twice per
    control state, so the reversed sequence is the same operator; alternating directions lets
    neighbouring CNOTs cancel, leaving ``2^k`` of them.
    """
    angles = np.asarray(angles, dtype=np.float64)
    if not controls:
        if abs(angles[0]) > _TINY:
            out.append((axis, (float(angles[0]),), (target,)))
        return
    half = len(angles) // 2
    mean = (angles[:half] + angles[half:]) / 2
    diff = (angles[:half] - angles[half:]) / 2
    parts: list = [("mux", mean, False)]
    if np.max(np.abs(diff)) > _TINY:
        parts += [("cx",), ("mux", diff, True), ("cx",)]
    for part in reversed(parts) if reverse else parts:
        if part[0] == "cx":
            _append_cx(out, controls[0], target)
        else:
            multiplexed_rotation(axis, part[1], controls[1:], target, out, part[2] != reverse)


def _append_cx(out: list[Prim], control: int, target: int) -> None:
    """Append CX(control, target), or cancel it against an earlier one it commutes back to."""
    for k in range(len(out) - 1, max(-1, len(out) - 64), -1):
        name, _, wires = out[k]
        if name == "cx":
            if wires == (control, target):
                del out[k]
                return
            if wires[0] == target or wires[1] == control:
                break  # CX(a, b) and CX(c, t) commute unless one's target is the other's control
        elif control in wires or target in wires:
            if not (name == "rz" and wires == (control,)):
                break
    out.append(("cx", (), (control, target)))


def _demultiplex(a: np.ndarray, b: np.ndarray, wires: tuple[int, ...], out: list[Prim]) -> None:
    """``blockdiag(a, b)`` (selected by ``wires[0]``) = (1 x V) . (D + D^dagger) . (1 x W)."""
    from scipy.linalg import schur

    t, v = schur(a @ b.conj().T, output="complex")  # normal matrix: t is diagonal
    d = np.sqrt(np.diag(t))
    w = (d[:, None] * v.conj().T) @ b
    decompose_unitary(w, wires[1:], out)
    multiplexed_rotation("rz", -2 * np.angle(d), wires[1:], wires[0], out)
    decompose_unitary(v, wires[1:], out)


def decompose_unitary(
    u: np.ndarray, wires: Sequence[int], out: list[Prim] | None = None
) -> list[Prim]:
    """An exact (up to global phase) ``u3``/``ry``/``rz``/``cx`` sequence for ``u`` on ``wires``
    (``wires[0]`` is the most significant bit of ``u``'s index).

    Returns:
        the list ``out`` (new when not given) with the primitives appended in circuit order.
    """
    out = [] if out is None else out
    u = np.asarray(u, dtype=np.complex128)
    wires = tuple(wires)
    if u.shape != (2 ** len(wires),) * 2:
        raise ValueError(f"decompose_unitary: matrix {u.shape} does not fit {len(wires)} wire(s)")
    if len(wires) == 1:
        if abs(abs(np.trace(u)) / 2 - 1) > _TINY:  # not a multiple of the identity
            out.append(("u", zyz_angles(u)[:3], wires))
        return out
    if len(wires) == 2:
        two = two_qubit_decomposition(u, wires)
        if two is not None:
            out.extend(two)
            return out
    from scipy.linalg import cossin

    h = u.shape[0] // 2
    (l0, l1), theta, (r0, r1) = cossin(u, p=h, q=h, separate=True)
    _demultiplex(r0, r1, wires, out)
    multiplexed_rotation("ry", 2 * np.asarray(theta), wires[1:], wires[0], out)
    _demultiplex(l0, l1, wires, out)
    return out


_MAGIC = np.array([[1, 0, 0, 1j], [0, 1j, 1, 0], [0, 1j, -1, 0], [1, 0, 0, -1j]]) / math.sqrt(2)
_PAULI2 = [
    np.kron(m, m)
    for m in (np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0]))
]
# XX, YY, ZZ are diagonal in the magic basis: their diagonals, and a solver for the angles
_SIGNS = np.array([np.diag(_MAGIC.conj().T @ p @ _MAGIC).real for p in _PAULI2] + [np.ones(4)]).T


def _kron_factor(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``k = a (x) b`` for a 4x4 product matrix."""
    r = k.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    u, sv, vh = np.linalg.svd(r)
    return math.sqrt(sv[0]) * u[:, 0].reshape(2, 2), math.sqrt(sv[0]) * vh[0].reshape(2, 2)


def two_qubit_decomposition(u: np.ndarray, wires: Sequence[int]) -> list[Prim] | None:
    """Three CNOTs and local ``u3`` gates for a two-qubit unitary (the KAK / magic-basis form
    ``u = (A1 x B1) exp(i(a XX + b YY + c ZZ)) (A2 x B2)`` with the Vatan-Williams circuit for
    the middle). None in the (numerically) unexpected case that the check fails."""
    q0, q1 = wires
    u = np.asarray(u, dtype=np.complex128)
    a, b = _kron_factor(u)
    if np.allclose(np.kron(a, b), u, atol=1e-12):  # a product of one-qubit gates
        return decompose_unitary(b, (q1,), decompose_unitary(a, (q0,)))
    us = u / np.linalg.det(u) ** 0.25
    up = _MAGIC.conj().T @ us @ _MAGIC
    m2 = up.T @ up  # symmetric unitary: real and imaginary parts commute
    for r in (0.6180339887, 1.4142135623, 2.7182818284):
        _, p = np.linalg.eigh(m2.real + r * m2.imag)
        d = p.T @ m2 @ p
        if np.allclose(d - np.diag(np.diag(d)), 0, atol=1e-10):
            break
    else:
        return None
    if np.linalg.det(p) < 0:
        p[:, 0] = -p[:, 0]
    delta = np.sqrt(np.diag(d))
    o1 = (up @ p) / delta[None, :]
    if np.linalg.det(o1.real) < 0:
        delta[0], o1[:, 0] = -delta[0], -o1[:, 0]
    a1, b1 = _kron_factor(_MAGIC @ o1.real @ _MAGIC.conj().T)
    a2, b2 = _kron_factor(_MAGIC @ p.T @ _MAGIC.conj().T)
    xx, yy, zz, _ = np.linalg.solve(_SIGNS, np.angle(delta))
    out: list[Prim] = []
    decompose_unitary(a2, (q0,), out)
    decompose_unitary(b2, (q1,), out)
    hp = math.pi / 2  # exp(i(xx XX + yy YY + zz ZZ)) up to phase (Vatan, Williams 2004)
    out += [
        ("rz", (-hp,), (q1,)),
        ("cx", (), (q1, q0)),
        ("rz", (hp - 2 * zz,), (q0,)),
        ("ry", (2 * xx - hp,), (q1,)),
        ("cx", (), (q0, q1)),
        ("ry", (hp - 2 * yy,), (q1,)),
        ("cx", (), (q1, q0)),
        ("rz", (hp,), (q0,)),
    ]
    decompose_unitary(a1, (q0,), out)
    decompose_unitary(b1, (q1,), out)
    got = sequence_matrix(out, wires)
    k = int(np.argmax(np.abs(u[:, 0])))
    if not np.allclose(got * (u[k, 0] / got[k, 0]), u, atol=1e-9):
        return None
    return out


def prim_matrix(prim: Prim) -> np.ndarray:
    name, params, _ = prim
    if name == "u":
        return u3_matrix(*params)
    if name in ("ry", "rz"):
        return _rotation(name, params[0])
    if name == "cx":
        return np.eye(4, dtype=np.complex128)[[0, 1, 3, 2]]
    raise ValueError(f"unknown primitive {name!r}")


def embed(matrix: np.ndarray, wires: Sequence[int], all_wires: Sequence[int]) -> np.ndarray:
    """The matrix of ``matrix`` on ``wires`` as an operator on ``all_wires`` (first = MSB)."""
    n, k = len(all_wires), len(wires)
    pos = [list(all_wires).index(w) for w in wires]
    t = np.asarray(matrix).reshape((2,) * (2 * k))
    eye = np.eye(2**n, dtype=np.complex128).reshape((2,) * (2 * n))
    # apply the gate to the "row" axes of the identity
    res = np.tensordot(t, eye, axes=(list(range(k, 2 * k)), pos))
    res = np.moveaxis(res, list(range(k)), pos)
    return res.reshape(2**n, 2**n)


def sequence_matrix(prims: Sequence[Prim], wires: Sequence[int]) -> np.ndarray:
    """The unitary of a primitive sequence on ``wires`` (for checks)."""
    m = np.eye(2 ** len(wires), dtype=np.complex128)
    for prim in prims:
        m = embed(prim_matrix(prim), prim[2], wires) @ m
    return m
