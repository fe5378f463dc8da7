"""Reading OpenQASM within a budget, and controlled gates priced before their dense matrix."""

from __future__ import annotations

import pytest

from hqml.circuit import qasm
from hqml.circuit.gates import GATES, MAX_CONTROLLED_WIRES, controlled, gate_from_json


def nested(levels: int) -> str:
    lines = [
        "OPENQASM 3.0;",
        'include "stdgates.inc";',
        "qubit[2] q;",
        "gate g0 a, b { h a; cx a, b; }",
    ]
    lines += [f"gate g{i} a, b {{ g{i - 1} a, b; g{i - 1} b, a; }}" for i in range(1, levels)]
    return "\n".join([*lines, f"g{levels - 1} q[0], q[1];"])


def test_expanded_size_is_counted_before_expanding():
    c = qasm.loads(nested(6))  # 2 * 2^5 gates, expanded in order
    assert len(c.ops) == 64 and [op.gate.name for op in c.ops[:2]] == ["h", "cx"]
    assert len(qasm.loads(nested(6), max_gates=64).ops) == 64
    with pytest.raises(qasm.QasmError, match=r"expands to at least 128 gates; the limit is 64"):
        qasm.loads(nested(7), max_gates=64)
    with pytest.raises(qasm.QasmError, match=r"at least 1.1e\+12 gates"):
        qasm.loads(nested(40))  # 1.3 KB; the default budget is 10^7
    # a register broadcast multiplies too
    text = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[8] q;\nh q;\nh q;\n'
    with pytest.raises(qasm.QasmError, match="expands to at least 16 gates"):
        qasm.loads(text, max_gates=15)
    # integer powers repeat their steps, and are counted
    text = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\npow(40) @ h q[0];\n'
    assert len(qasm.loads(text).ops) == 40
    with pytest.raises(qasm.QasmError, match="expands to"):
        qasm.loads(text, max_gates=39)


def test_time_budget_and_self_reference():
    with pytest.raises(qasm.QasmError, match=r"took longer than 0.01 s"):
        qasm.loads(nested(18), time_limit_s=0.01)  # 2^18 gates are within the gate budget
    with pytest.raises(qasm.QasmError, match="gate 'h' calls itself"):
        qasm.loads("OPENQASM 3.0;\nqubit[1] q;\ngate h a { h a; }\nh q[0];\n")


def test_controlled_gates_are_priced_before_their_matrix():
    ok = controlled(GATES["x"], MAX_CONTROLLED_WIRES - 1)
    assert ok.num_wires == MAX_CONTROLLED_WIRES
    with pytest.raises(ValueError, match=r"12-controlled x acts on 13 wires"):
        controlled(GATES["x"], 12)
    with pytest.raises(ValueError, match=r"acts on 1000000001 wires"):
        controlled(GATES["x"], 10**9)  # refused without computing 2^(10^9)
    with pytest.raises(ValueError, match=r"acts on 11 wires"):
        controlled(ok, 1)  # nested controls add up
    with pytest.raises(ValueError, match="must be an integer"):
        gate_from_json({"name": "ctrl", "base": {"name": "x"}, "controls": "12"})
    text = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[13] q;\nctrl(12) @ x '
        + ", ".join(f"q[{i}]" for i in range(13))
        + ";\n"
    )
    with pytest.raises(qasm.QasmError, match="line 4: a 12-controlled x acts on 13 wires"):
        qasm.loads(text)
