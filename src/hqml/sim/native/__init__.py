"""Compiled CPU kernels for layers of single-qubit gates on large registers.

A *layer* is a set of 2x2 factors on distinct wires (so they commute). The C kernels apply a
whole layer in about two passes over the state by cache blocking (``kernels.c``), where one
torch matmul per few wires costs a pass each. They work on contiguous complex64 / complex128 CPU
tensors of shape ``(B, 2**n)`` (wire 0 the most significant bit) with ``torch.get_num_threads()``
OpenMP threads (plain threads started per call in a process forked after the parent used
them, where GNU OpenMP's pool would deadlock).

The shared library is built by ``make native`` (or on first use, once, if missing or stale).
When it cannot be built or loaded, :func:`available` is ``False`` and callers use the torch
kernels; ``HQML_NATIVE=0`` in the environment turns the native path off.

Example:
    >>> import torch
    >>> from hqml.sim import native
    >>> h = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128) / 2**0.5
    >>> psi = torch.zeros(1, 4, dtype=torch.complex128)
    >>> psi[0, 0] = 1
    >>> native.apply_layer(psi, 2, [0, 1], torch.stack([h, h])).real  # doctest: +SKIP
    tensor([[0.5000, 0.5000, 0.5000, 0.5000]], dtype=torch.float64)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import torch

from . import build as _build
from . import calibrate as _calibrate
from .library import ABI_VERSION as ABI_VERSION  # re-exported
from .library import load_library
from .operands import _DTYPES, _check, _factors, _operands, _positions

log = logging.getLogger(__name__)

# registers from here on use the native layer kernels: measured faster than the torch chunks
# from 6 qubits on (W1, B = 64: 4 ms against 15 ms a step at 6 qubits, 12 against 32 at 10);
# up to 5 qubits the planner multiplies dense layer matrices instead
MIN_QUBITS = 6

_state: dict[str, Any] = {"lib": None, "tried": False}


def _load() -> Any:
    if _state["tried"]:
        return _state["lib"]
    variant = _build.requested_variant()  # a bad HQML_NATIVE_VARIANT is an error on every call
    _state["tried"] = True
    path = _build.build(timeout=120)  # this CPU's library: found, or built once
    if path is None:
        log.debug("native kernels unavailable: the library could not be built")
        return None
    try:
        lib = load_library(path)
    except OSError as exc:
        log.debug("native kernels unavailable: %s", exc)
        return None
    lib.hqml_variant = variant
    _state["lib"] = lib
    return lib


def describe() -> dict[str, Any]:
    """What the native kernels run on here: ``available``, the ``cpu`` model and its SIMD
    flags (``cpu_simd``), the ``isa`` of the build (``avx512``, ``avx2``, ``sse2``, ``neon``...),
    its ``vector_bytes``, the interpreter's ``lanes`` (samples per block), the ``variant`` built,
    the ``library`` file and whether each compiled kind ``beats_torch`` here; without a library,
    the ``reason``."""
    simd = ("sse", "avx", "fma", "asimd", "neon", "sve", "rvv")
    flags = [f for f in _build.cpu_flags() if f.startswith(simd)]
    out: dict[str, Any] = {"cpu": _build.cpu_model(), "cpu_simd": flags, "available": False}
    if os.environ.get("HQML_NATIVE", "1").strip() in ("0", "false", "off", "no"):
        return {**out, "reason": "disabled by HQML_NATIVE=0"}
    lib = _load()
    if lib is None:
        return {**out, "reason": "no library (no C compiler, or the build failed)"}
    return {
        **out,
        "available": True,
        "isa": lib.hqml_isa().decode(),
        "vector_bytes": int(lib.hqml_vector_bytes()),
        "lanes": int(lib.hqml_small_lanes()),
        "variant": getattr(lib, "hqml_variant", "native"),
        "library": lib.hqml_path,
        "beats_torch": {
            kind: {str(d).removeprefix("torch."): beats_torch(kind, d) for d in _DTYPES}
            for kind in _calibrate.KINDS
        },
    }


def available() -> bool:
    """Whether the native kernels can be used (built, loaded, and not disabled by
    ``HQML_NATIVE=0``)."""
    if os.environ.get("HQML_NATIVE", "1").strip() in ("0", "false", "off", "no"):
        return False
    return _load() is not None


def usable(device: torch.device | str, dtype: torch.dtype, n: int) -> bool:
    """Whether a ``n``-qubit state of ``dtype`` on ``device`` should take the native path: the
    library loads and, on this CPU, its layer kernels beat the torch path (:func:`beats_torch`)."""
    return (
        n >= MIN_QUBITS
        and torch.device(device).type == "cpu"
        and dtype in _DTYPES
        and available()
        and beats_torch("layer", dtype)
    )


def beats_torch(kind: str, dtype: torch.dtype) -> bool:
    """Whether the compiled ``kind`` (``"layer"`` kernels or the small-register
    ``"interpreter"``) for ``dtype`` measured at least as fast as the torch path on this CPU, by
    the one-time check of :mod:`hqml.sim.native.calibrate` (cached per CPU, build, torch version
    and thread count; ``HQML_NATIVE_CALIBRATE=0`` skips it). False without a library."""
    lib = _load()
    if lib is None or dtype not in _DTYPES:
        return False
    if os.environ.get(_calibrate.ENV, "1").strip().lower() in ("0", "false", "off", "no"):
        return True  # the check is off (HQML_NATIVE_CALIBRATE=0)
    key = ("calibration", torch.get_num_threads())
    verdict = _state.get(key)
    if verdict is None:
        verdict = _state[key] = _calibrate.calibration(lib)
    return bool(verdict[kind][_DTYPES[dtype]])


def interpreter_usable(dtype: torch.dtype | None = None) -> bool:
    """Whether the small-register interpreter should run (``dtype``, or both complex dtypes):
    the library loads and the interpreter beats the torch path here."""
    dtypes = list(_DTYPES) if dtype is None else [dtype]
    return available() and all(beats_torch("interpreter", d) for d in dtypes)


def _apply(
    state: torch.Tensor,
    n: int,
    wires: Sequence[int],
    factors: torch.Tensor,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    lib = _load()
    pos = _positions(n, wires)
    f, fb = _factors(factors, state.dtype, len(wires))
    src, stride, batch, out = _operands(state, n, fb, out)
    fn = getattr(lib, f"hqml_layer_apply_{_DTYPES[state.dtype]}")
    rc = fn(
        src.data_ptr(), out.data_ptr(), batch, n, len(wires), pos, f.data_ptr(), int(fb > 0),
        stride, torch.get_num_threads(),
    )  # fmt: skip
    if rc:
        raise RuntimeError(f"native layer kernel failed (code {rc})")
    return out


def apply_layer_permuted(
    state: torch.Tensor,
    n: int,
    columns: torch.Tensor,
    wires: Sequence[int],
    factors: torch.Tensor | None,
    out: torch.Tensor,
) -> torch.Tensor | None:
    """``out = (F_0 (x) F_1 (x) ...) P state`` in one call, ``P`` the permutation
    ``(P psi)[y] = psi[M y]`` with ``M`` linear over GF(2): ``M y`` is the XOR of ``columns[j]``
    over the set bits ``j`` of ``y`` (as a chain of CNOTs and SWAPs gives,
    :class:`hqml.sim.fused.LinearGather`). The permutation costs no pass of its own: the
    layer's first pass gathers each block from the input (``wires`` may be empty: then only the
    permutation). Not differentiable.

    ``out`` must be a contiguous ``(B, 2**n)`` tensor of the state's dtype: ``state`` itself
    (in place: the blocks are moved along the cycles of the permutation, one block's copy per
    thread is the only extra memory) or one not overlapping it. Returns ``out``, or ``None``
    (nothing written) where this path does not apply: the native kernels are not used for this
    state, or ``M`` does not keep the low bits of a cache block among themselves (then gather
    and apply the layer separately)."""
    if not usable(state.device, state.dtype, n) or not beats_torch("perm_layer", state.dtype):
        return None
    _check(state, n, "state")
    lib = _load()
    wires = tuple(int(w) for w in wires)
    pos = _positions(n, wires)
    if factors is None:
        f, fb = torch.zeros(1, dtype=state.dtype), 0
    else:
        f, fb = _factors(factors, state.dtype, len(wires))
    src, stride, batch, out = _operands(state, n, fb, out)
    cols = torch.as_tensor(columns, dtype=torch.int64).contiguous()
    if cols.shape != (n,):
        raise ValueError(f"columns must have {n} entries, got {tuple(cols.shape)}")
    fn = getattr(lib, f"hqml_layer_apply_perm_{_DTYPES[state.dtype]}")
    rc = fn(
        src.data_ptr(), out.data_ptr(), batch, n, len(wires), pos, f.data_ptr(), int(fb > 0),
        stride, torch.get_num_threads(), cols.data_ptr(),
    )  # fmt: skip
    if rc == 3:
        return None
    if rc:
        raise RuntimeError(f"native layer kernel failed (code {rc})")
    return out


def _adjoint(
    psi: torch.Tensor, lam: torch.Tensor, n: int, wires: Sequence[int], factors: torch.Tensor
) -> torch.Tensor:
    lib = _load()
    pos = _positions(n, wires)
    f, fb = _factors(factors, psi.dtype, len(wires))
    bs = psi.shape[0]
    if lam.shape != psi.shape or lam.dtype != psi.dtype:
        raise ValueError(f"psi {tuple(psi.shape)} and lam {tuple(lam.shape)} must match")
    if not (psi.is_contiguous() and lam.is_contiguous()):
        raise ValueError("psi and lam must be contiguous (they are updated in place)")
    if fb not in (0, bs):
        raise ValueError(f"state batch {bs} does not match the factors' batch {fb}")
    cot = torch.empty(bs, len(wires), 2, 2, dtype=torch.complex128)
    fn = getattr(lib, f"hqml_layer_adjoint_{_DTYPES[psi.dtype]}")
    rc = fn(
        psi.data_ptr(), lam.data_ptr(), bs, n, len(wires), pos, f.data_ptr(), int(fb > 0),
        cot.data_ptr(), torch.get_num_threads(),
    )  # fmt: skip
    if rc:
        raise RuntimeError(f"native layer adjoint kernel failed (code {rc})")
    cot = cot.to(psi.dtype)
    return cot if fb else cot.sum(dim=0)


class _LayerFunction(torch.autograd.Function):
    """``apply_layer`` for autograd: the backward pass undoes the layer from the saved output
    (the factors are unitary) with the adjoint kernel."""

    @staticmethod
    def forward(ctx: Any, state: torch.Tensor, factors: torch.Tensor, n: int, wires: tuple) -> Any:
        out = _apply(state, n, wires, factors)
        ctx.save_for_backward(out, factors)
        ctx.n, ctx.wires, ctx.in_batch = n, wires, state.shape[0]
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        out, factors = ctx.saved_tensors
        psi = out.clone()
        lam = grad.to(out.dtype).expand_as(out).contiguous().clone()
        cot = _adjoint(psi, lam, ctx.n, ctx.wires, factors)
        grad_state = grad_factors = None
        if ctx.needs_input_grad[0]:
            grad_state = lam if ctx.in_batch == lam.shape[0] else lam.sum(dim=0, keepdim=True)
        if ctx.needs_input_grad[1]:
            grad_factors = cot.reshape(factors.shape).to(factors.dtype)
        return grad_state, grad_factors, None, None


def apply_layer(
    state: torch.Tensor,
    n: int,
    wires: Sequence[int],
    factors: torch.Tensor,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply 2x2 ``factors`` on distinct ``wires`` to ``state`` (out of place, differentiable).

    Args:
        state: ``(B, 2**n)`` complex64/complex128 CPU tensor (``B = 1`` broadcasts against
            per-sample factors).
        n: number of qubits.
        wires: the wires of the factors, distinct.
        factors: ``(w, 2, 2)`` shared by the batch or ``(B, w, 2, 2)`` per sample; factor ``i``
            acts on ``wires[i]``.

        out: where to write the result (not recorded by autograd); it may be ``state`` itself
            (in place) when its batch matches the result's.

    Returns:
        ``(B, 2**n)``: ``(F_0 (x) F_1 (x) ...) state`` with each factor on its wire.
    """
    _check(state, n, "state")
    wires = tuple(int(w) for w in wires)
    if torch.is_grad_enabled() and (state.requires_grad or factors.requires_grad):
        if out is not None:
            raise ValueError("apply_layer(out=...) is not differentiable; call it under no_grad")
        return _LayerFunction.apply(state, factors, n, wires)
    return _apply(state, n, wires, factors, out)


