"""Expanding OpenQASM gate calls into steps (a mixin of the builder): definitions inlined,
modifiers applied, the gates produced counted against the program's budget as they are built
(and priced before, from the definitions, without expanding them)."""

from __future__ import annotations

import time
from typing import Any

from ..expr import Const, Expr
from .errors import QasmError
from .expressions import evaluate
from .library import STANDARD, Step
from .modifiers import as_int, control, invert, power
from .statements import GateCall, GateDef

MAX_MATRIX_WIRES = 10  # pow(k) of a non-integer k builds a 2^w x 2^w matrix of its steps


class GateExpansion:
    """Gate calls to steps, within the gate budget and the time limit."""

    version: int
    max_gates: int
    deadline: float | None
    time_limit_s: float | None
    expanded: int
    _sizes: dict[str, int]
    gates: dict[str, GateDef]
    native: set[str]
    library: dict[str, GateDef]
    consts: dict[str, Expr]
    lookup: Any

    # --- pricing ----------------------------------------------------------------------------
    def _call_size(self, call: GateCall) -> int:
        """Gates one call expands to, counted from the definitions without expanding them
        (memoised per definition, so nesting 40 levels deep costs 40 additions)."""
        size = self._name_size(call.name)
        for kind, arg in call.modifiers:
            if kind == "pow" and arg is not None:
                try:
                    value = evaluate(arg, self.lookup, call.line, self.version)
                except QasmError:
                    continue  # reported with its own message when expanded
                n = as_int(value.value) if isinstance(value, Const) else None
                size *= abs(n) if n is not None and abs(n) <= 64 else 1
            elif kind == "negctrl":
                size += 2  # the X flips around it (at least two)
        return size

    def _name_size(self, name: str) -> int:
        if name in self._sizes:
            return self._sizes[name]
        definition = None if name in self.native else self.gates.get(name)
        if definition is None and name not in STANDARD:
            definition = self.library.get(name)
        if definition is None:
            return 1  # a standard gate, or an unknown one (refused when expanded)
        self._sizes[name] = 0  # a cycle (refused when expanded) must not recurse here
        size = sum(self._call_size(sub) for sub in definition.body)
        self._sizes[name] = size
        return size

    def _count(self, n: int, line: int) -> None:
        self.expanded += n
        if self.expanded > self.max_gates:
            raise QasmError(
                f"the program expands to more than {self.max_gates:.3g} gates, the limit", line
            )
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise QasmError(
                f"reading the program took longer than {self.time_limit_s:g} s, the"
                " limit; send a smaller program",
                line,
            )

    # --- expansion --------------------------------------------------------------------------
    def expand(self, call: GateCall, wires: list[int], lookup: Any) -> list[Step]:
        if len(set(wires)) != len(wires):
            raise QasmError(f"gate '{call.name}' is applied to a repeated qubit", call.line)
        params = tuple(evaluate(p, lookup, call.line, self.version) for p in call.params)
        return self._modified(call, list(call.modifiers), params, wires)

    def _const_arg(self, call: GateCall, node: Any, default: float) -> float:
        if node is None:
            return default
        value = evaluate(node, self.lookup, call.line, self.version)
        if not isinstance(value, Const):
            raise QasmError("modifier arguments must be constants", call.line)
        return value.value

    def _modified(self, call: GateCall, mods: list, params: tuple, wires: list[int]) -> list[Step]:
        if not mods:
            return self._base(call, params, wires)
        kind, arg = mods[0]
        if kind in ("ctrl", "negctrl"):
            value = self._const_arg(call, arg, 1)
            k = as_int(value)
            if k is None or k < 1 or k >= len(wires) + (call.name == "gphase"):
                raise QasmError(
                    f"'{kind}({value:g})' needs a positive integer number of controls"
                    " and qubits left for the gate",
                    call.line,
                )
            inner = self._modified(call, mods[1:], params, wires[k:])
            try:
                return control(inner, tuple(wires[:k]), kind == "negctrl")
            except ValueError as e:  # e.g. a controlled gate too large for a dense matrix
                raise QasmError(str(e), call.line) from None
        inner = self._modified(call, mods[1:], params, wires)
        if kind == "inv":
            return invert(inner)
        exponent = self._const_arg(call, arg, 1)
        n = as_int(exponent)
        if n is not None and abs(n) <= 64:
            self._count((abs(n) - 1) * len(inner), call.line)
        elif len({w for _, ws, _ in inner for w in ws}) > MAX_MATRIX_WIRES:
            raise QasmError(
                f"pow({exponent:g}) of a gate on more than {MAX_MATRIX_WIRES} qubits"
                " would build a dense matrix of its steps; use an integer exponent"
                " up to 64",
                call.line,
            )
        return power(inner, exponent, call.line)

    def _base(self, call: GateCall, params: tuple, wires: list[int]) -> list[Step]:
        name = call.name
        if name == "gphase":
            if len(params) != 1 or wires:
                raise QasmError("gphase takes one parameter and no qubits", call.line)
            return [(None, (), params)]
        definition = None if name in self.native else self.gates.get(name)
        if definition is None and name not in STANDARD:
            definition = self.library.get(name)
        if definition is not None:
            self._check_arity(call, len(definition.params), len(definition.qubits), params, wires)
            env = dict(zip(definition.params, params, strict=True))
            qmap = dict(zip(definition.qubits, wires, strict=True))

            def local(nm: str, line: int) -> Expr:
                if nm in env:
                    return env[nm]
                if nm in self.consts:
                    return self.consts[nm]
                raise QasmError(f"unknown parameter '{nm}' in the body of gate '{name}'", line)

            out: list[Step] = []
            for sub in definition.body:
                out += self.expand(sub, [qmap[a.name] for a in sub.args], local)
            return out
        if name in STANDARD:
            n_params, n_wires, build = STANDARD[name]
            self._check_arity(call, n_params, n_wires, params, wires)
            steps = [(g, tuple(wires[i] for i in w), p) for g, w, p in build(params)]
            self._count(len(steps), call.line)
            return steps
        raise QasmError(
            f"unknown gate '{name}'; define it with a 'gate' statement before use", call.line
        )

    @staticmethod
    def _check_arity(
        call: GateCall, n_params: int, n_wires: int, params: tuple, wires: list[int]
    ) -> None:
        if len(params) != n_params or len(wires) != n_wires:
            raise QasmError(
                f"gate '{call.name}' takes {n_params} parameter(s) and {n_wires}"
                f" qubit(s), got {len(params)} and {len(wires)}",
                call.line,
            )
