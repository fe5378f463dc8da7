"""Bad OpenQASM input and impossible exports give one clear error naming the line / the fix."""

import pytest

import hqml
from hqml.circuit import qasm

HEAD2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'  # 4 lines
HEAD3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n'


@pytest.mark.parametrize(
    "body, line, words",
    [
        ("h q[0]\ncx q[0], q[1];\n", 5, ["expected ';'"]),  # missing semicolon
        ("h q[0];\nfoo q[0];\n", 6, ["unknown gate 'foo'"]),
        ("cx q[0];\n", 5, ["'cx' takes 0 parameter(s) and 2 qubit(s)", "got 0 and 1"]),
        ("rx q[0];\n", 5, ["'rx' takes 1 parameter(s)"]),
        ("h r[0];\n", 5, ["undeclared qubit register 'r'"]),
        ("h c[0];\n", 5, ["undeclared qubit register 'c'", "classical register"]),
        ("\n\nh q[2];\n", 7, ["index 2 out of range", "'q' of size 2"]),
        ("cx q[1], q[1];\n", 5, ["repeated qubit"]),
        ("if (c == 1) measure q[0] -> c[0];\n", 5, ["a measurement inside 'if'"]),
        ("if (c == 1) reset q[0];\n", 5, ["a reset inside 'if'"]),
        ("if (c == 4) x q[0];\n", 5, ["cannot equal 4"]),
        ("if (q == 1) x q[0];\n", 5, ["undeclared bit register 'q'"]),
        ("gate g a { reset a; }\n", 5, ["'reset' is not allowed in the body of gate 'g'"]),
        ("opaque g a;\n", 5, ["opaque"]),
        ("measure q -> c[0];\n", 5, ["same size"]),
        ("rx(theta) q[0];\n", 5, ["undeclared identifier 'theta'"]),
        ("rx(1/0) q[0];\n", 5, ["division by zero"]),
        ("rx(foo(1)) q[0];\n", 5, ["unknown function 'foo'"]),
        ("gate g a { h b; }\n", 5, ["'b' is not one of its qubit arguments"]),
        ("gate g a { nope a; }\n", 5, ["unknown gate 'nope'"]),
        ("gate g(t) a { rx(t) a; }\ng q[0];\n", 6, ["'g' takes 1 parameter(s) and 1 qubit(s)"]),
        ("h q[0];\nrx(0.1 q[0];\n", 6, ["expected"]),
        ("h q[0]; #\n", 5, ["unexpected character '#'"]),
    ],
)
def test_qasm2_errors_name_the_line(body, line, words):
    with pytest.raises(qasm.QasmError) as info:
        qasm.loads(HEAD2 + body)
    msg = str(info.value)
    assert msg.startswith(f"line {line}:"), msg
    assert info.value.line == line
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize(
    "body, line, words",
    [
        ("ctrl @ x q[0];\n", 5, ["ctrl", "qubits left"]),
        ("pow(0.5) @ rx(theta) q[0];\n", 5, ["undeclared identifier 'theta'"]),
        ("input float[64] a;\npow(0.5) @ rx(a) q[0];\n", 6, ["non-integer", "numeric"]),
        ("rx(2 ^ 3) q[0];\n", 5, ["'^' is bitwise xor", "**"]),
        ("float[64] v = 1.0;\n", 5, ["classical variables"]),
        ("for int i in [0:2] { h q[0]; }\n", 5, ["loops are not supported"]),
        ("c[0] = 1;\n", 5, ["only measurement assignments"]),
        ("h q[0:1];\n", 5, ["slices"]),
        ("qubit[2] q;\n", 5, ["register 'q' is already declared"]),
        ("h q[1e400];\n", 5, ["must be an integer constant"]),
        ("pow(1e400) @ x q[0];\n", 5, ["finite exponent"]),
        ("ctrl(1.5) @ x q[0], q[1];\n", 5, ["positive integer number of controls"]),
    ],
)
def test_qasm3_errors_name_the_line(body, line, words):
    with pytest.raises(qasm.QasmError) as info:
        qasm.loads(HEAD3 + body)
    msg = str(info.value)
    assert msg.startswith(f"line {line}:"), msg
    for w in words:
        assert w in msg, msg


def test_program_level_errors():
    with pytest.raises(qasm.QasmError, match="no qubits"):
        qasm.loads('OPENQASM 2.0;\ninclude "qelib1.inc";\n')
    with pytest.raises(qasm.QasmError, match="line 1: unsupported OpenQASM version 4"):
        qasm.loads("OPENQASM 4.0;\nqubit q;\n")
    with pytest.raises(qasm.QasmError, match="line 2: cannot include 'mylib.inc'"):
        qasm.loads('OPENQASM 2.0;\ninclude "mylib.inc";\nqreg q[1];\n')
    with pytest.raises(qasm.QasmError, match="line 3: .*not closed"):
        qasm.loads("OPENQASM 2.0;\nqreg q[1];\ngate g a { h a;\n")
    assert issubclass(qasm.QasmError, ValueError) and issubclass(qasm.QasmExportError, ValueError)
    with pytest.raises(TypeError, match="str"):
        qasm.loads(b"OPENQASM 2.0;")


