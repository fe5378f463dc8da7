"""The :class:`Circuit`: qubits, named symbolic inputs and weights, and a list of operations."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .dynamic import is_dynamic_op, require_static
from .dynamic_builder import DynamicMixin, map_wires, substitute
from .expr import Const, Expr, Symbol, as_expr
from .gates import ControlledGate, Gate, UnitaryGate, controlled, get_gate
from .info import InfoMixin
from .operation import Operation, OpList
from .serialize import circuit_from_json, circuit_to_json
from .symbol_array import SymbolArray, normalize_shape


def _one_qubit_fixed(name: str):
    def method(self: Circuit, wire: int) -> Circuit:
        return self.append(name, [wire])

    method.__name__ = name
    method.__doc__ = f"Apply {name.upper()} to ``wire``."
    return method


def _one_qubit_rot(name: str):
    def method(self: Circuit, theta: Any, wire: int) -> Circuit:
        return self.append(name, [wire], [theta])

    method.__name__ = name
    method.__doc__ = f"Apply {name.upper()}(theta) to ``wire``; theta is a number or an expression."
    return method


def _two_qubit_fixed(name: str):
    def method(self: Circuit, wire0: int, wire1: int) -> Circuit:
        return self.append(name, [wire0, wire1])

    method.__name__ = name
    method.__doc__ = f"Apply {name.upper()} to ``(wire0, wire1)`` (control first where controlled)."
    return method


def _two_qubit_rot(name: str):
    def method(self: Circuit, theta: Any, wire0: int, wire1: int) -> Circuit:
        return self.append(name, [wire0, wire1], [theta])

    method.__name__ = name
    method.__doc__ = (
        f"Apply {name.upper()}(theta) to ``(wire0, wire1)`` (control first where controlled)."
    )
    return method


class Circuit(InfoMixin, DynamicMixin):
    """A quantum circuit on ``n_qubits`` wires with symbolic inputs and weights.

    >>> c = Circuit(2)
    >>> x = c.input("x", 2)
    >>> w = c.weight("w", 2)
    >>> _ = c.ry(x[0], 0).ry(x[1], 1).cnot(0, 1).rz(w[0] * 0.5 + x[0], 1)
    >>> c.count_ops()
    {'ry': 2, 'cx': 1, 'rz': 1}
    """

    def __init__(self, n_qubits: int):
        if not isinstance(n_qubits, numbers.Integral) or n_qubits < 1:
            raise ValueError(f"n_qubits must be a positive integer, got {n_qubits!r}")
        self.n_qubits = int(n_qubits)
        # compiled forms (parameter layout, plans, memoised requests), cleared on every edit:
        # read it directly where a lookup must cost no call; fill it through cached()
        self.memo: dict[Any, Any] = {}
        self._ops = OpList(self)
        self.inputs: dict[str, SymbolArray] = {}
        self.weights: dict[str, SymbolArray] = {}
        self.cregs: dict[str, int] = {}  # classical registers: name -> bits (dynamic circuits)

    @property
    def ops(self) -> list[Operation]:
        """The operations in order (a list; changing it invalidates compiled caches)."""
        return self._ops

    @ops.setter
    def ops(self, value: Iterable[Operation]) -> None:
        self._ops = OpList(self, value)
        self._touch()

    def __getstate__(self) -> dict[str, Any]:
        return {
            "n_qubits": self.n_qubits,
            "ops": list(self._ops),
            "inputs": self.inputs,
            "weights": self.weights,
            "cregs": self.cregs,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.n_qubits, self.memo = state["n_qubits"], {}
        self._ops = OpList(self, state["ops"])
        self.inputs, self.weights = state["inputs"], state["weights"]
        self.cregs = dict(state.get("cregs", {}))

    # --- symbols ----------------------------------------------------------------------------
    def input(self, name: str, shape: Any = ()) -> SymbolArray:
        """Declare a named input (one value per sample; the batch is the leading dimension)."""
        return self._declare(name, "input", shape)

    def weight(self, name: str, shape: Any = ()) -> SymbolArray:
        """Declare a named trainable weight tensor (shared across the batch)."""
        return self._declare(name, "weight", shape)

    def _declare(self, name: str, kind: str, shape: Any) -> SymbolArray:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{kind} name must be an identifier, got {name!r}")
        shape = normalize_shape(shape)
        table, other = (
            (self.inputs, self.weights) if kind == "input" else (self.weights, self.inputs)
        )
        if name in other:
            raise ValueError(
                f"'{name}' is already declared as {'a weight' if kind == 'input' else 'an input'}"
            )
        if name in table and table[name].shape != shape:
            raise ValueError(f"{kind} '{name}' already declared with shape {table[name].shape}")
        arr = table.setdefault(name, SymbolArray(name, kind, shape))
        self._touch()
        return arr

    def _touch(self) -> None:
        self.memo.clear()

    def cached(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """``build()``'s value for ``key``, computed once and kept until the circuit is next
        edited (compiled forms: parameter layout, plans, programs). Keys belong to their callers:
        start a tuple with the caller's module name.

        >>> c = Circuit(1).h(0)
        >>> c.cached(("doc", "ops"), lambda: len(c.ops))
        1
        >>> c.x(0).cached(("doc", "ops"), lambda: len(c.ops))  # the edit dropped the old value
        2
        """
        try:
            return self.memo[key]
        except KeyError:
            value = self.memo[key] = build()
            return value

    # --- building ---------------------------------------------------------------------------
    def append(
        self,
        gate: Gate | str | Operation,
        wires: Sequence[int] | int = (),
        params: Sequence[Any] = (),
    ) -> Circuit:
        """Append a gate (by name or definition) on ``wires`` with ``params``; returns ``self``."""
        if is_dynamic_op(gate):
            return self._append_dynamic(gate)
        if isinstance(gate, Operation):
            gate, wires, params = gate.gate, gate.wires, gate.params
        if isinstance(gate, str):
            gate = get_gate(gate)
        wires = (wires,) if isinstance(wires, numbers.Integral) else tuple(wires)
        self._check_wires(gate, wires)
        if len(params) != gate.num_params:
            raise ValueError(
                f"gate {gate.name} takes {gate.num_params} parameter(s), got {len(params)}"
            )
        exprs = tuple(as_expr(p) for p in params)
        for e in exprs:
            for s in e.symbols():
                self._check_symbol(s)
        self.ops.append(Operation(gate, tuple(int(w) for w in wires), exprs))
        return self

    def _check_wires(self, gate: Gate, wires: tuple) -> None:
        if len(wires) != gate.num_wires:
            raise ValueError(
                f"gate {gate.name} acts on {gate.num_wires} wire(s), got {list(wires)}"
            )
        for w in wires:
            if isinstance(w, bool) or not isinstance(w, numbers.Integral):
                raise TypeError(f"gate {gate.name}: wires must be integers, got {w!r}")
            if not 0 <= w < self.n_qubits:
                raise ValueError(
                    f"gate {gate.name}: wire {w} out of range for a {self.n_qubits}-qubit circuit"
                    f" (wires are 0..{self.n_qubits - 1})"
                )
        if len(set(wires)) != len(wires):
            raise ValueError(f"gate {gate.name}: wires must be distinct, got {list(wires)}")

    def _check_symbol(self, s: Symbol) -> None:
        table = self.inputs if s.kind == "input" else self.weights
        arr = table.get(s.name)
        if arr is None:
            raise ValueError(
                f"{s.kind} '{s.name}' is not declared in this circuit; declare it with"
                f" c.{s.kind}('{s.name}', shape)"
            )
        if len(s.index) != len(arr.shape) or any(
            not 0 <= i < n for i, n in zip(s.index, arr.shape, strict=False)
        ):
            raise ValueError(f"symbol {s!r} does not fit {s.kind} '{s.name}' of shape {arr.shape}")

    h = _one_qubit_fixed("h")
    x = _one_qubit_fixed("x")
    y = _one_qubit_fixed("y")
    z = _one_qubit_fixed("z")
    s = _one_qubit_fixed("s")
    sdg = _one_qubit_fixed("sdg")
    t = _one_qubit_fixed("t")
    tdg = _one_qubit_fixed("tdg")
    sx = _one_qubit_fixed("sx")
    sxdg = _one_qubit_fixed("sxdg")
    id = _one_qubit_fixed("id")
    rx = _one_qubit_rot("rx")
    ry = _one_qubit_rot("ry")
    rz = _one_qubit_rot("rz")
    p = _one_qubit_rot("p")
    cx = _two_qubit_fixed("cx")
    cnot = _two_qubit_fixed("cx")
    cy = _two_qubit_fixed("cy")
    cz = _two_qubit_fixed("cz")
    ch = _two_qubit_fixed("ch")
    swap = _two_qubit_fixed("swap")
    iswap = _two_qubit_fixed("iswap")
    crx = _two_qubit_rot("crx")
    cry = _two_qubit_rot("cry")
    crz = _two_qubit_rot("crz")
    cp = _two_qubit_rot("cp")
    rxx = _two_qubit_rot("rxx")
    ryy = _two_qubit_rot("ryy")
    rzz = _two_qubit_rot("rzz")

    def u(self, theta: Any, phi: Any, lam: Any, wire: int) -> Circuit:
        """Apply the general one-qubit gate U(theta, phi, lambda) (OpenQASM's ``U`` / ``u3``)."""
        return self.append("u", [wire], [theta, phi, lam])

    def ccx(self, control0: int, control1: int, target: int) -> Circuit:
        """Toffoli."""
        return self.append("ccx", [control0, control1, target])

    def cswap(self, control: int, wire0: int, wire1: int) -> Circuit:
        """Fredkin."""
        return self.append("cswap", [control, wire0, wire1])

    def unitary(self, matrix: Any, wires: Sequence[int] | int, label: str = "U") -> Circuit:
        """Apply a fixed ``2^k x 2^k`` unitary; ``wires[0]`` is its most significant qubit."""
        return self.append(UnitaryGate(matrix, label), wires)

    def controlled(
        self,
        gate: Gate | str,
        controls: Sequence[int] | int,
        wires: Sequence[int] | int,
        *params: Any,
    ) -> Circuit:
        """Apply ``gate`` on ``wires`` controlled on ``controls`` (all must be |1>)."""
        if isinstance(gate, str):
            gate = get_gate(gate)
        controls = (controls,) if isinstance(controls, numbers.Integral) else tuple(controls)
        wires = (wires,) if isinstance(wires, numbers.Integral) else tuple(wires)
        return self.append(controlled(gate, len(controls)), controls + wires, params)

    # --- whole-circuit transforms -----------------------------------------------------------
    def copy(self) -> Circuit:
        out = Circuit(self.n_qubits)
        out.inputs, out.weights, out.ops = dict(self.inputs), dict(self.weights), self.ops
        out.cregs = dict(self.cregs)
        return out

    def compose(self, other: Circuit, wires: Sequence[int] | None = None) -> Circuit:
        """A new circuit: ``self`` followed by ``other`` (mapped onto ``wires``); symbols merged."""
        wires = list(range(other.n_qubits)) if wires is None else list(wires)
        if len(wires) != other.n_qubits:
            raise ValueError(
                f"compose: need {other.n_qubits} wires for the other circuit, got {wires}"
            )
        out = self.copy()
        for arr in list(other.inputs.values()) + list(other.weights.values()):
            out._declare(arr.name, arr.kind, arr.shape)
        for name, size in other.cregs.items():
            out.creg(name, size)
        for op in other.ops:
            out.append(map_wires(op, wires))
        return out

    def __add__(self, other: Circuit) -> Circuit:
        return self.compose(other)

    def inverse(self) -> Circuit:
        """The adjoint circuit: reversed order, each gate inverted (symbols kept)."""
        require_static(self, "Circuit.inverse", "a measurement or reset has no inverse")
        out = Circuit(self.n_qubits)
        out.inputs, out.weights = dict(self.inputs), dict(self.weights)
        for op in reversed(self.ops):
            gate, params = op.gate.inverse(op.params)
            out.append(gate, op.wires, params)
        return out

    def bind(
        self, inputs: Mapping[str, Any] | None = None, weights: Mapping[str, Any] | None = None
    ) -> Circuit:
        """Replace symbols by numbers (one sample's values); unbound names stay symbolic."""
        values: dict[Symbol, float] = {}
        for kind, table, given in (
            ("input", self.inputs, inputs or {}),
            ("weight", self.weights, weights or {}),
        ):
            for name, value in given.items():
                if name not in table:
                    raise ValueError(
                        f"bind: unknown {kind} '{name}'; this circuit has {sorted(table) or 'none'}"
                    )
                arr = np.asarray(
                    value.detach().cpu() if isinstance(value, torch.Tensor) else value,
                    dtype=np.float64,
                )
                if arr.shape != table[name].shape:
                    raise ValueError(
                        f"bind: {kind} '{name}' needs shape {table[name].shape}, got {arr.shape}"
                    )
                for idx in np.ndindex(*arr.shape):
                    values[Symbol(name, kind, idx)] = float(arr[idx])
        out = Circuit(self.n_qubits)
        out.inputs = {k: v for k, v in self.inputs.items() if not (inputs and k in inputs)}
        out.weights = {k: v for k, v in self.weights.items() if not (weights and k in weights)}
        out.cregs = dict(self.cregs)
        out.ops = [substitute(op, values) for op in self.ops]
        return out

    # --- information ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self):
        return iter(self.ops)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Circuit)
            and self.n_qubits == other.n_qubits
            and self.ops == other.ops
            and self.inputs == other.inputs
            and self.weights == other.weights
            and self.cregs == other.cregs
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    @property
    def is_bound(self) -> bool:
        """True when no gate parameter depends on a symbol."""
        return all(p.is_constant for op in self.ops for p in op.params)

    @property
    def num_parameters(self) -> int:
        """Number of trainable scalars (the sizes of all weights)."""
        return sum(a.size for a in self.weights.values())

    @property
    def num_inputs(self) -> int:
        return sum(a.size for a in self.inputs.values())

    def __str__(self) -> str:
        return self.draw()

    def __repr__(self) -> str:
        cregs = f", cregs={self.cregs}" if self.cregs else ""
        return (
            f"Circuit(n_qubits={self.n_qubits}, ops={len(self.ops)}, inputs={list(self.inputs)},"
            f" weights={list(self.weights)}{cregs})"
        )

    # --- JSON -------------------------------------------------------------------------------
    def to_json(self, indent: int | None = None) -> str:
        """A JSON text of the circuit (symbols kept); :meth:`from_json` reads it back."""
        return circuit_to_json(self, indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes | Mapping[str, Any]) -> Circuit:
        return circuit_from_json(text, cls)

    # --- numbers ----------------------------------------------------------------------------
    def parameter_exprs(self) -> list[Expr]:
        """All gate parameters in order (the flat vector simulators receive)."""
        return [p for op in self.ops for p in op.params]


__all__ = ["Circuit", "Operation", "Const", "ControlledGate"]
