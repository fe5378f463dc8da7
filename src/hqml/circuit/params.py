"""Evaluate a circuit's gate parameters from input and weight tensors, batched and differentiable.

The result is ``theta`` of shape ``(B, P)``: one row per sample, one column per gate parameter
(in circuit order). Columns that are a plain symbol are gathered in one indexing call. Compound
expressions are compiled once into postfix programs, and the columns whose programs differ only
in which symbols they read run as one program over all of them: ``w[l, i] * 0.5`` for every
``l, i`` is one gather and one multiplication. The programs call the same operator and torch
functions as :meth:`Expr.evaluate`, elementwise, so the values are those of evaluating each
expression alone.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .expr import _BINARY, _FUNCTIONS, BinOp, Const, Expr, Function, Neg, Symbol


@dataclass(frozen=True)
class Bindings:
    """Validated values: ``theta`` (B, P) and whether a batch was given."""

    theta: torch.Tensor
    batched: bool
    batch_size: int
    varying: tuple[bool, ...]  # per column: does it differ between samples?
    # per column: does it depend on a given tensor that requires grad? (None: unknown)
    needs_grad: tuple[bool, ...] | None = None
    # where every column is a plain value or a constant: theta's chain rule as a gather
    link: Link | None = None
    # binds later calls of the same request (same names, shapes, dtypes, devices)
    binder: Binder | None = None


@dataclass(frozen=True)
class Link:
    """How theta reads the given tensors when each column is one of their values or a constant:
    a gradient with respect to theta then maps back by slicing and summing, without autograd.
    """

    tensors: tuple[torch.Tensor, ...]  # as given, in declaration order (inputs, then weights)
    batched: tuple[bool, ...]
    sizes: tuple[int, ...]
    cols: torch.Tensor | None  # theta columns that read a value (None: all, in flat order)
    idx: torch.Tensor | None  # the flat position each reads

    def grads(self, grad: torch.Tensor, needed: tuple[bool, ...]) -> list[torch.Tensor | None]:
        """The gradient of each given tensor (``None`` where not ``needed``) from ``dL/dtheta``
        ``(B, P)``."""
        if self.cols is None:
            flat = grad
        else:
            flat = grad.new_zeros(grad.shape[0], sum(self.sizes))
            flat.index_add_(1, self.idx, grad.index_select(1, self.cols))
        out: list[torch.Tensor | None] = []
        off = 0
        for t, batched, size, need in zip(
            self.tensors, self.batched, self.sizes, needed, strict=True
        ):
            if need:
                part = flat[:, off : off + size]
                part = part.reshape(t.shape) if batched else part.sum(dim=0).reshape(t.shape)
                out.append(part.to(device=t.device, dtype=t.dtype))
            else:
                out.append(None)
            off += size
        return out


class _Compiled:
    def __init__(self, circuit: Any):
        exprs: list[Expr] = circuit.parameter_exprs()
        self.n_params = len(exprs)
        # flat layout: inputs first, then weights, each flattened in declaration order
        self.offsets: dict[tuple[str, str], int] = {}
        pos = 0
        for kind, table in (("input", circuit.inputs), ("weight", circuit.weights)):
            for name, arr in table.items():
                self.offsets[(kind, name)] = pos
                pos += arr.size
        self.shapes = {("input", k): v.shape for k, v in circuit.inputs.items()}
        self.shapes.update({("weight", k): v.shape for k, v in circuit.weights.items()})
        self.declared = [  # (kind, name, shape, size) in the flat layout's order
            (kind, name, shape, math.prod(shape)) for (kind, name), shape in self.shapes.items()
        ]
        self.simple_cols, self.simple_idx = [], []
        self.const_cols, self.const_vals = [], []
        self.generic: list[tuple[int, Expr]] = []
        varying = []
        arrays = [("input", k) for k in circuit.inputs] + [("weight", k) for k in circuit.weights]
        position = {a: i for i, a in enumerate(arrays)}
        # per column, the declared arrays its expression reads (for per-column grad needs)
        self.sources = [
            tuple(sorted({position[(s.kind, s.name)] for s in e.symbols()})) for e in exprs
        ]
        self._needs: dict[tuple[bool, ...], tuple[bool, ...]] = {}
        for col, e in enumerate(exprs):
            if isinstance(e, Const):
                self.const_cols.append(col)
                self.const_vals.append(e.value)
            elif isinstance(e, Symbol):
                self.simple_cols.append(col)
                self.simple_idx.append(self.flat_index(e))
            else:
                self.generic.append((col, e))
            varying.append(any(s.kind == "input" for s in e.symbols()))
        self.varying = tuple(varying)
        self.all_varying = (True,) * len(varying)
        self.groups = _group_programs(self.generic, self.flat_index)
        order = self.simple_cols + [c for g in self.groups for c in g.cols] + self.const_cols
        self.inverse_order = (
            np.argsort(np.asarray(order, dtype=np.int64)) if order else np.zeros(0, int)
        )
        self.identity_order = order == list(range(len(order)))
        # every column is the flat value at its own position: theta is the flat layout itself
        self.is_flat = self.n_params == pos and self.simple_idx == list(range(pos))
        self._index_cache: dict[Any, torch.Tensor] = {}

    def needs_grad(self, flags: tuple[bool, ...]) -> tuple[bool, ...]:
        """Per column: does it read an array whose flag (``requires_grad``) is set?"""
        out = self._needs.get(flags)
        if out is None:
            out = tuple(any(flags[i] for i in src) for src in self.sources)
            self._needs[flags] = out
        return out

    def flat_index(self, s: Symbol) -> int:
        shape = self.shapes[(s.kind, s.name)]
        return self.offsets[(s.kind, s.name)] + (
            int(np.ravel_multi_index(s.index, shape)) if shape else 0
        )

    def index(self, key: str, values: Any, device: Any) -> torch.Tensor:
        k = (key, str(device))
        t = self._index_cache.get(k)
        if t is None:
            with torch._C._DisableFuncTorch():  # a plain tensor, even if first made in torch.func
                t = torch.as_tensor(np.asarray(values, dtype=np.int64), device=device)
            self._index_cache[k] = t
        return t


def _compiled(circuit: Any) -> _Compiled:
    return circuit.cached(("hqml.circuit.params",), lambda: _Compiled(circuit))


def _to_tensor(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001
        raise TypeError(f"{what}: expected a tensor or array of numbers") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what}: expected real numbers, got dtype {arr.dtype}")
    return torch.as_tensor(arr, dtype=torch.float64 if arr.dtype == np.float64 else torch.float32)


def _widest(tensors: Any) -> torch.dtype:
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32


def default_real_dtype(*tables: Mapping[str, Any] | None) -> torch.dtype:
    """The real dtype :func:`bind_parameters` picks: float64 when any given value is float64."""
    return _widest(
        _to_tensor(v, f"'{name}'") for table in tables for name, v in (table or {}).items()
    )


def bind_parameters(
    circuit: Any,
    inputs: Mapping[str, Any] | None,
    weights: Mapping[str, Any] | None,
    real_dtype: torch.dtype | None = None,
    device: Any = None,
) -> Bindings:
    """Check ``inputs``/``weights`` against the circuit and evaluate every gate parameter.

    Args:
        real_dtype: float32 or float64; ``None`` picks float64 when any given tensor is float64.

    Raises:
        ValueError: a missing or unknown name, or a shape that does not fit, named in the message.
    """
    comp = _compiled(circuit)
    given = _given(circuit, dict(inputs or {}), dict(weights or {}))
    if real_dtype is None:
        real_dtype = _widest(given.values())
    if device is None:
        device = next((t.device for t in given.values()), torch.device("cpu"))
    device = torch.device(device)
    sources, batch = _sources(comp, given)
    tensors, batched, sizes = zip(*sources, strict=True) if sources else ((), (), ())
    binder = Binder(comp, real_dtype, device, batch or 1, batched, sizes)
    theta, link = binder(tensors)
    weights_batched = any(
        b for (kind, *_), (_, b, _) in zip(comp.declared, sources, strict=True) if kind == "weight"
    )
    return Bindings(
        theta=theta,
        batched=batch is not None,
        batch_size=batch or 1,
        varying=comp.all_varying if weights_batched else comp.varying,
        needs_grad=comp.needs_grad(tuple(t.requires_grad for t in tensors)),
        link=link,
        binder=binder,
    )


@dataclass(frozen=True)
class Binder:
    """Binds the calls of one request: given tensors (declaration order) of the names, shapes,
    dtypes and devices :func:`bind_parameters` checked once, to theta and its link."""

    comp: _Compiled
    real: torch.dtype
    device: torch.device
    batch: int
    batched: tuple[bool, ...]
    sizes: tuple[int, ...]

    def __call__(self, tensors: Any) -> tuple[torch.Tensor, Link | None]:
        comp, B, real, device = self.comp, self.batch, self.real, self.device
        cols = []
        for t, is_batched, size in zip(tensors, self.batched, self.sizes, strict=True):
            if t.dtype != real or t.device != device:
                t = t.to(device=device, dtype=real)
            cols.append(t.reshape(B if is_batched else 1, size).expand(B, size))
        flat = torch.cat(cols, dim=1) if cols else torch.zeros(B, 0, dtype=real, device=device)
        theta = flat if comp.is_flat else _theta(comp, flat, B, real, device)
        if comp.groups:
            return theta, None
        flat_order = comp.is_flat
        return theta, Link(
            tuple(tensors),
            self.batched,
            self.sizes,
            None if flat_order else comp.index("cols", comp.simple_cols, device),
            None if flat_order else comp.index("simple", comp.simple_idx, device),
        )


def _given(
    circuit: Any, inputs: dict[str, Any], weights: dict[str, Any]
) -> dict[tuple[str, str], torch.Tensor]:
    """The given values as tensors by ``(kind, name)``, every name checked against the circuit."""
    given: dict[tuple[str, str], torch.Tensor] = {}
    for kind, table, values in (
        ("input", circuit.inputs, inputs),
        ("weight", circuit.weights, weights),
    ):
        if values.keys() == table.keys():  # the common case: nothing to report
            for name, v in values.items():
                given[(kind, name)] = _to_tensor(v, f"{kind} '{name}'")
            continue
        unknown = sorted(set(values) - set(table))
        if unknown:
            raise ValueError(
                f"unknown {kind}(s) {unknown}; the circuit's {kind}s are {sorted(table) or 'none'}"
            )
        missing = sorted(set(table) - set(values))
        if missing:
            batch_hint = " (or (B, ...) for a batch)" if kind == "input" else ""
            raise ValueError(
                f"missing {kind}(s) {missing}: pass {kind}s={{'{missing[0]}': tensor of shape"
                f" {table[missing[0]].shape}{batch_hint}}}"
            )
        for name, v in values.items():
            given[(kind, name)] = _to_tensor(v, f"{kind} '{name}'")
    return given


def _sources(
    comp: _Compiled, given: dict[tuple[str, str], torch.Tensor]
) -> tuple[list[tuple[torch.Tensor, bool, int]], int | None]:
    """Per declared value in declaration order (inputs, then weights; not the dicts' order):
    ``(tensor, batched?, size)``, and the batch size (``None`` without a batch)."""
    batch: int | None = None
    sources: list[tuple[torch.Tensor, bool, int]] = []
    for kind, name, shape, size in comp.declared:
        t = given[(kind, name)]
        if t.shape == shape:
            b = None
        elif t.dim() == len(shape) + 1 and tuple(t.shape[1:]) == shape:
            b = t.shape[0]
        else:
            raise ValueError(
                f"{kind} '{name}' has shape {tuple(t.shape)}; expected {shape}"
                f" or (batch,) + {shape}"
            )
        if b is not None:
            if batch is not None and b != batch:
                raise ValueError(
                    f"{kind} '{name}' has batch size {b}, but another value has {batch}"
                )
            batch = b
        sources.append((t, b is not None, size))
    return sources, batch


def _theta(
    comp: _Compiled, flat: torch.Tensor, B: int, real_dtype: torch.dtype, device: Any
) -> torch.Tensor:
    """Theta ``(B, P)`` from the flat values: plain columns gathered, expressions evaluated."""
    parts = []
    if comp.simple_cols:
        parts.append(flat.index_select(1, comp.index("simple", comp.simple_idx, device)))
    for g in comp.groups:
        parts.append(g.run(flat, device))
    if comp.const_cols:
        parts.append(torch.tensor(comp.const_vals, dtype=real_dtype, device=device).expand(B, -1))
    if not parts:
        return torch.zeros(B, 0, dtype=real_dtype, device=device)
    theta = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
    if not comp.identity_order:
        theta = theta.index_select(1, comp.index("order", comp.inverse_order, device))
    return theta


_LEAF = object()  # a program step that reads a symbol's values


@dataclass
class _Group:
    """Gate parameter columns whose expressions have one postfix program, up to the symbols."""

    program: tuple[tuple[Any, Any], ...]  # (None, number) | (_LEAF, k) | (function, arity)
    cols: list[int]
    leaves: list[list[int]]  # per leaf k of the program: the flat index each column reads
    _index: dict[str, torch.Tensor]

    def run(self, flat: torch.Tensor, device: Any) -> torch.Tensor:
        """The group's columns ``(B, G)`` from the flat values ``(B, F)``."""
        idx = self._index.get(str(device))
        if idx is None:
            with torch._C._DisableFuncTorch():  # plain index tensors, even inside torch.func
                idx = [torch.tensor(leaf, dtype=torch.int64, device=device) for leaf in self.leaves]
            self._index[str(device)] = idx
        stack: list[Any] = []
        for fn, arg in self.program:
            if fn is None:
                stack.append(arg)
            elif fn is _LEAF:
                stack.append(flat.index_select(1, idx[arg]))
            elif arg == 1:
                stack[-1] = fn(stack[-1])
            else:
                right = stack.pop()
                stack[-1] = fn(stack[-1], right)
        return stack[0]


def _postfix(e: Expr, leaves: list[Symbol]) -> list[tuple[Any, Any]]:
    """``e`` as postfix steps, calling the functions :meth:`Expr.evaluate` calls."""
    if isinstance(e, Const) or not e.symbols():
        return [(None, float(e.evaluate(lambda s: 0.0)))]
    if isinstance(e, Symbol):
        leaves.append(e)
        return [(_LEAF, len(leaves) - 1)]
    if isinstance(e, Neg):
        return [*_postfix(e.arg, leaves), (operator.neg, 1)]
    if isinstance(e, BinOp):
        return [*_postfix(e.left, leaves), *_postfix(e.right, leaves), (_BINARY[e.op], 2)]
    if isinstance(e, Function):
        return [*_postfix(e.arg, leaves), (_FUNCTIONS[e.fn], 1)]
    raise TypeError(f"cannot compile the expression {e!r} ({type(e).__name__})")


def _group_programs(
    generic: list[tuple[int, Expr]], flat_index: Callable[[Symbol], int]
) -> list[_Group]:
    """The compound expressions' columns, grouped by program (constants by their exact bits)."""
    groups: dict[tuple, _Group] = {}
    for col, e in generic:
        leaves: list[Symbol] = []
        program = tuple(_postfix(e, leaves))
        key = tuple((fn, float(a).hex()) if fn is None else (fn, a) for fn, a in program)
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(program, [], [[] for _ in leaves], {})
        g.cols.append(col)
        for k, s in enumerate(leaves):
            g.leaves[k].append(flat_index(s))
    return list(groups.values())
