"""Errors of the OpenQASM reader and writer."""

from __future__ import annotations


class QasmError(ValueError):
    """Bad OpenQASM text: the message names the line and the problem."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class QasmExportError(ValueError):
    """A circuit that cannot be written in the requested OpenQASM version."""
