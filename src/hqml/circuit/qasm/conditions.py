"""Interpreting OpenQASM ``if``/``else`` into conditioned gates (a mixin of the builder)."""

from __future__ import annotations

from typing import Any

from ..dynamic import Condition
from .control import If, Reset
from .errors import QasmError
from .library import Step
from .statements import GateCall, Measure


class ConditionBuilding:
    """``if`` statements become :class:`~hqml.circuit.dynamic.Condition` s on named bits."""

    dynamic: bool
    steps: list[Any]
    clbit_names: list[Any]
    cregs: dict[str, tuple[int, int | None]]
    _wires: Any
    _call_steps: Any

    def _append_steps(self, c: Any) -> None:
        """The collected steps onto circuit ``c``: gates, and for a dynamic program its
        registers, measurements, resets and conditions (a static one drops its terminal
        measurements)."""
        if self.dynamic:
            for name, (_, size) in self.cregs.items():
                c.creg(name, 1 if size is None else size)
        for step in self.steps:
            kind = step[0]
            if kind == "measure":
                if self.dynamic:
                    c.measure(step[1], None if step[2] is None else self.clbit_names[step[2]])
            elif kind == "reset":
                c.reset(step[1])
            elif kind == "if":
                c.cond(step[1], lambda steps=step[2]: [c.append(*s) for s in steps])
            else:
                c.append(*step)

    def _if(self, stmt: If) -> None:
        self.dynamic = True
        bits = self._wires(stmt.target, "bit")
        register = stmt.target.name if isinstance(bits, list) else None
        bits = bits if isinstance(bits, list) else [bits]
        value, equal = stmt.value, stmt.op == "=="
        if value is None:  # if (c[0]) / if (!c[0]) / if (c): nonzero
            value, equal = (int(equal), True) if register is None else (0, not equal)
        if value >= 2 ** len(bits):
            raise QasmError(
                f"'{stmt.target.name}' of {len(bits)} bit(s) cannot equal {value}", stmt.line
            )
        cond = Condition(tuple(self.clbit_names[b] for b in bits), value, equal, register)
        for condition, body in ((cond, stmt.body), (~cond, stmt.orelse)):
            steps: list[Step] = []
            for s in body:
                if not isinstance(s, GateCall):
                    what = {Measure: "a measurement", Reset: "a reset", If: "a nested 'if'"}.get(
                        type(s), "this statement"
                    )
                    raise QasmError(
                        f"{what} inside 'if' is not supported (hqml conditions hold gates only)",
                        getattr(s, "line", stmt.line),
                    )
                steps += self._call_steps(s, check=False)
            if steps:
                self.steps.append(("if", condition, steps))
