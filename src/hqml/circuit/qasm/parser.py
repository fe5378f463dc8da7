"""Recursive-descent parser: OpenQASM 2 / 3 tokens -> a list of statements.

Only the circuit-level language is accepted (declarations, gate definitions and calls with
modifiers, measurement, reset, ``if``/``else`` on bits and registers, barriers); loops,
subroutines and pulse-level code are rejected with a :class:`QasmError` naming the line.
"""

from __future__ import annotations

from typing import Any

from .control import ControlParsing
from .errors import QasmError
from .lexer import Token
from .statements import Declare, GateCall, GateDef, Measure, Node, Other, QArg

_UNSUPPORTED = {
    "opaque": "opaque gates have no definition to simulate; define the gate with 'gate'",
    "for": "loops are not supported; unroll the loop",
    "while": "loops are not supported; unroll the loop",
    "def": "subroutines ('def') are not supported; use 'gate' definitions",
    "defcal": "calibrations ('defcal') are not supported",
    "cal": "calibration blocks ('cal') are not supported",
    "defcalgrammar": "calibration grammars are not supported",
    "delay": "'delay' is not supported",
    "box": "'box' is not supported",
    "extern": "'extern' is not supported",
    "switch": "'switch' is not supported",
    "output": "'output' declarations are not supported",
    "let": "aliases ('let') are not supported",
}
_CLASSICAL_TYPES = {
    "float",
    "int",
    "uint",
    "angle",
    "bool",
    "complex",
    "duration",
    "stretch",
    "array",
}
_MODIFIERS = ("ctrl", "negctrl", "inv", "pow")
_BINARY = {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2, "**": 4, "^": 4}


