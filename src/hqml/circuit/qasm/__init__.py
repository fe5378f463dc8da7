"""OpenQASM 2 and 3 import and export.

``q[i]`` is wire ``i``; several registers are concatenated in declaration order.

>>> from hqml.circuit import Circuit
>>> from hqml.circuit import qasm
>>> c = Circuit(2)
>>> _ = c.h(0).cx(0, 1).ry(0.25, 1)
>>> text = qasm.dumps(c)
>>> print(text.splitlines()[-1])
ry(0.25) q[1];
>>> qasm.loads(text) == c
True
"""

from __future__ import annotations

import os
from typing import Any

from ..circuit import Circuit
from .builder import MAX_GATES, build
from .errors import QasmError, QasmExportError
from .exporter import dumps as _dumps

__all__ = ["dumps", "loads", "dump", "load", "QasmError", "QasmExportError"]


def dumps(circuit: Circuit, version: int = 2) -> str:
    """Write ``circuit`` as OpenQASM text.

    Args:
        circuit: the circuit. Version 2 needs every parameter bound to a number; version 3 keeps
            inputs and weights symbolic as ``input float[64]`` declarations.
        version: 2 (``qelib1.inc``) or 3 (``stdgates.inc``).

    Returns:
        The program text. Gates without a standard name are written as ``gate`` definitions
        (exact decompositions); OpenQASM 2 drops the global phase.

    Raises:
        QasmExportError: unbound symbols in version 2, or a gate with no exact spelling.
        ValueError: a version other than 2 or 3.
    """
    return _dumps(circuit, version)


def loads(
    text: str,
    return_measurements: bool = False,
    *,
    max_gates: int = MAX_GATES,
    time_limit_s: float | None = None,
) -> Any:
    """Read OpenQASM 2 or 3 text into a :class:`Circuit`.

    Args:
        text: the program. Supported: qelib1/stdgates gates, registers (broadcast over whole
            registers), ``gate`` definitions (expanded inline), ``ctrl``/``negctrl``/``inv``/
            ``pow`` modifiers, ``input``/``const`` declarations, barriers (ignored),
            measurements, ``reset`` and ``if``/``else`` on bits and registers. A program with a
            reset, an ``if`` or a gate on a measured qubit is a dynamic circuit (its classical
            registers and every measurement kept, see docs/dynamic.md); otherwise its
            measurements are terminal (validated, then dropped from the circuit).
        return_measurements: also return ``{clbit index: wire}`` of the measurements.
        max_gates: most gates the program may expand to. Nested ``gate`` definitions multiply
            (40 levels of two calls each are 2^40 gates in a kilobyte): the size is counted
            from the definitions before anything is expanded, and refused over this budget.
        time_limit_s: most seconds reading and expanding may take (None: no limit).

    Returns:
        The circuit, or ``(circuit, measurements)``.

    Raises:
        QasmError: a syntax error, an unknown gate, a wrong arity, an undeclared register, an
            index out of range, an unsupported statement (``opaque``, loops, a measurement
            or reset inside ``if``...), or a program over ``max_gates`` or
            ``time_limit_s``; the message starts with the line number.
    """
    if not isinstance(text, str):
        raise TypeError(f"loads needs the QASM text as a str, got {type(text).__name__}")
    circuit, measurements = build(text, max_gates, time_limit_s)
    return (circuit, measurements) if return_measurements else circuit


def dump(circuit: Circuit, path: str | os.PathLike, version: int = 2) -> None:
    """Write ``circuit`` to the file ``path`` (see :func:`dumps`)."""
    text = dumps(circuit, version)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def load(path: str | os.PathLike, return_measurements: bool = False) -> Any:
    """Read an OpenQASM file (see :func:`loads`)."""
    with open(path, encoding="utf-8") as f:
        return loads(f.read(), return_measurements=return_measurements)
