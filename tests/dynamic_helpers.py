"""Dynamic circuits built twice, as hqml and as Qiskit circuits, and an exact reference.

The reference walks the Qiskit circuit with ``qiskit.quantum_info`` density matrices and does
the dynamic operations by hand: one unnormalised density matrix per classical record,
projectors for measurements, the reset channel, ``if_test`` blocks applied to the records
where their condition holds.
"""

from __future__ import annotations

import numpy as np

import hqml

ONE_QUBIT = ("h", "x", "s", "t", "sx")
ROTATIONS = ("rx", "ry", "rz")


def build(n: int, m: int, spec: list[tuple]):
    """``(hqml circuit, qiskit circuit)`` of ``spec``: ("h", w), ("rx", theta, w),
    ("cx", a, b), ("measure", w, bit), ("reset", w), ("if", bit or "c", value, [gates])."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

    c = hqml.Circuit(n)
    reg = c.creg("c", m)
    qc = QuantumCircuit(QuantumRegister(n, "q"), creg := ClassicalRegister(m, "c"))

    def gate(circ, op):
        name, *args = op
        getattr(circ, name)(*args)

    for op in spec:
        if op[0] == "measure":
            c.measure(op[1], reg[op[2]])
            qc.measure(op[1], creg[op[2]])
        elif op[0] == "reset":
            c.reset(op[1])
            qc.reset(op[1])
        elif op[0] == "if":
            _, bit, value, body = op
            cond = (reg == value) if bit == "c" else (reg[bit] == value)
            c.cond(cond, lambda body=body: [gate(c, g) for g in body])
            with qc.if_test((creg, value) if bit == "c" else (creg[bit], value)):
                for g in body:
                    gate(qc, g)
        else:
            gate(c, op)
            gate(qc, op)
    return c, qc


def exact_records(qc) -> dict[int, np.ndarray]:
    """Unnormalised density matrices (Qiskit's little-endian order) by record (bit j = clbit
    j), from ``qiskit.quantum_info``."""
    from qiskit import ClassicalRegister
    from qiskit.quantum_info import DensityMatrix, Operator

    n = qc.num_qubits
    qidx = {q: i for i, q in enumerate(qc.qubits)}
    cidx = {b: i for i, b in enumerate(qc.clbits)}
    zero = np.zeros((2**n, 2**n), dtype=complex)
    zero[0, 0] = 1
    records = {0: zero}

    def evolve(rho, op, qargs):
        return DensityMatrix(rho).evolve(Operator(op), qargs=qargs).data

    def project(rho, q, outcome):
        p = np.zeros((2, 2))
        p[outcome, outcome] = 1
        return DensityMatrix(rho).evolve(Operator(p), qargs=[q]).data

    def holds(key, cond):
        target, value = cond
        bits = list(target) if isinstance(target, ClassicalRegister) else [target]
        v = sum(((key >> cidx[b]) & 1) << i for i, b in enumerate(bits))
        return v == value

    for inst in qc.data:
        op, qargs = inst.operation, [qidx[q] for q in inst.qubits]
        if op.name == "measure":
            j = cidx[inst.clbits[0]]
            new: dict[int, np.ndarray] = {}
            for key, rho in records.items():
                for o in (0, 1):
                    k = (key & ~(1 << j)) | (o << j)
                    new[k] = new.get(k, 0) + project(rho, qargs[0], o)
            records = new
        elif op.name == "reset":
            x = np.array([[0, 1], [1, 0]])
            records = {
                k: project(r, qargs[0], 0) + evolve(project(r, qargs[0], 1), x, qargs)
                for k, r in records.items()
            }
        elif op.name == "if_else":
            body = op.blocks[0]
            bq = [qidx[q] for q in inst.qubits]
            for key, rho in list(records.items()):
                if holds(key, op.condition):
                    for binst in body.data:
                        sub = [bq[body.find_bit(q).index] for q in binst.qubits]
                        rho = evolve(rho, binst.operation, sub)
                    records[key] = rho
        elif op.name != "barrier":
            records = {k: evolve(r, op, qargs) for k, r in records.items()}
    return records


def exact_probs(qc) -> np.ndarray:
    """Outcome-averaged probabilities of every qubit in hqml's order (qubit 0 = MSB)."""
    rho = sum(exact_records(qc).values())
    n = qc.num_qubits
    p = np.real(np.diag(rho)).reshape([2] * n)
    return p.transpose(list(range(n))[::-1]).reshape(-1)


def exact_counts_probs(qc) -> dict[str, float]:
    """Probability of each classical record as Qiskit prints it (one register: c[m-1]..c[0])."""
    m = qc.num_clbits
    return {format(k, f"0{m}b"): float(np.real(np.trace(r))) for k, r in exact_records(qc).items()}


def random_spec(rng: np.random.Generator, n: int, m: int, n_measure: int) -> list[tuple]:
    """A random circuit with ``n_measure`` mid-circuit measurements, resets and conditions."""
    spec: list[tuple] = []
    measured: list[int] = []

    def gates(k: int) -> list[tuple]:
        out = []
        for _ in range(k):
            r = rng.random()
            w = int(rng.integers(n))
            if r < 0.35:
                out.append((str(rng.choice(ONE_QUBIT)), w))
            elif r < 0.7 or n == 1:
                out.append((str(rng.choice(ROTATIONS)), float(rng.uniform(0, 2 * np.pi)), w))
            else:
                a, b = (int(v) for v in rng.choice(n, 2, replace=False))
                out.append(("cx", a, b))
        return out

    spec += gates(3)
    for _ in range(n_measure):
        bit = int(rng.integers(m))
        spec.append(("measure", int(rng.integers(n)), bit))
        measured.append(bit)
        spec += gates(1)
        if rng.random() < 0.3:
            spec.append(("reset", int(rng.integers(n))))
        if rng.random() < 0.5:
            spec.append(("if", "c", int(rng.integers(2**m)), gates(2)))
        else:
            spec.append(("if", int(rng.choice(measured)), int(rng.integers(2)), gates(2)))
        spec += gates(2)
    return spec


def aer_counts(qc, shots: int, seed: int) -> dict[str, int]:
    from qiskit_aer import AerSimulator

    return AerSimulator().run(qc, shots=shots, seed_simulator=seed).result().get_counts()


def within(counts: dict[str, int], probs: dict[str, float], shots: int, sigmas: float = 4.0):
    """Every outcome's frequency within ``sigmas`` standard errors (plus 1/shots) of ``probs``."""
    for key in set(counts) | set(probs):
        p = probs.get(key, 0.0)
        f = counts.get(key, 0) / shots
        se = np.sqrt(max(p * (1 - p), 1e-12) / shots)
        assert abs(f - p) <= sigmas * se + 1.0 / shots, (key, f, p)