def adjoint_layer(
    psi: torch.Tensor, lam: torch.Tensor, n: int, wires: Sequence[int], factors: torch.Tensor
) -> torch.Tensor:
    """One adjoint-sweep step over a layer, in place: ``psi <- U^H psi``, ``lam <- U^H lam``.

    For each wire ``q`` (any order, the factors commute): undo ``F_q`` from ``psi``, take
    ``cot_q[i, j] = sum lam[.., i, ..] conj(psi[.., j, ..])`` over the other index bits (and the
    batch, for shared factors) with ``lam`` not yet undone by ``F_q``, then undo ``F_q`` from
    ``lam``. That is ``sum lam_after psi_before^H`` for the factor, the gradient of
    ``Re <lam_after|F_q psi_before>`` in torch's convention for complex tensors: with
    ``lam = O psi`` the gradient of ``<psi|O|psi>`` is twice it
    (:func:`hqml.sim.fused.adjoint_cotangents` multiplies by 2).

    Args:
        psi, lam: ``(B, 2**n)`` contiguous CPU tensors of one dtype, updated in place.
        n, wires, factors: as in :func:`apply_layer` (the factors assumed unitary).

    Returns:
        ``(w, 2, 2)`` for shared factors (summed over the batch), ``(B, w, 2, 2)`` per sample.
    """
    _check(psi, n, "psi")
    _check(lam, n, "lam")
    with torch.no_grad():
        return _adjoint(psi, lam, n, wires, factors)


