"""The :class:`Circuit`: qubits, named symbolic inputs and weights, and a list of operations."""

from __future__ import annotations

import numbers
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .dynamic import Conditional, Measure, is_dynamic_op, require_static
from .dynamic_builder import DynamicMixin, map_wires, op_name, substitute
from .expr import Const, Expr, Symbol, SymbolArray, as_expr, normalize_shape
from .gates import ControlledGate, Gate, UnitaryGate, controlled, get_gate


@dataclass(frozen=True)
class Operation:
    """A gate applied to wires with parameter expressions."""

    gate: Gate
    wires: tuple[int, ...]
    params: tuple[Expr, ...] = ()

    def __repr__(self) -> str:
        args = ", ".join(repr(p) for p in self.params)
        return (
            f"{self.gate.name}({args}) {list(self.wires)}"
            if args
            else (f"{self.gate.name} {list(self.wires)}")
        )

    @property
    def name(self) -> str:
        """The gate's name (dynamic operations have ``"measure"``, ``"reset"``, ``"if"``)."""
        return self.gate.name

    def symbols(self) -> set[Symbol]:
        out: set[Symbol] = set()
        for p in self.params:
            out |= p.symbols()
        return out


class _OpList(list):
    """The circuit's operations; any change clears the circuit's compiled caches."""

    def __init__(self, owner: Circuit, items: Iterable[Operation] = ()):
        super().__init__(items)
        self._owner = owner

    def __reduce__(self) -> tuple:
        return (list, (list(self),))


def _mutator(name: str):
    base = getattr(list, name)

    def method(self: _OpList, *args: Any, **kwargs: Any) -> Any:
        self._owner._touch()
        return base(self, *args, **kwargs)

    method.__name__ = name
    return method


for _name in (
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "clear",
    "reverse",
    "sort",
    "__setitem__",
    "__delitem__",
    "__iadd__",
    "__imul__",
):
    setattr(_OpList, _name, _mutator(_name))


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


class Circuit(DynamicMixin):
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
        self._cache: dict[
            Any, Any
        ] = {}  # compiled forms (parameter layout, plans); cleared on change
        self._ops = _OpList(self)
        self.inputs: dict[str, SymbolArray] = {}
        self.weights: dict[str, SymbolArray] = {}
        self.cregs: dict[str, int] = {}  # classical registers: name -> bits (dynamic circuits)

    @property
    def ops(self) -> list[Operation]:
        """The operations in order (a list; changing it invalidates compiled caches)."""
        return self._ops

    @ops.setter
    def ops(self, value: Iterable[Operation]) -> None:
        self._ops = _OpList(self, value)
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
        self.n_qubits, self._cache = state["n_qubits"], {}
        self._ops = _OpList(self, state["ops"])
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
        self._cache.clear()

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
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = build()
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

    def count_ops(self) -> dict[str, int]:
        """Gate counts per kind, in order of first appearance."""
        return dict(Counter(op_name(op) for op in self.ops))

    @property
    def num_gates(self) -> int:
        return len(self.ops)

    @property
    def num_two_qubit_gates(self) -> int:
        return sum(1 for op in self.ops if not is_dynamic_op(op) and len(op.wires) == 2)

    @property
    def num_multi_qubit_gates(self) -> int:
        return sum(1 for op in self.ops if not is_dynamic_op(op) and len(op.wires) >= 2)

    def layers(self) -> list[list[Operation]]:
        """Greedy ASAP layering: each operation in the first layer after its wires are free."""
        front = [0] * self.n_qubits
        bits: dict[Any, int] = {}  # classical bits: a condition waits for the measurement
        layers: list[list[Operation]] = []
        for op in self.ops:
            read = op.condition.bits if isinstance(op, Conditional) else ()
            written = (op.bit,) if isinstance(op, Measure) else ()
            level = max([front[w] for w in op.wires] + [bits.get(b, 0) for b in read + written])
            if level == len(layers):
                layers.append([])
            layers[level].append(op)
            for w in op.wires:
                front[w] = level + 1
            for b in read + written:
                bits[b] = level + 1
        return layers

    def depth(self) -> int:
        """Circuit depth (longest path in layers of gates)."""
        return len(self.layers())

    def resources(self) -> dict[str, Any]:
        """A summary: qubits, gates (total, per kind, two-qubit), depth, parameters, inputs;
        for a dynamic circuit also classical bits, measurements, resets and conditionals."""
        out = {
            "n_qubits": self.n_qubits,
            "gates": self.num_gates,
            "gate_counts": self.count_ops(),
            "two_qubit_gates": self.num_two_qubit_gates,
            "multi_qubit_gates": self.num_multi_qubit_gates,
            "depth": self.depth(),
            "parameters": self.num_parameters,
            "inputs": self.num_inputs,
            "parametrized_gates": sum(1 for op in self.ops if op.params),
        }
        if self.cregs or self.is_dynamic:
            out.update(self._dynamic_resources())
        return out

    def draw(self, max_width: int = 120) -> str:
        """A text drawing, one line per wire."""
        from .drawing import draw_text

        return draw_text(self, max_width=max_width)

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
        from .serialize import circuit_to_json

        return circuit_to_json(self, indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes | Mapping[str, Any]) -> Circuit:
        from .serialize import circuit_from_json

        return circuit_from_json(text)

    # --- numbers ----------------------------------------------------------------------------
    def parameter_exprs(self) -> list[Expr]:
        """All gate parameters in order (the flat vector simulators receive)."""
        return [p for op in self.ops for p in op.params]


__all__ = ["Circuit", "Operation", "Const", "ControlledGate"]
