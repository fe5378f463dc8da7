"""Interpret parsed OpenQASM statements into an hqml :class:`Circuit`.

Registers are concatenated into wires in declaration order; gate definitions are expanded
inline (modifiers ``ctrl``/``negctrl``/``inv``/``pow`` act on the expanded steps); QASM 3
``input`` declarations become symbols (hqml's ``// @hqml`` pragma restores named arrays).
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import numpy as np

from ..circuit import Circuit
from ..dynamic import Bit
from ..expr import Const, Expr, Symbol
from .conditions import ConditionBuilding
from .control import If, Reset
from .errors import QasmError
from .expansion import GateExpansion
from .expressions import evaluate
from .lexer import PRAGMA, tokenize
from .library import QELIB1_DEFINITIONS, STANDARD, Step
from .modifiers import as_int, steps_matrix
from .parser import Parser
from .statements import Declare, GateCall, GateDef, Measure, Other, QArg

_INCLUDES = ("qelib1.inc", "stdgates.inc")
MAX_GATES = 10_000_000  # default budget of gates after expansion (a gate holds ~1 KB of Python)


def scalar_name(name: str, index: tuple[int, ...]) -> str:
    """The QASM 3 input name of one element of a named array: ``w[1, 3]`` -> ``w_1_3``."""
    return name if not index else name + "_" + "_".join(str(i) for i in index)


@lru_cache(maxsize=1)
def _library_defs() -> dict[str, GateDef]:
    stmts = Parser(tokenize(QELIB1_DEFINITIONS)[0]).parse()
    return {s.name: s for s in stmts}


class Builder(ConditionBuilding, GateExpansion):
    """One program's state: registers, gate definitions, symbols, the collected steps."""

    def __init__(
        self,
        pragmas: list[tuple[int, str]],
        version: int,
        max_gates: int = MAX_GATES,
        time_limit_s: float | None = None,
        started: float | None = None,
    ):
        self.version = version
        self.max_gates = max_gates
        started = time.monotonic() if started is None else started
        self.deadline = None if time_limit_s is None else started + time_limit_s
        self.time_limit_s = time_limit_s
        self.expanded = 0  # gates produced so far (the budget counts them as they are built)
        self._sizes: dict[str, int] = {}  # gates one call of a definition expands to
        self.qregs: dict[str, tuple[int, int | None]] = {}  # name -> (offset, size or None)
        self.cregs: dict[str, tuple[int, int | None]] = {}
        self.n_qubits = self.n_clbits = 0
        self.physical = False
        self.gates: dict[str, GateDef] = {}
        self.native: set[str] = set()
        self.library = _library_defs()
        self.consts: dict[str, Expr] = {}
        self.symbols: dict[str, Symbol] = {}
        self.arrays: dict[str, tuple[str, tuple[int, ...]]] = {}  # name -> (kind, shape)
        # gate steps, and ("measure", wire, clbit | None), ("reset", wire),
        # ("if", Condition, [steps]) of a dynamic program
        self.steps: list[Any] = []
        self.measurements: dict[int, int] = {}
        self.measured: set[int] = set()  # qubits measured so far
        self.clbit_names: list[Bit] = []  # global clbit index -> (register, index)
        # a reset, an 'if' or a gate after a measurement makes the program dynamic; otherwise
        # its measurements are terminal and dropped (the circuit ends in one measurement)
        self.dynamic = False
        self.declared_inputs: set[str] = set()
        for line, text in pragmas:
            self._pragma(line, text)

    # --- symbols ----------------------------------------------------------------------------
    def _pragma(self, line: int, text: str) -> None:
        """``KIND NAME SHAPE [PREFIX]``: scalars are written ``PREFIX_i_j`` (PREFIX = NAME)."""
        parts = text.split()
        if len(parts) < 3 or parts[0] not in ("input", "weight") or not parts[1].isidentifier():
            raise QasmError(
                f"bad hqml pragma '{text}' (expected '// {PRAGMA} input|weight NAME"
                " SHAPE [PREFIX]')",
                line,
            )
        kind, name = parts[0], parts[1]
        prefix = parts[-1] if len(parts) > 3 and parts[-1].isidentifier() else name
        shape_text = " ".join(parts[2:-1] if prefix != name else parts[2:])
        try:
            shape = tuple(int(s) for s in shape_text.strip("() ").split(",") if s.strip())
        except ValueError:
            raise QasmError(f"bad shape '{shape_text}' in hqml pragma", line) from None
        if name in self.arrays:
            raise QasmError(f"symbol array '{name}' declared twice", line)
        self.arrays[name] = (kind, shape)
        for idx in np.ndindex(*shape):
            self.symbols[scalar_name(prefix, idx)] = Symbol(name, kind, idx)

    def lookup(self, name: str, line: int) -> Expr:
        if name in self.consts:
            return self.consts[name]
        sym = self.symbols.get(name)
        if sym is None or name not in self.declared_inputs:
            raise QasmError(f"undeclared identifier '{name}'", line)
        return sym

    # --- statements -------------------------------------------------------------------------
    def run(self, statements: list[Any]) -> None:
        for stmt in statements:
            if isinstance(stmt, GateCall):
                self._top_call(stmt)
            elif isinstance(stmt, Declare):
                self._declare(stmt)
            elif isinstance(stmt, GateDef):
                self._define(stmt)
            elif isinstance(stmt, Measure):
                self._measure(stmt)
            elif isinstance(stmt, Reset):
                self.dynamic = True
                q = self._wires(stmt.qarg)
                self.steps += [("reset", w) for w in (q if isinstance(q, list) else [q])]
            elif isinstance(stmt, If):
                self._if(stmt)
            elif isinstance(stmt, Other):
                if stmt.kind == "include" and stmt.value not in _INCLUDES:
                    raise QasmError(
                        f"cannot include '{stmt.value}': only qelib1.inc and"
                        " stdgates.inc are built in; paste its definitions instead",
                        stmt.line,
                    )
                if stmt.kind == "barrier":
                    for arg in stmt.value:
                        self._wires(arg)

    def _declare(self, d: Declare) -> None:
        if d.kind in ("qreg", "creg"):
            if d.name in self.qregs or d.name in self.cregs:
                raise QasmError(f"register '{d.name}' is already declared", d.line)
            if d.size is not None and d.size < 1:
                raise QasmError(f"register '{d.name}' must have a positive size", d.line)
            size = 1 if d.size is None else d.size
            if d.kind == "qreg":
                if self.physical:
                    raise QasmError("do not mix physical qubits ($0) with qubit registers", d.line)
                self.qregs[d.name] = (self.n_qubits, d.size)
                self.n_qubits += size
            else:
                self.cregs[d.name] = (self.n_clbits, d.size)
                self.n_clbits += size
                self.clbit_names += [Bit(d.name, i) for i in range(size)]
        elif d.kind == "input":
            if d.name in self.declared_inputs or d.name in self.consts:
                raise QasmError(f"'{d.name}' is already declared", d.line)
            if d.name not in self.symbols:
                if d.name in self.arrays:
                    raise QasmError(f"input '{d.name}' clashes with the array of that name", d.line)
                self.symbols[d.name] = Symbol(d.name, "input", ())
                self.arrays[d.name] = ("input", ())
            self.declared_inputs.add(d.name)
        else:  # const
            value = evaluate(d.value, self.lookup, d.line, self.version)
            if not isinstance(value, Const):
                raise QasmError(f"constant '{d.name}' must not depend on inputs", d.line)
            self.consts[d.name] = value

    def _define(self, g: GateDef) -> None:
        if g.name in self.gates:
            raise QasmError(f"gate '{g.name}' is already defined", g.line)
        if len(set(g.qubits)) != len(g.qubits) or len(set(g.params)) != len(g.params):
            raise QasmError(f"gate '{g.name}': argument names must be distinct", g.line)
        for call in g.body:
            if call.name == g.name:
                raise QasmError(f"gate '{g.name}' calls itself in its own body", call.line)
            if not self._known(call.name):
                raise QasmError(
                    f"unknown gate '{call.name}' in the body of gate '{g.name}'", call.line
                )
            for a in call.args:
                if a.index is not None or a.name not in g.qubits:
                    raise QasmError(
                        f"gate '{g.name}': '{a.name}' is not one of its qubit"
                        f" arguments ({', '.join(g.qubits)})",
                        a.line,
                    )
        self.gates[g.name] = g
        if g.name in STANDARD and self._is_standard(g):
            self.native.add(g.name)  # e.g. our own 'gate rxx(theta) ...': keep the native gate

    def _is_standard(self, g: GateDef) -> bool:
        """Does the definition give the standard gate of that name (up to global phase in
        OpenQASM 2, exactly in 3)? Checked numerically at two parameter points."""
        n_params, n_wires, build = STANDARD[g.name]
        if (len(g.params), len(g.qubits)) != (n_params, n_wires):
            return False
        wires = list(range(n_wires))
        for values in ([0.37, -1.21, 2.03, 0.58], [-2.9, 0.41, -0.77, 1.6]):
            call = GateCall(g.line, g.name, params=[("num", v) for v in values[:n_params]])
            mine = steps_matrix(self.expand(call, wires, self.lookup), wires)
            std = steps_matrix(list(build(tuple(Const(v) for v in values[:n_params]))), wires)
            k = int(np.argmax(np.abs(std[:, 0])))
            phase = mine[k, 0] / std[k, 0] if self.version == 2 else 1.0
            if not np.allclose(mine, phase * std, atol=1e-9):
                return False
        return True

    def _known(self, name: str) -> bool:
        return name in self.gates or name in STANDARD or name in self.library or name == "gphase"

    def _index(self, arg: QArg) -> int:
        value = evaluate(arg.index, self.lookup, arg.line, self.version)
        index = as_int(value.value) if isinstance(value, Const) else None
        if index is None:
            raise QasmError(f"the index of '{arg.name}' must be an integer constant", arg.line)
        return index

    def _wires(self, arg: QArg, table: str = "qubit") -> list[int] | int:
        """A register (list of indices) or one index."""
        regs = self.qregs if table == "qubit" else self.cregs
        if table == "qubit" and arg.name.startswith("$"):
            if self.qregs:
                raise QasmError("do not mix physical qubits ($0) with qubit registers", arg.line)
            self.physical = True
            k = int(arg.name[1:])
            self.n_qubits = max(self.n_qubits, k + 1)
            return k
        if arg.name not in regs:
            other = "classical" if arg.name in self.cregs and table == "qubit" else table
            hint = f" ('{arg.name}' is a {other} register)" if other != table else ""
            raise QasmError(f"undeclared {table} register '{arg.name}'{hint}", arg.line)
        offset, size = regs[arg.name]
        if arg.index is None:
            return offset if size is None else list(range(offset, offset + size))
        i = self._index(arg)
        n = 1 if size is None else size
        if not 0 <= i < n:
            raise QasmError(
                f"index {i} out of range for register '{arg.name}' of size {n}", arg.line
            )
        return offset + i

    def _broadcast(self, groups: list[list[int] | int], line: int, what: str) -> list[list[int]]:
        sizes = {len(g) for g in groups if isinstance(g, list)}
        if len(sizes) > 1:
            raise QasmError(
                f"{what}: registers of different sizes {sorted(sizes)} cannot be"
                " broadcast together",
                line,
            )
        if not sizes:
            return [list(groups)]  # type: ignore[arg-type]
        n = sizes.pop()
        return [[g[i] if isinstance(g, list) else g for g in groups] for i in range(n)]

    def _top_call(self, call: GateCall) -> None:
        self.steps.extend(self._call_steps(call))

    def _call_steps(self, call: GateCall, check: bool = True) -> list[Step]:
        groups = [self._wires(a) for a in call.args]
        broadcast = self._broadcast(groups, call.line, f"gate '{call.name}'")
        size = self.expanded + len(broadcast) * self._call_size(call)
        if size > self.max_gates:
            approx = f"{size:.3g}" if size < 1e300 else f"2^{size.bit_length() - 1}"
            raise QasmError(
                f"the program expands to at least {approx} gates; the limit is"
                f" {self.max_gates:.3g} (nested gate definitions multiply)",
                call.line,
            )
        out: list[Step] = []
        for wires in broadcast:
            if check and any(w in self.measured for w in wires):
                self.dynamic = True  # a gate after a measurement: the measurement is mid-circuit
            steps = self.expand(call, wires, self.lookup)
            out.extend(s for s in steps if s[0] is not None)  # global phase dropped
        return out

    def _measure(self, m: Measure) -> None:
        q = self._wires(m.qarg)
        if m.carg is None:
            qs = q if isinstance(q, list) else [q]
            self.measured.update(qs)
            self.steps += [("measure", w, None) for w in qs]
            return
        c = self._wires(m.carg, "bit")
        if isinstance(q, list) != isinstance(c, list) or (isinstance(q, list) and len(q) != len(c)):
            raise QasmError(
                "measure: the qubit and bit operands must be both single or registers"
                " of the same size",
                m.line,
            )
        qs, cs = (q, c) if isinstance(q, list) else ([q], [c])
        for qi, ci in zip(qs, cs, strict=True):
            self.measurements[ci] = qi
            self.steps.append(("measure", qi, ci))
        self.measured.update(qs)

    def circuit(self) -> Circuit:
        if self.n_qubits == 0:
            raise QasmError("the program declares no qubits (add 'qreg q[n];' or 'qubit[n] q;')")
        c = Circuit(self.n_qubits)
        for name, (kind, shape) in self.arrays.items():
            (c.input if kind == "input" else c.weight)(name, shape)
        self._append_steps(c)
        return c


def build(
    text: str, max_gates: int = MAX_GATES, time_limit_s: float | None = None
) -> tuple[Circuit, dict[int, int]]:
    """Parse and interpret ``text``: ``(circuit, {clbit: wire})``, within a budget of
    ``max_gates`` gates after expansion and ``time_limit_s`` seconds."""
    start = time.monotonic()
    tokens, pragmas = tokenize(text)
    statements = Parser(tokens).parse()
    if time_limit_s is not None and time.monotonic() - start > time_limit_s:
        raise QasmError(
            f"reading the program took longer than {time_limit_s:g} s, the limit;"
            " send a smaller program"
        )
    version = 3
    for s in statements:
        if isinstance(s, Other) and s.kind == "version":
            major = s.value.split(".")[0]
            if major not in ("2", "3"):
                raise QasmError(
                    f"unsupported OpenQASM version {s.value} (2 and 3 are read)", s.line
                )
            version = int(major)
            break
        if isinstance(s, Other) and s.kind == "include" and s.value == "qelib1.inc":
            version = 2
    builder = Builder(pragmas, version, max_gates, time_limit_s, start)  # parsing counts too
    builder.run(statements)
    return builder.circuit(), dict(sorted(builder.measurements.items()))
