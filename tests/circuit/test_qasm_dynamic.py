"""OpenQASM 2 and 3 with mid-circuit measurement, reset and classical conditions, in and out,
checked against Qiskit's readers and writers and an exact reference."""

import numpy as np
import pytest
import torch

import hqml
from hqml.circuit import qasm
from hqml.circuit.dynamic import Bit, Conditional, Measure, Reset

pytest.importorskip("qiskit")
from dynamic_helpers import build, exact_probs, random_spec, within  # noqa: E402
from qiskit import qasm2, qasm3  # noqa: E402

C128 = torch.complex128
HEAD2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
HEAD3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def test_the_original_defect_reads_as_two_measurements():
    text = (
        HEAD2 + "qreg q[1];\ncreg c[2];\nh q[0];\nmeasure q[0] -> c[0];\nh q[0];\n"
        "measure q[0] -> c[1];\n"
    )
    c = qasm.loads(text)
    assert c.cregs == {"c": 2}
    assert [op.name for op in c.ops] == ["h", "measure", "h", "measure"]
    counts = hqml.counts(c, 8000, seed=4)
    within(counts, {k: 0.25 for k in ("00", "01", "10", "11")}, 8000)


def test_qasm2_reset_and_if():
    text = (
        HEAD2 + "qreg q[2];\ncreg c[2];\nh q[0];\nmeasure q[0] -> c[0];\nreset q[0];\n"
        "if(c==1) x q[1];\nif(c==1) cx q[1], q[0];\nmeasure q -> c;\n"
    )
    c = qasm.loads(text)
    cond = c.ops[3]
    assert isinstance(c.ops[2], Reset) and isinstance(cond, Conditional)
    assert cond.condition == (c.creg("c", 2) == 1)
    assert [type(op) for op in c.ops[-2:]] == [Measure, Measure]  # the final ones are kept too
    qc = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert np.allclose(hqml.probs(c, dtype=C128).numpy(), exact_probs(qc), atol=1e-10)
    # the record: c = 00 or 11 with probability 1/2 each
    within(hqml.counts(c, 4000, seed=2), {"00": 0.5, "11": 0.5}, 4000)


def test_qasm3_if_else_on_bits_and_registers():
    text = (
        HEAD3 + "qubit[3] q;\nbit[2] c;\nbit f;\nh q[0];\nc[0] = measure q[0];\n"
        "if (c[0]) { x q[1]; } else { h q[1]; z q[1]; }\nf = measure q[1];\n"
        "if (c == 1) x q[2];\nif (!f) x q[2];\nif (c[1] == false) { s q[2]; }\nreset q[0];\n"
    )
    c = qasm.loads(text)
    assert c.cregs == {"c": 2, "f": 1}
    conds = [op.condition for op in c.ops if isinstance(op, Conditional)]
    reg = c.creg("c", 2)
    assert conds == [reg[0] == 1, reg[0] != 1, reg == 1, Bit("f") == 0, reg[1] == 0]
    qc = qasm3.loads(qasm.dumps(c, version=3))
    assert np.allclose(hqml.probs(c, dtype=C128).numpy(), exact_probs(qc), atol=1e-10)


@pytest.mark.parametrize("seed", range(8))
def test_round_trips_through_hqml_and_qiskit(seed):
    rng = np.random.default_rng(50 + seed)
    n, m = 1 + seed % 3, 1 + seed % 2
    c, qc = build(n, m, random_spec(rng, n, m, 1 + seed % 3))
    ref = exact_probs(qc)
    text3 = qasm.dumps(c, version=3)
    assert qasm.loads(text3) == c
    assert np.allclose(exact_probs(qasm3.loads(text3)), ref, atol=1e-10)  # Qiskit reads ours
    ours = qasm.loads(qasm3.dumps(qc))  # we read Qiskit's
    assert np.allclose(hqml.probs(ours, dtype=C128).numpy(), ref, atol=1e-10)
    try:
        text2 = qasm.dumps(c, version=2)
    except qasm.QasmExportError as e:  # a condition on one bit of a wider register
        assert "needs version=3" in str(e) and "\n" not in str(e)
        return
    back = qasm.loads(text2)
    assert np.allclose(hqml.probs(back, dtype=C128).numpy(), ref, atol=1e-10)
    q2 = qasm2.loads(text2, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert np.allclose(exact_probs(q2), ref, atol=1e-10)


def test_export_text_and_refusals():
    c = hqml.Circuit(2)
    reg = c.creg("c", 2)
    c.h(0).measure(0, reg[0])
    c.reset(0)
    c.cond(reg == 1, lambda: c.x(1))
    text2 = qasm.dumps(c, version=2)
    assert "creg c[2];" in text2 and "measure q[0] -> c[0];" in text2
    assert "reset q[0];" in text2 and "if(c==1) x q[1];" in text2
    text3 = qasm.dumps(c, version=3)
    assert "bit[2] c;" in text3 and "c[0] = measure q[0];" in text3 and "if (c == 1) {" in text3
    c.cond(reg == 2, lambda: c.z(1), lambda: c.y(1))  # the else branch is a '!='
    with pytest.raises(qasm.QasmExportError, match="needs version=3"):
        qasm.dumps(c, version=2)
    assert "if (c != 2) {" in qasm.dumps(c, version=3)
    clash = hqml.Circuit(1)
    clash.measure(0, "q")
    with pytest.raises(qasm.QasmExportError, match="rename the register"):
        qasm.dumps(clash)


def test_static_programs_still_drop_terminal_measurements():
    c, meas = qasm.loads(
        HEAD2 + "qreg q[2];\ncreg c[2];\nh q;\nmeasure q -> c;\n", return_measurements=True
    )
    assert not c.is_dynamic and c.cregs == {} and meas == {0: 0, 1: 1}
