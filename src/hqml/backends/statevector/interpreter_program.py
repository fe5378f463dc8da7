"""The compiled interpreter's programs: a circuit compiled once into flat arrays.

- fixed gates (up to 3 wires) are dense matrices, except permutations (X, CNOT, SWAP, Toffoli),
  which merge with their neighbours into one whole-register permutation;
- one-parameter gates ``exp(-i theta G)`` (RX ... RZZ, P, user generators, and their controlled
  forms, whose generator is ``|1..1><1..1| (x) G``) are stored as the spectral projectors of
  ``G``, so every lane builds its matrix and derivative from one ``sincos`` per eigenvalue;
- other parametrized gates (``u``, controlled ``u``, gates given by ``matrix_fn``) are
  ``given``: each call builds their matrices and derivatives by the gate itself.

Gates on more than three wires leave the circuit to another engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...circuit.circuit import Circuit
from ...circuit.gates import ControlledGate, Gate

OP_FIXED, OP_PARAM, OP_PERM, OP_GIVEN = 0, 1, 2, 3
REC = 8  # int64 fields per op: kind, k, pos0, pos1, pos2, col, cidx, m
MAX_GATE_WIRES = 3
MAX_GATE_PARAMS = 4


@dataclass
class NativeProgram:
    """A circuit compiled for the interpreter (its arrays kept alive for their pointers)."""

    n: int
    code: np.ndarray  # (nops, REC) int64
    consts: np.ndarray  # float64
    perms: np.ndarray  # int64
    n_params: int
    param_ops: list[tuple[int, int]]  # (op index, theta column) of every parameter
    given: list[tuple[Gate, int]]  # gates whose matrices each call builds: (gate, first column)
    measures: dict[Any, Any] = field(default_factory=dict)  # see dense_measure.measure_of
    # per-call tables the kernels read, cached (see interpreter._flags and interpreter._stop)
    flag_arrays: dict[Any, tuple[np.ndarray, int]] = field(default_factory=dict)
    stops: dict[Any, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nops = self.code.shape[0]
        self.ptrs = (self.code.ctypes.data, self.nops, self.consts.ctypes.data,
                     self.perms.ctypes.data, self.n)  # fmt: skip


def compile_program(circuit: Circuit) -> NativeProgram | None:
    """The compiled program of ``circuit`` (cached), or ``None`` when a gate is unsupported."""
    return circuit.cached(("hqml.interpreter_program",), lambda: _compile(circuit))


def _generator(gate: Gate) -> np.ndarray | None:
    if gate.generator is not None:
        return gate.generator
    if isinstance(gate, ControlledGate) and gate.base.generator is not None:
        g = np.zeros((gate.dim, gate.dim), dtype=np.complex128)
        g[gate.dim - gate.base.dim :, gate.dim - gate.base.dim :] = gate.base.generator
        return g
    return None


def _spectral(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct eigenvalues of Hermitian ``g`` and their projectors ``(m, d, d)``."""
    evals, vecs = np.linalg.eigh(g)
    groups: list[list[int]] = []
    for i, e in enumerate(evals):
        if groups and abs(e - evals[groups[-1][0]]) < 1e-9:
            groups[-1].append(i)
        else:
            groups.append([i])
    ev = np.array([evals[grp].mean() for grp in groups])
    proj = np.stack([vecs[:, grp] @ vecs[:, grp].conj().T for grp in groups])
    return ev, proj


def _permutation(m: np.ndarray) -> np.ndarray | None:
    """``src`` with ``m[r, src[r]] = 1`` when ``m`` is a permutation matrix, else ``None``."""
    nz = np.abs(m) > 1e-12
    if not ((nz.sum(axis=0) == 1).all() and (nz.sum(axis=1) == 1).all()):
        return None
    src = nz.argmax(axis=1)
    if not np.allclose(m[np.arange(len(m)), src], 1.0, rtol=0, atol=1e-12):
        return None
    return src


def _full_index(n: int, wires: tuple[int, ...], src: np.ndarray) -> np.ndarray:
    """Whole-register ``index`` with ``new[i] = old[index[i]]`` for a gate permutation."""
    k = len(wires)
    i = np.arange(2**n)
    sub = np.zeros_like(i)
    for t, w in enumerate(wires):
        sub |= ((i >> (n - 1 - w)) & 1) << (k - 1 - t)
    old_sub = src[sub]
    out = i.copy()
    for t, w in enumerate(wires):
        bit = n - 1 - w
        out = (out & ~(1 << bit)) | (((old_sub >> (k - 1 - t)) & 1) << bit)
    return out


def _compile(circuit: Circuit) -> NativeProgram | None:
    n = circuit.n_qubits
    recs: list[list[int]] = []
    consts: list[np.ndarray] = []
    perms: list[np.ndarray] = []
    param_ops: list[tuple[int, int]] = []
    given: list[tuple[Gate, int]] = []
    size = 0
    pending: np.ndarray | None = None  # permutations not yet emitted

    def push(kind: int, wires: tuple[int, ...], col: int, data: np.ndarray, m: int) -> None:
        nonlocal size
        recs.append([kind, len(wires), *_positions(n, wires), col, size, m])
        consts.append(data)
        size += data.size

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            off = sum(p.size for p in perms)
            recs.append([OP_PERM, 0, 0, 0, 0, -1, off, 0])
            perms.append(pending)
            pending = None

    col = 0
    for op in circuit.ops:
        gate, wires = op.gate, tuple(op.wires)
        first, col = col, col + gate.num_params
        if len(wires) > MAX_GATE_WIRES:
            return None
        if gate.fixed_matrix is not None:
            m = gate.fixed_matrix
            if np.allclose(m, np.eye(gate.dim), rtol=0, atol=1e-12):
                continue
            src = _permutation(m)
            if src is not None:
                idx = _full_index(n, wires, src)
                pending = idx if pending is None else pending[idx]
                continue
            flush()
            push(OP_FIXED, wires, -1, np.stack([m.real, m.imag], -1).ravel(), 0)
            continue
        g = _generator(gate)
        flush()
        if g is None:
            if gate.num_params > MAX_GATE_PARAMS:
                return None
            param_ops.extend((len(recs), first + i) for i in range(gate.num_params))
            recs.append([OP_GIVEN, len(wires), *_positions(n, wires), first, len(given),
                         gate.num_params])  # fmt: skip
            given.append((gate, first))
            continue
        ev, proj = _spectral(g)
        data = np.concatenate([ev, np.stack([proj.real, proj.imag], -1).ravel()])
        param_ops.append((len(recs), first))
        push(OP_PARAM, wires, first, data, len(ev))
    flush()
    code = np.asarray(recs, dtype=np.int64).reshape(-1, REC)
    cdata = np.concatenate(consts) if consts else np.zeros(1)
    pdata = np.concatenate(perms) if perms else np.zeros(1, dtype=np.int64)
    return NativeProgram(
        n, code, cdata.astype(np.float64), pdata.astype(np.int64), col, param_ops, given
    )


def _positions(n: int, wires: tuple[int, ...]) -> list[int]:
    return [n - 1 - w for w in wires] + [0] * (MAX_GATE_WIRES - len(wires))