def gather(
    state: torch.Tensor, index: torch.Tensor, out: torch.Tensor | None = None
) -> torch.Tensor:
    """``out[b, i] = state[b, index[i]]`` with threads (not differentiable; CPU int64 index;
    ``out``, if given, must not overlap ``state``)."""
    lib = _load()
    _check(state, state.shape[1].bit_length() - 1, "state")
    if index.dtype != torch.int64 or index.shape != (state.shape[1],):
        raise ValueError(f"index must be an int64 tensor of shape ({state.shape[1]},)")
    src = state.detach()
    stride = 0 if state.shape[0] == 1 or state.stride(0) == 0 else state.shape[1]
    src = src[:1].contiguous() if stride == 0 else src.contiguous()
    if out is None:
        out = torch.empty(state.shape, dtype=state.dtype)
    elif out.shape != state.shape or out.dtype != state.dtype or not out.is_contiguous():
        raise ValueError(f"out must be a contiguous {tuple(state.shape)} {state.dtype} tensor")
    idx = index.contiguous()
    rc = lib.hqml_gather(
        src.data_ptr(), out.data_ptr(), idx.data_ptr(), state.shape[0], state.shape[1], stride,
        state.element_size(), torch.get_num_threads(),
    )  # fmt: skip
    if rc:
        raise RuntimeError(f"native gather failed (code {rc})")
    return out


class _PermuteFunction(torch.autograd.Function):
    """``gather`` for autograd: a permutation's gradient is the inverse gather."""

    @staticmethod
    def forward(ctx: Any, state: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor) -> Any:
        ctx.save_for_backward(inverse)
        return gather(state, index)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        (inverse,) = ctx.saved_tensors
        return gather(grad, inverse), None, None


def permute(state: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """``out[:, i] = state[:, index[i]]`` for a permutation ``index`` with inverse ``inverse``
    (differentiable: the backward pass gathers with ``inverse``)."""
    if torch.is_grad_enabled() and state.requires_grad:
        return _PermuteFunction.apply(state, index, inverse)
    return gather(state, index)


__all__ = [
    "MIN_QUBITS",
    "adjoint_layer",
    "apply_layer",
    "apply_layer_permuted",
    "available",
    "beats_torch",
    "describe",
    "gather",
    "interpreter_usable",
    "load_library",
    "permute",
    "usable",
]
