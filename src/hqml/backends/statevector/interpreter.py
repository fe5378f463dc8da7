"""Small registers through the compiled batched interpreter (``sim/native/small_impl.h``).

A training step on a few qubits is a few microseconds of arithmetic behind tens of framework
calls. This engine hands the whole circuit to one C call for the forward pass and one for the
adjoint sweep, with the batch as the vector dimension (16 samples per block). A circuit is
compiled once into a flat program (:mod:`.interpreter_program`).

For diagonal observables (Z words, probabilities) the kernels also measure, and the backward
call builds the cotangent state from the values' cotangent itself. Values agree with the torch
reference to float rounding; gradients follow torch's convention,
``dL/dtheta = 2 Re <lam| dU/dtheta |psi>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ...sim import native
from ..base import Task
from . import limits
from .dense_measure import REAL_TORCH, cotangent_state, measure, measure_of
from .engine import exact_on_cpu
from .interpreter_program import NativeProgram, compile_program
from .numpy_matrices import _NP

_SUFFIX = {np.complex64: "c64", np.complex128: "c128"}

with torch._C._DisableFuncTorch():  # plain tensors even when imported inside torch.func
    _EMPTY_F = torch.zeros(2, dtype=torch.float64)
    _EMPTY_I = torch.zeros(2, dtype=torch.int64)
_TORCH = {np.complex64: torch.complex64, np.complex128: torch.complex128}


def _flags(prog: NativeProgram, key: Any, make: Any) -> tuple[np.ndarray, int]:
    """A cached uint8 array (per-column flags) of the program and its address."""
    out = prog.flag_arrays.get(key)
    if out is None:
        arr = np.ascontiguousarray(make(), dtype=np.uint8)
        out = prog.flag_arrays[key] = (arr, arr.ctypes.data)
    return out


def _stop(prog: NativeProgram, needs: tuple[bool, ...] | None) -> int:
    """The first op the backward sweep must reach (the earliest wanted parameter)."""
    s = prog.stops.get(needs)
    if s is None:
        wanted = [o for o, c in prog.param_ops if needs is None or needs[c]]
        s = prog.stops[needs] = min(wanted) if wanted else prog.nops
    return s


def _vary(prog: NativeProgram, varying: tuple[bool, ...] | None, batch: int, p: int) -> Any:
    def make() -> np.ndarray:
        if batch == 1 or p == 0:
            return np.zeros(max(p, 1))
        return np.ones(p) if varying is None else np.asarray(varying)

    return _flags(prog, ("vary", varying, batch == 1, p), make)


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


def diag_tensor(meas: Any, cdt: Any) -> torch.Tensor | None:
    """The measurement's diagonal ``(2**n, K)`` as a cached tensor of ``cdt``'s real type, when
    the kernels can take it."""
    if meas.diag is None or meas.diag.shape[1] > limits.LIMITS.diag_max_terms:
        return None
    t = meas.__dict__.get("_native")
    if t is None:
        t = meas._native = torch.from_numpy(np.ascontiguousarray(meas.diag, dtype=_REAL[cdt]))
    return t


def kernel_forward(
    prog: NativeProgram,
    theta: torch.Tensor,
    varying: tuple[bool, ...] | None,
    cdt: Any,
    diag: torch.Tensor | None = None,
    fn: Any = None,
) -> tuple[np.ndarray, torch.Tensor | None, Any]:
    """The final states ``(B, 2**n)`` for ``theta`` ``(B, P)`` (a contiguous CPU tensor of the
    real type of ``cdt``); with ``diag`` ``(2**n, K)`` also ``|psi|^2 @ diag``; and what
    :func:`kernel_backward` reuses. ``fn``: the library's forward function for ``cdt``
    (:func:`kernel_functions`), looked up when not given."""
    batch, p = theta.shape
    out = torch.empty((batch, 2**prog.n), dtype=_TORCH[cdt])
    values = None if diag is None else torch.empty((batch, diag.shape[1]), dtype=theta.dtype)
    vary, vary_ptr = _vary(prog, varying, batch, p)
    given, goff = _given(prog, theta, vary)
    if fn is None:
        fn = kernel_functions(cdt)[0]
    rc = fn(
        *prog.ptrs, theta.data_ptr(), p, batch, vary_ptr, given.data_ptr(), goff.data_ptr(),
        out.data_ptr(), 0 if diag is None else diag.data_ptr(),
        0 if diag is None else diag.shape[1], 0 if values is None else values.data_ptr(),
        torch.get_num_threads(),
    )  # fmt: skip
    if rc:
        raise RuntimeError(f"native small-register kernel failed: {_ERRORS.get(rc, rc)}")
    return out.numpy(), values, (theta, out, vary_ptr, given, goff, diag)


def kernel_backward(
    prog: NativeProgram,
    saved: Any,
    needs: tuple[bool, ...] | None,
    cot: torch.Tensor | None = None,
    lam: np.ndarray | None = None,
    fn: Any = None,
) -> torch.Tensor:
    """``dL/dtheta`` ``(B, P)`` after :func:`kernel_forward` returned ``saved``: for the cotangent
    ``cot`` ``(B, K)`` of the values it measured with ``diag``, or else for the cotangent states
    ``lam`` ``(B, 2**n)`` (contiguous, of the states' type)."""
    theta, psi, vary_ptr, given, goff, diag = saved
    batch, p = theta.shape
    grad = torch.zeros((batch, p), dtype=theta.dtype)
    stop = _stop(prog, needs)
    if stop >= prog.nops:
        return grad
    _, need_ptr = _flags(prog, ("needs", needs, p), lambda: needs or np.ones(max(p, 1)))
    if lam is not None:
        diag, lam_ptr, cot_ptr = None, torch.from_numpy(lam).data_ptr(), 0
    else:
        cot = cot.to(theta.dtype).expand(batch, -1).contiguous()
        lam_ptr, cot_ptr = 0, cot.data_ptr()
    if fn is None:
        fn = kernel_functions(psi.numpy().dtype.type)[1]
    rc = fn(
        *prog.ptrs, theta.data_ptr(), p, batch, vary_ptr, given.data_ptr(), goff.data_ptr(),
        psi.data_ptr(), lam_ptr, 0 if diag is None else diag.data_ptr(),
        0 if diag is None else diag.shape[1], cot_ptr, need_ptr, stop, grad.data_ptr(),
        torch.get_num_threads(),
    )  # fmt: skip
    if rc:
        raise RuntimeError(f"native small-register adjoint failed: {_ERRORS.get(rc, rc)}")
    return grad


def kernel_functions(cdt: Any) -> tuple[Any, Any]:
    """The library's forward and backward functions for ``cdt`` (np.complex64/128)."""
    lib, suffix = native._load(), _SUFFIX[cdt]
    return getattr(lib, f"hqml_small_forward_{suffix}"), getattr(
        lib, f"hqml_small_backward_{suffix}"
    )


def table_copies(real: torch.dtype) -> tuple[Any, Any]:
    """The library's ``put(src, rows, size, B, P, off, theta)`` (one given tensor into the
    ``(B, P)`` parameter table, repeated on every row when ``rows == 1``) and ``take(grad, B, P,
    off, size, sum, out)`` (its columns of a gradient, summed over the rows with ``sum``), for
    ``real`` (float32 or float64) tensors' addresses; used by :mod:`.prepared`."""
    lib, suffix = native._load(), "c64" if real == torch.float32 else "c128"
    return getattr(lib, f"hqml_small_put_{suffix}"), getattr(lib, f"hqml_small_take_{suffix}")


@dataclass
class InterpreterRecord:
    """What the interpreter's adjoint sweep reads."""

    engine: InterpreterRun  # the run that made the record
    task: Task
    state: np.ndarray  # (B, 2**n) final states
    extra: Any  # what the NumPy measurement of a non-diagonal observable kept, else None
    kernel: tuple  # what :func:`kernel_forward` returned for :func:`kernel_backward`


class InterpreterRun:
    """The interpreter bound to one request: its program, measurement and library functions
    (:meth:`InterpreterEngine.bind`). Runs the request's tasks, whatever their theta."""

    def __init__(self, prog: NativeProgram, measurement: Any, cdt: Any):
        self.prog, self.cdt = prog, cdt
        self.meas = measure_of(prog, measurement, cdt)
        self.diag = diag_tensor(self.meas, cdt)
        self.real = REAL_TORCH[cdt]
        self.fns = kernel_functions(cdt)

    def forward(self, task: Task, keep: bool) -> tuple[torch.Tensor, InterpreterRecord | None]:
        theta = task.theta.detach().to(self.real).contiguous()
        state, values, kernel = kernel_forward(
            self.prog, theta, task.varying, self.cdt, self.diag, self.fns[0]
        )
        extra = None
        if values is None:  # the kernels do not measure this: NumPy does, on the final states
            out, extra = measure(self.meas, state)
            values = torch.from_numpy(np.ascontiguousarray(out))
        if not keep:
            return values, None
        return values, InterpreterRecord(self, task, state, extra, kernel)

    def backward(self, saved: InterpreterRecord, cotangent: torch.Tensor) -> torch.Tensor:
        if self.meas.state:
            raise ValueError("a state is differentiable by diff_method='backprop' only")
        needs, fn = saved.task.needs_grad, self.fns[1]
        if saved.kernel[-1] is not None:  # the kernels measured: they take the cotangent
            return kernel_backward(self.prog, saved.kernel, needs, cot=cotangent.detach(), fn=fn)
        state = saved.state
        cot = cotangent.detach().numpy()
        if cot.shape[0] != state.shape[0]:
            cot = np.broadcast_to(cot, (state.shape[0],) + cot.shape[1:])
        lam = cotangent_state(self.meas, state, saved.extra,
                              cot.astype(state.real.dtype, copy=False))  # fmt: skip
        return kernel_backward(self.prog, saved.kernel, needs, lam=np.ascontiguousarray(lam),
                               fn=fn)  # fmt: skip


class InterpreterEngine:
    """The whole circuit in one compiled call (the program the chooser compiled for the task)."""

    name = "interpreter"
    autograd = False

    def __repr__(self) -> str:
        return "<engine interpreter>"

    def supports(self, task: Task) -> bool:
        return exact_on_cpu(task) and compile_program(task.circuit) is not None

    def bind(self, task: Task) -> InterpreterRun:
        return InterpreterRun(task.memo["native"], task.measurement, _NP[task.dtype])

    def forward(self, task: Task, keep: bool) -> tuple[torch.Tensor, InterpreterRecord | None]:
        return self.bind(task).forward(task, keep)


INTERPRETER = InterpreterEngine()
