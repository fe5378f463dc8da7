"""Write an hqml :class:`Circuit` as OpenQASM 2 or 3 text.

OpenQASM 2 uses the gates of the original ``qelib1.inc`` by name (what strict readers know) and
``gate`` definitions built from them for the rest. OpenQASM 3 uses ``stdgates.inc`` names,
``ctrl(k) @``/``inv @`` modifiers and exact definitions for ``rxx``/``ryy``/``rzz``/``iswap``;
it keeps inputs and weights symbolic as ``input float[64]`` scalars (``w[1, 3]`` -> ``w_1_3``),
with one ``// @hqml input|weight NAME SHAPE [PREFIX]`` comment per array so that reading
restores them. Fixed matrices without a name (``unitary``, unnamed controlled gates, user gates)
become definitions from exact decompositions (:mod:`.decompose`), with ``gphase`` in QASM 3.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..circuit import Circuit, Operation
from ..dynamic import Measure as DMeasure
from ..dynamic import Reset as DReset
from ..dynamic import is_dynamic_op
from ..expr import Expr, Symbol
from ..gates import ControlledGate, Gate, controlled
from .builder import scalar_name
from .decompose import decompose_unitary, sequence_matrix
from .errors import QasmExportError
from .expressions import format_number, to_qasm
from .lexer import PRAGMA
from .library import STANDARD

# The gates of the original qelib1.inc (what strict OpenQASM 2 readers such as
# ``qiskit.qasm2.loads`` know); other hqml gates are written through exact equivalents or
# ``gate`` definitions built from these.
_QELIB1 = {
    "u3",
    "u2",
    "u1",
    "cx",
    "id",
    "x",
    "y",
    "z",
    "h",
    "s",
    "sdg",
    "t",
    "tdg",
    "rx",
    "ry",
    "rz",
    "cz",
    "cy",
    "ch",
    "ccx",
    "crz",
    "cu1",
    "cu3",
}
_V2_RENAME = {"p": "u1", "cp": "cu1"}  # the same matrices under their qelib1 names
# definitions: name -> (gates they use, text); QASM 2 ones are exact up to global phase, QASM 3
# ones exactly (so that ``ctrl @`` of them is exact too)
_V2_DEFS: dict[str, tuple[tuple[str, ...], str]] = {
    "sx": ((), "gate sx a { sdg a; h a; sdg a; }"),
    "sxdg": ((), "gate sxdg a { s a; h a; s a; }"),
    "swap": ((), "gate swap a,b { cx a,b; cx b,a; cx a,b; }"),
    "cswap": ((), "gate cswap a,b,c { cx c,b; ccx a,b,c; cx c,b; }"),
    "csx": ((), "gate csx a,b { h b; cu1(pi/2) a,b; h b; }"),
    "crx": ((), "gate crx(theta) a,b { cu3(theta,-pi/2,pi/2) a,b; }"),
    "cry": ((), "gate cry(theta) a,b { cu3(theta,0,0) a,b; }"),
    "rxx": ((), "gate rxx(theta) a,b { h a; h b; cx a,b; rz(theta) b; cx a,b; h a; h b; }"),
    "ryy": (
        (),
        "gate ryy(theta) a,b { sdg a; h a; sdg b; h b; cx a,b; rz(theta) b; cx a,b;"
        " h a; s a; h b; s b; }",
    ),
    "rzz": ((), "gate rzz(theta) a,b { cx a,b; rz(theta) b; cx a,b; }"),
    "iswap": (("rxx", "ryy"), "gate iswap a,b { rxx(-pi/2) a,b; ryy(-pi/2) a,b; }"),
}
_V3_DEFS = {
    name: (deps, text.replace(",", ", ").replace(",  ", ", "))
    for name, (deps, text) in _V2_DEFS.items()
    if name in ("rxx", "ryy", "rzz", "iswap")
}
_KEYWORDS = {
    "OPENQASM",
    "include",
    "qreg",
    "creg",
    "qubit",
    "bit",
    "input",
    "output",
    "const",
    "gate",
    "opaque",
    "measure",
    "barrier",
    "reset",
    "if",
    "else",
    "for",
    "while",
    "def",
    "return",
    "ctrl",
    "negctrl",
    "inv",
    "pow",
    "gphase",
    "float",
    "int",
    "uint",
    "angle",
    "bool",
    "complex",
    "pi",
    "tau",
    "euler",
    "sin",
    "cos",
    "tan",
    "exp",
    "ln",
    "log",
    "sqrt",
    "arcsin",
    "arccos",
    "arctan",
    "q",
    "let",
    "pragma",
    "delay",
    "box",
    "in",
}


class _Writer:
    def __init__(self, circuit: Circuit, version: int):
        self.circuit, self.version = circuit, version
        self.defs: list[str] = []
        self.defined: set[str] = set()
        self.numeric: dict[bytes, str] = {}
        self.reserved = set(_KEYWORDS) | set(STANDARD) | set(_V2_DEFS) | {"rccx", "rc3x"}
        self.names: dict[Symbol, str] = {}
        self.lines: list[str] = []

    # --- text pieces ------------------------------------------------------------------------
    def _sep(self) -> str:
        return "," if self.version == 2 else ", "

    def _call(self, name: str, params: Sequence[Expr], wires: Sequence[int]) -> str:
        p = f"({self._sep().join(to_qasm(e, self._name) for e in params)})" if params else ""
        return f"{name}{p} {self._sep().join(f'q[{w}]' for w in wires)};"

    def _name(self, sym: Symbol) -> str:
        return self.names[sym]

    # --- symbols (QASM 3) -------------------------------------------------------------------
    def declare_symbols(self) -> list[str]:
        out: list[str] = []
        decls: list[str] = []
        arrays = list(self.circuit.inputs.values()) + list(self.circuit.weights.values())
        taken = set(self.reserved)
        for arr in arrays:
            taken |= {scalar_name(arr.name, idx) for idx in np.ndindex(*arr.shape)}
        for arr in arrays:
            shape = ",".join(str(s) for s in arr.shape) or "()"
            names = [scalar_name(arr.name, idx) for idx in np.ndindex(*arr.shape)]
            prefix, k = arr.name, 0
            # on a clash with a keyword, a gate or another symbol, write under another prefix
            while any(n in self.reserved or (prefix != arr.name and n in taken) for n in names):
                prefix = f"{arr.name}_{arr.kind}{k or ''}"
                names = [scalar_name(prefix, idx) for idx in np.ndindex(*arr.shape)]
                k += 1
            out.append(
                f"// {PRAGMA} {arr.kind} {arr.name} {shape}"
                + (f" {prefix}" if prefix != arr.name else "")
            )
            for idx, name in zip(np.ndindex(*arr.shape), names, strict=True):
                self.reserved.add(name)
                self.names[Symbol(arr.name, arr.kind, idx)] = name
                decls.append(f"input float[64] {name};")
        return out + decls

    # --- gate spellings ---------------------------------------------------------------------
    def _define(self, name: str) -> None:
        if name in self.defined:
            return
        needs, text = (_V2_DEFS if self.version == 2 else _V3_DEFS)[name]
        for dep in needs:
            self._define(dep)
        self.defined.add(name)
        self.defs.append(text)

    def _spell3(self, gate: Gate) -> str | None:
        """The QASM 3 name with modifiers, or None."""
        if gate.qasm3_name:
            return gate.qasm3_name
        if gate.name == "sxdg":
            return "inv @ sx"
        if gate.name in _V3_DEFS:
            self._define(gate.name)
            return gate.name
        if isinstance(gate, ControlledGate):
            inner = self._spell3(gate.base)
            if inner is not None:
                k = gate.num_controls
                return ("ctrl @ " if k == 1 else f"ctrl({k}) @ ") + inner
        return None

    def _spell2(self, gate: Gate, params: tuple) -> tuple[str, tuple] | None:
        if gate.qasm2_name in _QELIB1:
            return gate.qasm2_name, params
        if gate.name in _V2_RENAME:
            return _V2_RENAME[gate.name], params
        if gate.name in _V2_DEFS:
            self._define(gate.name)
            return gate.name, params
        return None

    def _numeric(self, gate: Gate, params: Sequence[Expr]) -> str:
        """A ``gate`` definition from the exact decomposition of the gate's matrix (in QASM 3
        with its global phase, so that ``ctrl @`` of it is exact)."""
        try:
            values = [float(p) for p in params]
        except TypeError:
            raise QasmExportError(
                f"gate '{gate.name}' with symbolic parameters has no OpenQASM {self.version}"
                " form; bind its parameters first (circuit.bind(...))"
            ) from None
        theta = torch.tensor(values, dtype=torch.float64) if gate.num_params else None
        m = gate.matrix(theta, dtype=torch.complex128).detach().cpu().numpy()
        key = m.tobytes()
        if key not in self.numeric:
            base = re.sub(r"[^a-z0-9_]", "_", gate.name.lower())
            base = base if base[:1].isalpha() else "g" + base
            k = len(self.numeric)
            while f"{base}_{k}" in self.reserved:
                k += 1
            name = f"{base}_{k}"
            self.reserved.add(name)
            self.numeric[key] = name
            n = gate.num_wires
            prims = decompose_unitary(m, range(n))
            body = []
            for prim, args, wires in prims:
                if prim == "u":
                    prim = "u3" if self.version == 2 else "U"
                qubits = self._sep().join(f"q{w}" for w in wires)
                p = f"({self._sep().join(format_number(_snap(v)) for v in args)})" if args else ""
                body.append(f"{prim}{p} {qubits};")
            if self.version == 3:
                phase = float(np.angle(np.vdot(sequence_matrix(prims, range(n)), m)))
                if abs(phase) > 1e-14:
                    body.append(f"gphase({format_number(phase)});")
            qubits = self._sep().join(f"q{i}" for i in range(n))
            self.defs.append(f"gate {name} {qubits} {{ {' '.join(body)} }}")
        return self.numeric[key]

    def write_op(self, op: Operation) -> None:
        gate = op.gate
        if isinstance(gate, ControlledGate):
            gate = controlled(gate.base, gate.num_controls)  # the registered form, with QASM names
        params = op.params
        if self.version == 2:
            spelled2 = self._spell2(gate, params)
            if spelled2 is None:
                spelled, params = self._numeric(gate, params), ()
            else:
                spelled, params = spelled2
        else:
            spelled = self._spell3(gate)
            if spelled is None and isinstance(gate, ControlledGate):  # base has no name
                k = gate.num_controls
                prefix = "ctrl @ " if k == 1 else f"ctrl({k}) @ "
                spelled, params = prefix + self._numeric(gate.base, params), ()
            elif spelled is None:
                spelled, params = self._numeric(gate, params), ()
        self.lines.append(self._call(spelled, params, op.wires))

    # --- dynamic circuits -------------------------------------------------------------------
    def declare_cregs(self) -> list[str]:
        out = []
        for name, size in self.circuit.cregs.items():
            if name in self.reserved or name == "q" or name in self.names.values():
                raise QasmExportError(
                    f"the classical register name '{name}' clashes with an"
                    " OpenQASM keyword, gate or symbol; rename the register"
                )
            out.append(f"creg {name}[{size}];" if self.version == 2 else f"bit[{size}] {name};")
        return out

    def write_dynamic(self, op: Any) -> None:
        if isinstance(op, DMeasure):
            bit = f"{op.bit.register}[{op.bit.index}]"
            self.lines.append(
                f"measure q[{op.wire}] -> {bit};"
                if self.version == 2
                else f"{bit} = measure q[{op.wire}];"
            )
            return
        if isinstance(op, DReset):
            self.lines.append(f"reset q[{op.wire}];")
            return
        start = len(self.lines)
        for gate_op in op.body:
            self.write_op(gate_op)
        body = self.lines[start:]
        del self.lines[start:]
        cond = self._condition(op.condition)
        if self.version == 2:
            self.lines += [f"if({cond}) {line}" for line in body]
        else:
            self.lines += [f"if ({cond}) {{"] + [f"  {line}" for line in body] + ["}"]

    def _condition(self, cond: Any) -> str:
        eq = "==" if cond.equal else "!="
        if cond.register is not None:
            target = cond.register
        elif self.circuit.cregs.get(cond.bits[0].register) == 1 and self.version == 2:
            target = cond.bits[0].register  # a one-bit register is its bit
        else:
            target = repr(cond.bits[0])
        if self.version == 2 and (not cond.equal or "[" in target):
            raise QasmExportError(
                f"OpenQASM 2 conditions compare a whole register with '==';"
                f" '{cond!r}' needs version=3"
            )
        if self.version == 2:
            return f"{target}{eq}{cond.value}"
        if cond.register is None:  # a bit compares with a bool (Qiskit's importer insists)
            return f"{target} == {'true' if (cond.value == 1) == cond.equal else 'false'}"
        return f"{target} {eq} {cond.value}"


def _snap(v: float) -> float:
    return 0.0 if abs(v) < 1e-14 else v


def dumps(circuit: Circuit, version: int = 2) -> str:
    """OpenQASM text of ``circuit``; see :func:`hqml.circuit.qasm.dumps`."""
    if version not in (2, 3):
        raise ValueError(f"OpenQASM version must be 2 or 3, got {version!r}")
    if not isinstance(circuit, Circuit):
        raise TypeError(f"dumps needs a Circuit, got {type(circuit).__name__}")
    w = _Writer(circuit, version)
    head: list[str]
    if version == 2:
        unbound = sorted({repr(s) for op in circuit.ops for s in op.symbols()})
        if unbound:
            more = ", ..." if len(unbound) > 8 else ""
            raise QasmExportError(
                "OpenQASM 2 cannot hold symbolic parameters; unbound:"
                f" {', '.join(unbound[:8])}{more}."
                " Bind them first (circuit.bind(inputs=..., weights=...)) or use version=3"
            )
        head = ["OPENQASM 2.0;", 'include "qelib1.inc";']
        reg = f"qreg q[{circuit.n_qubits}];"
    else:
        head = ["OPENQASM 3.0;", 'include "stdgates.inc";'] + w.declare_symbols()
        reg = f"qubit[{circuit.n_qubits}] q;"
    for op in circuit.ops:
        if is_dynamic_op(op):
            w.write_dynamic(op)
        else:
            w.write_op(op)
    return "\n".join(head + w.defs + [reg] + w.declare_cregs() + w.lines) + "\n"