def test_export_of_unbound_symbols_names_them_and_the_fix():
    c = hqml.Circuit(2)
    x = c.input("x", 2)
    w = c.weight("w", (2, 2))
    c.rx(x[1], 0).rz(w[1, 0] * 2, 1).h(0)
    with pytest.raises(qasm.QasmExportError) as info:
        qasm.dumps(c, version=2)
    msg = str(info.value)
    for w_ in ("x[1]", "w[1, 0]", "version=3", "bind"):
        assert w_ in msg, msg
    assert "input float[64] x_1;" in qasm.dumps(c, version=3)  # version 3 keeps them
    with pytest.raises(ValueError, match="version must be 2 or 3"):
        qasm.dumps(c, version=4)


def test_symbol_names_that_clash_with_qasm_names_are_renamed_and_restored():
    c = hqml.Circuit(2)
    h = c.weight("h")  # 'h' is a gate: written under another name, restored on reading
    x = c.input("x", 2)
    x0 = c.weight("x_0")  # the scalar name of x[0]
    c.rx(h * x[0], 0).ry(x0 + x[1], 1)
    text = qasm.dumps(c, version=3)
    assert "input float[64] h;" not in text
    back = qasm.loads(text)
    assert back == c


def test_symbolic_controlled_unitary_needs_binding_in_qasm3():
    # a symbolic parameter on a gate with no QASM 3 spelling cannot be written
    from hqml.circuit.gates import Gate

    weird = Gate("weird", 1, generator=[[0.5, 0.1], [0.1, -0.5]])
    c = hqml.Circuit(1)
    t = c.weight("theta")
    c.append(weird, [0], [t])
    with pytest.raises(qasm.QasmExportError, match="bind"):
        qasm.dumps(c, version=3)
    text = qasm.dumps(c.bind(weights={"theta": 0.4}), version=3)  # bound: exact decomposition
    assert "gate weird_0" in text


def test_mutated_programs_fail_only_with_qasm_errors():
    """Random edits of valid programs either parse or raise QasmError (never another error)."""
    import random

    seeds = [
        HEAD2 + "gate g(t) a, b { rx(t/2) a; cx a, b; }\nh q;\ng(pi) q[0], q[1];\n"
        "measure q -> c;\n",
        HEAD3 + "input float[64] th;\nctrl @ rx(th ** 2) q[0], q[1];\nc[1] = measure q[1];\n"
        "inv @ pow(2) @ s q[0];\nnegctrl @ U(1, 2, 3) q[1], q[0];\n",
    ]
    pieces = list("q[](){};,->@=+-*/^ \n0123456789.") + [
        "ctrl",
        "inv",
        "pow",
        "gate",
        "measure",
        "qubit",
        "input",
        "pi",
        "$1",
        "//",
        "/*",
        "**",
    ]
    r = random.Random(7)
    parsed = 0
    for _ in range(400):
        chars = list(r.choice(seeds))
        for _ in range(r.randint(1, 3)):
            k = r.randrange(len(chars))
            if r.random() < 0.5:
                del chars[k]
            else:
                chars.insert(k, r.choice(pieces))
        try:
            qasm.loads("".join(chars))
            parsed += 1
        except qasm.QasmError as e:
            assert str(e).startswith("line ") or "no qubits" in str(e), str(e)
    assert 0 < parsed < 400


@pytest.mark.parametrize(
    "text, measures",
    [
        # the reported case: measure, gate, measure again on one qubit (Qiskit Aer: 00/01/10/11)
        (
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[2];\n'
            "h q[0];\nmeasure q[0] -> c[0];\nh q[0];\nmeasure q[0] -> c[1];\n",
            2,
        ),
        (HEAD2 + "h q[0];\nmeasure q -> c;\ncx q[1], q[0];\n", 2),  # register-wide measure
        (HEAD3 + "h q[0];\nc[0] = measure q[0];\nx q[0];\n", 1),
        (HEAD3 + "h q[1];\nmeasure q[1];\ncx q[0], q[1];\n", 1),  # measure with no target
    ],
)
def test_mid_circuit_measurement_is_kept_not_dropped(text, measures):
    # once refused (the guard), a gate after a measurement now makes a dynamic circuit
    c = qasm.loads(text)
    assert c.is_dynamic
    assert [op.name for op in c.ops].count("measure") == measures


def test_terminal_measurements_still_load():
    # gates on other qubits after a measurement, a repeated terminal measurement and barriers
    # are fine: the circuit stays static and its measurements are dropped
    c, meas = qasm.loads(
        HEAD2 + "h q[0];\nmeasure q[0] -> c[0];\nbarrier q;\nx q[1];\nmeasure q[0] -> c[1];\n",
        return_measurements=True,
    )
    assert meas == {0: 0, 1: 0}
    assert [op.gate.name for op in c.ops] == ["h", "x"]
