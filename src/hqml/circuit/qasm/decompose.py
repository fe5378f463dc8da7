"""Exact decompositions of fixed unitaries into ``u3`` and ``cx`` for OpenQASM export.

One qubit: ZYZ Euler angles (``U = e^{i alpha} U3(theta, phi, lambda)``). Several qubits: the
quantum Shannon decomposition (Shende, Bullock, Markov 2006): a cosine-sine split
(``scipy.linalg.cossin``) into two block-diagonal multiplexors around a multiplexed ``Ry``;
each multiplexor is demultiplexed into two smaller unitaries around a multiplexed ``Rz``;
multiplexed rotations become rotations and CNOTs. Every step is exact; only the global phase
is dropped, so the results are for circuits (and QASM gate definitions) that are not
controlled afterwards.

>>> import numpy as np
>>> ops = decompose_unitary(np.eye(4)[[0, 1, 3, 2]], (0, 1))
>>> np.allclose(sequence_matrix(ops, (0, 1)), np.eye(4)[[0, 1, 3, 2]]) or None
True
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
    return np.array([[c, -np.exp(1j * lam) * s],
                     [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]], dtype=np.complex128)


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


def multiplexed_rotation(axis: str, angles: np.ndarray, controls: Sequence[int], target: int,
                         out: list[Prim], reverse: bool = False) -> None:
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


def decompose_unitary(u: np.ndarray, wires: Sequence[int],
                      out: list[Prim] | None = None) -> list[Prim]:
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
        theta, phi, lam, _ = zyz_angles(u)
        if max(abs(theta), abs(phi), abs(lam)) > _TINY:
            out.append(("u", (theta, phi, lam), wires))
        return out
    from scipy.linalg import cossin

    h = u.shape[0] // 2
    (l0, l1), theta, (r0, r1) = cossin(u, p=h, q=h, separate=True)
    _demultiplex(r0, r1, wires, out)
    multiplexed_rotation("ry", 2 * np.asarray(theta), wires[1:], wires[0], out)
    _demultiplex(l0, l1, wires, out)
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
