"""Tokens of OpenQASM 2 and 3 text, each with its line number."""

from __future__ import annotations

import re
from typing import NamedTuple

from .errors import QasmError

PRAGMA = "@hqml"  # comment lines "// @hqml ..." carry hqml's symbol declarations


class Token(NamedTuple):
    kind: str  # "id", "num", "str", "op", "eof"
    value: str
    line: int

    def __repr__(self) -> str:
        return "end of input" if self.kind == "eof" else repr(self.value)


_OPS = [
    "->",
    "**",
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "<<",
    ">>",
    "++",
    "+=",
    "-=",
    "*=",
    "/=",
    "+",
    "-",
    "*",
    "/",
    "^",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    "@",
    "=",
    "<",
    ">",
    "!",
    "%",
    "~",
    "&",
    "|",
]
_TOKEN = re.compile(
    r"(?P<ws>[ \t\r\f\v]+)"
    r"|(?P<nl>\n)"
    r"|(?P<lc>//[^\n]*)"
    r"|(?P<bc>/\*.*?\*/)"
    r"|(?P<ubc>/\*)"
    r"|(?P<num>(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)"
    r"|(?P<id>[^\W\d]\w*|\$\d+)"
    r"|(?P<str>\"[^\"\n]*\"|'[^'\n]*')"
    r"|(?P<op>" + "|".join(re.escape(o) for o in _OPS) + ")"
    r"|(?P<bad>.)",
    re.DOTALL,
)


def tokenize(text: str) -> tuple[list[Token], list[tuple[int, str]]]:
    """Split ``text`` into tokens; also return the ``// @hqml`` pragma comments.

    Raises:
        QasmError: for a character that starts no token, or an unterminated comment.
    """
    tokens: list[Token] = []
    pragmas: list[tuple[int, str]] = []
    line = 1
    for m in _TOKEN.finditer(text):
        kind, value = m.lastgroup, m.group()
        if kind == "ws":
            continue
        if kind == "nl":
            line += 1
        elif kind in ("id", "op"):
            tokens.append(Token(kind, value, line))
        elif kind == "num":
            tokens.append(Token("num", value.replace("_", ""), line))
        elif kind == "lc":
            body = value[2:].strip()
            if body.startswith(PRAGMA):
                pragmas.append((line, body[len(PRAGMA) :].strip()))
        elif kind == "bc":
            line += value.count("\n")
        elif kind == "str":
            tokens.append(Token("str", value[1:-1], line))
        elif kind == "ubc":
            raise QasmError("unterminated /* comment", line)
        else:
            raise QasmError(f"unexpected character {value!r}", line)
    tokens.append(Token("eof", "", line))
    return tokens, pragmas
