"""Parsing OpenQASM's dynamic statements: ``reset`` and ``if``/``else`` (a parser mixin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import QasmError


@dataclass
class Reset:
    line: int
    qarg: Any


@dataclass
class If:
    line: int
    target: Any  # a bit (indexed) or a whole register
    op: str  # "==" or "!="
    value: int | None  # None: the bare target (``if (c[0])``, ``if (!c[0])``)
    body: list[Any]
    orelse: list[Any]


class ControlParsing:
    """``if (c == k) stmt``, ``if (c[0]) { ... } else { ... }``, ``if (!f) ...``."""

    at: Any
    next: Any
    expect: Any
    peek: Any
    qarg: Any
    statement: Any

    def control_statement(self, word: str, line: int) -> Reset | If:
        """``reset q;``, ``if (...) ...`` (an ``else`` here has no ``if`` before it)."""
        if word == "else":
            raise QasmError("'else' without an 'if' before it", line)
        if word == "if":
            return self.if_statement()
        self.next()
        q = self.qarg()
        self.expect(";")
        return Reset(line, q)

    def if_statement(self) -> If:
        line = self.expect("if").line
        self.expect("(", " after 'if'")
        negate = self.at("!")
        if negate:
            self.next()
        target = self.qarg()
        op, value = "==", None
        if not negate and (self.at("==") or self.at("!=")):
            op = self.next().value
            tok = self.next()
            if tok.kind == "num" and tok.value.isdigit():
                value = int(tok.value)
            elif tok.kind == "id" and tok.value in ("true", "false"):
                value = int(tok.value == "true")
            else:
                raise QasmError(
                    f"an 'if' compares a bit or register with an integer, found {tok!r}", line
                )
        elif negate:
            op = "!="
        self.expect(")", " to close the 'if' condition")
        body = self._block()
        orelse: list[Any] = []
        if self.at("else"):
            self.next()
            orelse = self._block()
        return If(line, target, op, value, body, orelse)

    def _block(self) -> list[Any]:
        if not self.at("{"):
            stmt = self.statement()
            return [] if stmt is None else [stmt]
        line = self.next().line
        out: list[Any] = []
        while not self.at("}"):
            if self.peek().kind == "eof":
                raise QasmError("a block is not closed with '}'", line)
            stmt = self.statement()
            if stmt is not None:
                out.append(stmt)
        self.next()
        return out
