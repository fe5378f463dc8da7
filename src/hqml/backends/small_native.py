"""Small registers through the compiled batched interpreter (``sim/native/small_impl.h``).

A training step on a few qubits is a few microseconds of arithmetic behind tens of framework
calls. This engine hands the whole circuit to one C call for the forward pass and one for the
adjoint sweep, with the batch as the vector dimension (16 samples per block). A circuit is
compiled once into a flat program:

- fixed gates (up to 3 wires) are dense matrices, except permutations (X, CNOT, SWAP, Toffoli),
  which merge with their neighbours into one whole-register permutation;
- one-parameter gates ``exp(-i theta G)`` (RX ... RZZ, P, user generators, and their controlled
  forms, whose generator is ``|1..1><1..1| (x) G``) are stored as the spectral projectors of
  ``G``, so every lane builds its matrix and derivative from one ``sincos`` per eigenvalue.

Other parametrized gates (``u``, controlled ``u``, gates given by ``matrix_fn``) have their
matrices and derivatives built per call by the gate itself and passed in. Gates on more than
three wires leave the circuit to the NumPy engine in :mod:`hqml.backends.small`.

For diagonal observables (Z words, probabilities) the kernels also measure, and the backward
call builds the cotangent state from the values' cotangent itself. Values agree with the torch
reference to float rounding; gradients follow torch's convention,
``dL/dtheta = 2 Re <lam| dU/dtheta |psi>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..circuit.circuit import Circuit
from ..circuit.gates import ControlledGate, Gate
from ..sim import native

OP_FIXED, OP_PARAM, OP_PERM, OP_GIVEN = 0, 1, 2, 3
REC = 8  # int64 fields per op: kind, k, pos0, pos1, pos2, col, cidx, m
MAX_GATE_WIRES = 3
MAX_GATE_PARAMS = 4
# Which registers the interpreter takes, measured on W1 (L = 4, 2 threads) against the layer
# kernels of sim/native: always up to ALWAYS_QUBITS (8 qubits: 0.8 ms a step against 3.6 ms
# at B = 1, 0.9 against 4.2 at B = 16); up to MAX_QUBITS with at least MIN_BATCH samples
# (11 qubits, B = 1: 4.0 ms against 3.6; B = 16: 4.0 against 5.5; 12 qubits, B = 64: 17 ms
# against 22); beyond, the layer kernels' cache blocking wins (14 qubits: 97 ms against 79).
ALWAYS_QUBITS = 10
MAX_QUBITS = 12
MIN_BATCH = 4

_SUFFIX = {np.complex64: "c64", np.complex128: "c128"}


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
    measures: dict[Any, Any] = field(default_factory=dict)  # see small.measure_of
    _flags: dict[Any, tuple[np.ndarray, int]] = field(default_factory=dict)
    _stops: dict[Any, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nops = self.code.shape[0]
        self.ptrs = (self.code.ctypes.data, self.nops, self.consts.ctypes.data,
                     self.perms.ctypes.data, self.n)  # fmt: skip

    def flags(self, key: Any, make: Any) -> tuple[np.ndarray, int]:
        """A cached uint8 array (per-column flags) and its address."""
        out = self._flags.get(key)
        if out is None:
            arr = np.ascontiguousarray(make(), dtype=np.uint8)
            out = self._flags[key] = (arr, arr.ctypes.data)
        return out

    def stop(self, needs: tuple[bool, ...] | None) -> int:
        """The first op the backward sweep must reach (the earliest wanted parameter)."""
        s = self._stops.get(needs)
        if s is None:
            wanted = [o for o, c in self.param_ops if needs is None or needs[c]]
            s = self._stops[needs] = min(wanted) if wanted else self.nops
        return s


def program(circuit: Circuit) -> NativeProgram | None:
    """The compiled program of ``circuit`` (cached), or ``None`` when a gate is unsupported."""
    key = "small-native"
    if key not in circuit._cache:
        circuit._cache[key] = _compile(circuit)
    return circuit._cache[key]


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
        if gate._fixed is not None:
            m = gate._fixed
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


def suits(n: int, batch: int) -> bool:
    """Whether an ``n``-qubit circuit on ``batch`` samples is faster here than elsewhere."""
    return n <= ALWAYS_QUBITS or (n <= MAX_QUBITS and batch >= MIN_BATCH)


def available() -> bool:
    """Whether the interpreter can run (the native library loads and is not disabled) and
    measured faster than the torch path on this CPU."""
    return native.interpreter_usable()


_EMPTY_F = torch.zeros(2, dtype=torch.float64)
_EMPTY_I = torch.zeros(2, dtype=torch.int64)
_TORCH = {np.complex64: torch.complex64, np.complex128: torch.complex128}


def _vary(prog: NativeProgram, varying: tuple[bool, ...] | None, batch: int, p: int) -> Any:
    def make() -> np.ndarray:
        if batch == 1 or p == 0:
            return np.zeros(max(p, 1))
        return np.ones(p) if varying is None else np.asarray(varying)

    return prog.flags(("vary", varying, batch == 1, p), make)


def _given(prog: NativeProgram, theta: torch.Tensor, vary: np.ndarray) -> tuple:
    """The matrices and derivatives of the program's given gates for this call, as one
    complex128 buffer and its (offset, batched) table."""
    if not prog.given:
        return _EMPTY_F, _EMPTY_I
    parts, table, off = [], [], 0
    for gate, first in prog.given:
        cols = slice(first, first + gate.num_params)
        batched = bool(vary[cols].any())
        params = (theta[:, cols] if batched else theta[:1, cols]).double()
        mats = torch.cat([gate.matrix(params)[:, None], gate.derivatives(params)], dim=1)
        block = mats.to(torch.complex128).reshape(-1)
        parts.append(block)
        table.extend((off, int(batched)))
        off += block.numel()
    return torch.view_as_real(torch.cat(parts)).contiguous(), torch.tensor(table)


_REAL = {np.complex64: np.float32, np.complex128: np.float64}
_ERRORS = {1: "bad sizes (qubits, batch or measured columns)", 2: "out of memory"}

MAX_DIAG_TERMS = 64  # diagonal observables the kernels measure themselves (else NumPy does)


def diag_tensor(meas: Any, cdt: Any) -> torch.Tensor | None:
    """The measurement's diagonal ``(2**n, K)`` as a cached tensor of ``cdt``'s real type, when
    the kernels can take it."""
    if meas.diag is None or meas.diag.shape[1] > MAX_DIAG_TERMS:
        return None
    t = meas.__dict__.get("_native")
    if t is None:
        t = meas._native = torch.from_numpy(np.ascontiguousarray(meas.diag, dtype=_REAL[cdt]))
    return t


def forward(
    prog: NativeProgram,
    theta: torch.Tensor,
    varying: tuple[bool, ...] | None,
    cdt: Any,
    diag: torch.Tensor | None = None,
) -> tuple[np.ndarray, torch.Tensor | None, Any]:
    """The final states ``(B, 2**n)`` for ``theta`` ``(B, P)`` (a contiguous CPU tensor of the
    real type of ``cdt``); with ``diag`` ``(2**n, K)`` also ``|psi|^2 @ diag``; and what
    :func:`backward` reuses."""
    batch, p = theta.shape
    out = torch.empty((batch, 2**prog.n), dtype=_TORCH[cdt])
    values = None if diag is None else torch.empty((batch, diag.shape[1]), dtype=theta.dtype)
    vary, vary_ptr = _vary(prog, varying, batch, p)
    given, goff = _given(prog, theta, vary)
    fn = getattr(native._load(), f"hqml_small_forward_{_SUFFIX[cdt]}")
    rc = fn(
        *prog.ptrs, theta.data_ptr(), p, batch, vary_ptr, given.data_ptr(), goff.data_ptr(),
        out.data_ptr(), 0 if diag is None else diag.data_ptr(),
        0 if diag is None else diag.shape[1], 0 if values is None else values.data_ptr(),
        torch.get_num_threads(),
    )  # fmt: skip
    if rc:
        raise RuntimeError(f"native small-register kernel failed: {_ERRORS.get(rc, rc)}")
    return out.numpy(), values, (theta, out, vary_ptr, given, goff, diag)


def backward(
    prog: NativeProgram,
    saved: Any,
    needs: tuple[bool, ...] | None,
    cot: torch.Tensor | None = None,
    lam: np.ndarray | None = None,
) -> torch.Tensor:
    """``dL/dtheta`` ``(B, P)`` after :func:`forward` returned ``saved``: for the cotangent
    ``cot`` ``(B, K)`` of the values it measured with ``diag``, or else for the cotangent states
    ``lam`` ``(B, 2**n)`` (contiguous, of the states' type)."""
    theta, psi, vary_ptr, given, goff, diag = saved
    batch, p = theta.shape
    grad = torch.zeros((batch, p), dtype=theta.dtype)
    stop = prog.stop(needs)
    if stop >= prog.nops:
        return grad
    _, need_ptr = prog.flags(("needs", needs, p), lambda: needs or np.ones(max(p, 1)))
    if lam is not None:
        diag, lam_ptr, cot_ptr = None, torch.from_numpy(lam).data_ptr(), 0
    else:
        cot = cot.to(theta.dtype).expand(batch, -1).contiguous()
        lam_ptr, cot_ptr = 0, cot.data_ptr()
    fn = getattr(native._load(), f"hqml_small_backward_{_SUFFIX[psi.numpy().dtype.type]}")
    rc = fn(
        *prog.ptrs, theta.data_ptr(), p, batch, vary_ptr, given.data_ptr(), goff.data_ptr(),
        psi.data_ptr(), lam_ptr, 0 if diag is None else diag.data_ptr(),
        0 if diag is None else diag.shape[1], cot_ptr, need_ptr, stop, grad.data_ptr(),
        torch.get_num_threads(),
    )  # fmt: skip
    if rc:
        raise RuntimeError(f"native small-register adjoint failed: {_ERRORS.get(rc, rc)}")
    return grad


def table_copies(real: torch.dtype) -> tuple[Any, Any]:
    """The library's ``put(src, rows, size, B, P, off, theta)`` (one given tensor into the
    ``(B, P)`` parameter table, repeated on every row when ``rows == 1``) and ``take(grad, B, P,
    off, size, sum, out)`` (its columns of a gradient, summed over the rows with ``sum``), for
    ``real`` (float32 or float64) tensors' addresses; used by :mod:`hqml.fastcall`."""
    lib, suffix = native._load(), "c64" if real == torch.float32 else "c128"
    return getattr(lib, f"hqml_small_put_{suffix}"), getattr(lib, f"hqml_small_take_{suffix}")
