"""Text drawing of circuits."""

from __future__ import annotations

from typing import Any

from .dynamic import Conditional, Measure, Reset


def _label(op: Any) -> str:
    if isinstance(op, Measure):
        return f"M→{op.bit!r}"
    if isinstance(op, Reset):
        return "|0⟩"
    g = op.gate
    base = g.base if hasattr(g, "base") else g
    text = base.label
    if op.params:
        text += "(" + ", ".join(_short(p) for p in op.params) + ")"
    return text


def _short(p: Any) -> str:
    if p.is_constant:
        return f"{float(p):.3g}"
    return repr(p)


class _Item(tuple):
    """(operation, condition suffix) with the operation's wires, for the column layout."""

    @property
    def wires(self) -> tuple[int, ...]:
        return self[0].wires


def _expand(layer: list[Any]) -> list[_Item]:
    out: list[_Item] = []
    for op in layer:
        if isinstance(op, Conditional):
            out += [_Item((o, f"?{op.condition!r}".replace(" ", ""))) for o in op.body]
        else:
            out.append(_Item((op, "")))
    return out


def draw_text(circuit: Any, max_width: int = 120) -> str:
    """One text line per wire; gates in ASAP layers; wraps at ``max_width`` characters."""
    n = circuit.n_qubits
    names = [f"q{i}: " for i in range(n)]
    pad = max(len(s) for s in names)
    columns: list[list[str]] = []
    for layer in circuit.layers():
        # gates in one layer may overlap vertically when drawn; split them into sub-columns
        subcols: list[list[Any]] = []
        for op in _expand(layer):
            lo, hi = min(op.wires), max(op.wires)
            for col in subcols:
                if all(hi < min(o.wires) or lo > max(o.wires) for o in col):
                    col.append(op)
                    break
            else:
                subcols.append([op])
        for col in subcols:
            cells = ["─"] * n
            for op in col:
                op, cond = op
                g = getattr(op, "gate", None)
                n_ctrl = getattr(g, "num_controls", 0)
                label = _label(op) + cond
                targets = op.wires[n_ctrl:]
                for w in op.wires[:n_ctrl]:
                    cells[w] = "●"
                base = getattr(getattr(g, "base", g), "name", "")
                if base == "x" and n_ctrl:
                    cells[targets[0]] = "⊕" + cond
                elif base == "swap" and not cond:
                    for w in targets:
                        cells[w] = "×"
                else:
                    for w in targets:
                        cells[w] = label
                lo, hi = min(op.wires), max(op.wires)
                for w in range(lo + 1, hi):
                    if w not in op.wires:
                        cells[w] = "┼"
            width = max(len(c) for c in cells)
            columns.append([("─" + c).ljust(width + 2, "─") for c in cells])
    lines_out: list[str] = []
    start = 0
    while True:
        chunk: list[list[str]] = []
        width = pad
        while start < len(columns) and (not chunk or width + len(columns[start][0]) <= max_width):
            chunk.append(columns[start])
            width += len(columns[start][0])
            start += 1
        for q in range(n):
            lines_out.append(names[q].rjust(pad) + "".join(col[q] for col in chunk) + "─")
        if start >= len(columns):
            break
        lines_out.append("")
    return "\n".join(lines_out)