class Parser(ControlParsing):
    def __init__(self, tokens: list[Token]):
        self.toks, self.i, self.last = tokens, 0, len(tokens) - 1

    # --- token helpers ----------------------------------------------------------------------
    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.i + k, self.last)]

    def next(self) -> Token:
        tok = self.toks[self.i]
        if self.i < self.last:  # stay on the end-of-input token
            self.i += 1
        return tok

    def at(self, value: str, k: int = 0) -> bool:
        tok = self.toks[min(self.i + k, self.last)]
        return tok.value == value and tok.kind in ("op", "id")

    def expect(self, value: str, what: str = "") -> Token:
        before = self.toks[self.i - 1] if self.i else None
        tok = self.next()
        if tok.kind not in ("op", "id") or tok.value != value:
            line = tok.line
            if value == ";" and before is not None:  # a missing ';' belongs to the line before
                line = min(line, before.line)
            raise QasmError(f"expected '{value}'{what} but found {tok!r}", line)
        return tok

    def ident(self, what: str) -> Token:
        tok = self.next()
        if tok.kind != "id":
            raise QasmError(f"expected {what} but found {tok!r}", tok.line)
        return tok

    def integer(self, what: str) -> int:
        tok = self.next()
        if tok.kind != "num" or not tok.value.isdigit():
            raise QasmError(f"expected {what} (an integer) but found {tok!r}", tok.line)
        return int(tok.value)

    # --- statements -------------------------------------------------------------------------
    def parse(self) -> list[Any]:
        out: list[Any] = []
        while self.peek().kind != "eof":
            stmt = self.statement()
            if stmt is not None:
                out.append(stmt)
        return out

    def statement(self) -> Any:
        tok = self.peek()
        line, word = tok.line, tok.value
        if tok.kind == "op" and word == "@":  # QASM 3 annotation: skip the line
            return self._skip_line(line)
        if tok.kind != "id":
            raise QasmError(f"expected a statement but found {tok!r}", line)
        if word in ("OPENQASM", "include", "pragma"):
            return self._directive(word, line)
        if word in ("qreg", "creg", "qubit", "bit", "input", "const"):
            return self._declaration(word, line)
        if word == "gate":
            return self.gate_def()
        if word == "measure":
            return self._measure(line)
        if word == "barrier":
            self.next()
            args = [] if self.at(";") else self.qargs()
            self.expect(";")
            return Other(line, "barrier", args)
        if word in ("reset", "if", "else"):
            return self.control_statement(word, line)
        if word in _UNSUPPORTED:
            raise QasmError(_UNSUPPORTED[word], line)
        if word in _CLASSICAL_TYPES:
            raise QasmError(
                f"classical variables ('{word}') are not supported; use 'input' or"
                " 'const' declarations",
                line,
            )
        if self.peek(1).kind == "op" and self.peek(1).value in ("=", "["):
            return self.assignment()
        return self.gate_call()

    def _directive(self, word: str, line: int) -> Other | None:
        """``OPENQASM 3.0;``, ``include "file";`` or a ``pragma`` line (skipped)."""
        if word == "pragma":
            return self._skip_line(line)
        if word == "OPENQASM":
            self.next()
            v = self.next()
            if v.kind != "num":
                raise QasmError(f"expected a version number after OPENQASM, found {v!r}", line)
            self.expect(";")
            return Other(line, "version", v.value)
        self.next()  # include
        name = self.next()
        if name.kind != "str":
            raise QasmError(f"expected a file name in quotes after include, found {name!r}", line)
        self.expect(";")
        return Other(line, "include", name.value)

    def _declaration(self, word: str, line: int) -> Declare:
        """A register (``qreg``/``creg``, ``qubit``/``bit``), an ``input`` or a ``const``."""
        if word in ("qreg", "creg"):
            self.next()
            name = self.ident("a register name").value
            self.expect("[")
            size = self.integer("a register size")
            self.expect("]")
            self.expect(";")
            return Declare(line, word, name, size)
        if word in ("qubit", "bit"):
            self.next()
            size = None
            if self.at("["):
                self.next()
                size = self.integer("a register size")
                self.expect("]")
            name = self.ident("a register name").value
            if self.at("="):
                raise QasmError(
                    f"initialised bit declarations are not supported; declare '{name}'"
                    " and measure into it in a separate statement",
                    line,
                )
            self.expect(";")
            return Declare(line, "qreg" if word == "qubit" else "creg", name, size)
        if word == "input":
            self.next()
            self._classical_type(line)
            name = self.ident("an input name").value
            self.expect(";")
            return Declare(line, "input", name)
        self.next()  # const
        self._classical_type(line)
        name = self.ident("a constant name").value
        self.expect("=")
        value = self.expr()
        self.expect(";")
        return Declare(line, "const", name, value=value)

    def _measure(self, line: int) -> Measure:
        self.next()
        q = self.qarg()
        c = None
        if self.at("->"):
            self.next()
            c = self.qarg()
        self.expect(";")
        return Measure(line, q, c)

    def _skip_line(self, line: int) -> None:
        while self.peek().kind != "eof" and self.peek().line == line:
            self.next()

    def _classical_type(self, line: int) -> None:
        tok = self.ident("a type")
        if tok.value not in ("float", "angle", "int", "uint"):
            raise QasmError(f"unsupported type '{tok.value}' (use float, angle or int)", line)
        if self.at("["):
            self.next()
            self.integer("a type width")
            self.expect("]")

    def assignment(self) -> Measure:
        line = self.peek().line
        target = self.qarg()
        if not self.at("="):
            raise QasmError(f"expected '=' after '{target.name}' but found {self.peek()!r}", line)
        self.next()
        if not self.at("measure"):
            raise QasmError(
                "only measurement assignments ('c[0] = measure q[0];') are supported", line
            )
        self.next()
        q = self.qarg()
        self.expect(";")
        return Measure(line, q, target)

    def gate_def(self) -> GateDef:
        line = self.expect("gate").line
        name = self.ident("a gate name").value
        params: list[str] = []
        if self.at("("):
            self.next()
            while not self.at(")"):
                params.append(self.ident("a parameter name").value)
                if not self.at(")"):
                    self.expect(",", " between parameters")
            self.next()
        qubits = [self.ident("a qubit argument name").value]
        while self.at(","):
            self.next()
            qubits.append(self.ident("a qubit argument name").value)
        self.expect("{", f" to open the body of gate '{name}'")
        body: list[GateCall] = []
        while not self.at("}"):
            tok = self.peek()
            if tok.kind == "eof":
                raise QasmError(f"gate '{name}' is not closed with '}}'", line)
            if tok.kind == "id" and tok.value == "barrier":
                self.next()
                self.qargs()
                self.expect(";")
                continue
            if tok.kind == "id" and tok.value in _UNSUPPORTED:
                raise QasmError(_UNSUPPORTED[tok.value], tok.line)
            if tok.kind == "id" and tok.value in ("measure", "reset", "if"):
                raise QasmError(
                    f"'{tok.value}' is not allowed in the body of gate '{name}'", tok.line
                )
            body.append(self.gate_call())
        self.next()
        return GateDef(line, name, params, qubits, body)

    def gate_call(self) -> GateCall:
        line = self.peek().line
        modifiers: list[tuple[str, Node | None]] = []
        while (
            self.peek().kind == "id"
            and self.peek().value in _MODIFIERS
            and (self.at("@", 1) or self.at("(", 1))
        ):
            kind = self.next().value
            arg = None
            if self.at("("):
                self.next()
                arg = self.expr()
                self.expect(")")
            if kind == "inv" and arg is not None:
                raise QasmError("'inv' takes no argument", line)
            if kind == "pow" and arg is None:
                raise QasmError("'pow' needs an exponent: pow(k) @ gate", line)
            self.expect("@", f" after the '{kind}' modifier")
            modifiers.append((kind, arg))
        name = self.ident("a gate name").value
        params: list[Node] = []
        if self.at("("):
            self.next()
            while not self.at(")"):
                params.append(self.expr())
                if not self.at(")"):
                    self.expect(",", " between gate parameters")
            self.next()
        args = [] if self.at(";") else self.qargs()
        self.expect(";", f" after the '{name}' statement")
        return GateCall(line, name, modifiers, params, args)

    def qargs(self) -> list[QArg]:
        out = [self.qarg()]
        while self.at(","):
            self.next()
            out.append(self.qarg())
        return out

    def qarg(self) -> QArg:
        tok = self.ident("a qubit or register")
        index = None
        if self.at("["):
            self.next()
            index = self.expr()
            if self.at(":") or self.at(","):
                raise QasmError("register slices are not supported; index single qubits", tok.line)
            self.expect("]")
        return QArg(tok.value, index, tok.line)

    # --- expressions ------------------------------------------------------------------------
    def expr(self, min_prec: int = 0) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            prec = _BINARY.get(tok.value) if tok.kind == "op" else None
            if prec is None or prec < min_prec:
                return left
            self.next()
            right = self.expr(prec if prec == 4 else prec + 1)  # powers are right-associative
            left = ("bin", tok.value, left, right, tok.line)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.value in ("-", "+"):
            self.next()
            arg = self.expr(3)
            return ("neg", arg) if tok.value == "-" else arg
        return self.primary()

    def primary(self) -> Node:
        tok = self.next()
        if tok.kind == "num":
            return ("num", float(tok.value))
        if tok.kind == "op" and tok.value == "(":
            inner = self.expr()
            self.expect(")", " to close the parenthesis")
            return inner
        if tok.kind == "id":
            if self.at("("):
                self.next()
                args = [self.expr()]
                while self.at(","):
                    self.next()
                    args.append(self.expr())
                self.expect(")", f" to close the call of '{tok.value}'")
                return ("call", tok.value, args, tok.line)
            return ("id", tok.value, tok.line)
        raise QasmError(f"expected an expression but found {tok!r}", tok.line)
