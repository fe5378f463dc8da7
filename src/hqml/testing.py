"""Test helpers: a dense reference simulator and consistency checks for gates.

The reference simulator is deliberately naive: every gate becomes a full ``2^n x 2^n`` matrix
(NumPy, complex128) and the state is multiplied by it. Fast paths are tested against it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .circuit import qasm
from .circuit.circuit import Circuit
from .circuit.dynamic import require_static
from .circuit.expr import Symbol
from .circuit.gates import Gate
from .circuit.observables import PauliSum
from .execute import expval, state
from .grad import shift_rule


def embed_matrix(matrix: np.ndarray, wires: Sequence[int], n: int) -> np.ndarray:
    """The ``2^n x 2^n`` matrix of a ``k``-qubit ``matrix`` acting on ``wires`` (wire 0 = MSB)."""
    k = len(wires)
    dim = 2**n
    idx = np.arange(dim)
    bits = (idx[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1  # (dim, n)
    sub = np.zeros(dim, dtype=np.int64)
    for w in wires:
        sub = sub * 2 + bits[:, w]
    others = [q for q in range(n) if q not in wires]
    rest = np.zeros(dim, dtype=np.int64)
    for q in others:
        rest = rest * 2 + bits[:, q]
    same_rest = rest[:, None] == rest[None, :]
    full = np.where(same_rest, np.asarray(matrix)[sub[:, None], sub[None, :]], 0)
    assert full.shape == (dim, dim) and k == int(math.log2(np.asarray(matrix).shape[0]))
    return full


def op_params(op: Any, values: Mapping[Symbol, float]) -> np.ndarray:
    """An operation's parameters as floats, given every symbol's value."""
    return np.array([float(p.evaluate(lambda s: values[s])) for p in op.params], dtype=np.float64)


def symbol_values(
    circuit: Circuit,
    inputs: Mapping[str, Any] | None = None,
    weights: Mapping[str, Any] | None = None,
) -> dict[Symbol, float]:
    """Map each scalar symbol to its value for ONE sample."""
    values: dict[Symbol, float] = {}
    for kind, table, given in (
        ("input", circuit.inputs, inputs or {}),
        ("weight", circuit.weights, weights or {}),
    ):
        for name, arr in table.items():
            v = given[name]
            v = np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=np.float64)
            v = v.reshape(arr.shape)
            for idx in np.ndindex(*arr.shape):
                values[Symbol(name, kind, idx)] = float(v[idx])
    return values


def gate_matrix(gate: Gate, params: np.ndarray) -> np.ndarray:
    if gate.num_params == 0:
        return gate.matrix(dtype=torch.complex128).numpy()
    return gate.matrix(torch.as_tensor(params, dtype=torch.float64)).numpy()


def reference_unitary(
    circuit: Circuit,
    inputs: Mapping[str, Any] | None = None,
    weights: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """The circuit's full unitary for one sample, by dense matrix products."""
    require_static(circuit, "reference_unitary")
    n = circuit.n_qubits
    values = symbol_values(circuit, inputs, weights)
    u = np.eye(2**n, dtype=complex)
    for op in circuit.ops:
        u = embed_matrix(gate_matrix(op.gate, op_params(op, values)), op.wires, n) @ u
    return u


def reference_state(
    circuit: Circuit,
    inputs: Mapping[str, Any] | None = None,
    weights: Mapping[str, Any] | None = None,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """The final state for one sample, by dense matrix-vector products."""
    require_static(circuit, "reference_state", "use backend='density_matrix'")
    n = circuit.n_qubits
    values = symbol_values(circuit, inputs, weights)
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1
    if initial is not None:
        psi = np.asarray(initial, dtype=complex)
    for op in circuit.ops:
        psi = embed_matrix(gate_matrix(op.gate, op_params(op, values)), op.wires, n) @ psi
    return psi


def equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-8) -> bool:
    """True when ``a = e^{i phi} b`` within ``atol``."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    k = int(np.argmax(np.abs(b)))
    if abs(b[k]) < atol:
        return bool(np.allclose(a, b, atol=atol))
    phase = a[k] / b[k]
    if abs(abs(phase) - 1) > 1e-6:
        return False
    return bool(np.allclose(a, phase * b, atol=atol))


def assert_gate_consistent(
    gate: Gate, params: Sequence[float] | None = None, seed: int = 0, atol: float = 1e-10
) -> None:
    """Check a gate against itself: matrix, structure, kernel, inverse, derivatives, shift rule,
    JSON and (where the gate has a QASM spelling) OpenQASM round trips.

    Raises:
        AssertionError: naming the first inconsistency.
    """
    rng = np.random.default_rng(seed)
    p = np.asarray(
        params if params is not None else rng.uniform(-np.pi, np.pi, gate.num_params),
        dtype=np.float64,
    )
    m = gate_matrix(gate, p)
    _check_forms(gate, p, m, atol)
    c, wires, got = _check_kernel(gate, p, m, rng)
    # inverse
    inv_gate, inv_params = gate.inverse(tuple(p))
    mi = gate_matrix(inv_gate, np.array([float(v) for v in inv_params]))
    assert np.allclose(mi @ m, np.eye(gate.dim), atol=atol), f"{gate.name}: inverse is wrong"
    if gate.num_params:
        _check_derivatives(gate, p, c, wires, rng)
    _check_round_trips(gate, c, got)


def _check_forms(gate: Gate, p: np.ndarray, m: np.ndarray, atol: float) -> None:
    """The matrix is unitary and agrees with the gate's diagonal or monomial form."""
    d = gate.dim
    assert m.shape == (d, d), f"{gate.name}: matrix shape {m.shape}"
    assert np.allclose(m @ m.conj().T, np.eye(d), atol=atol), f"{gate.name}: matrix is not unitary"
    if gate.structure == "diagonal":
        tp = torch.as_tensor(p) if gate.num_params else None
        dg = gate.diagonal(tp, dtype=torch.complex128).numpy()
        assert np.allclose(np.diag(dg), m, atol=atol), (
            f"{gate.name}: diagonal disagrees with matrix"
        )
    if gate.structure == "monomial":
        perm, phases = gate.monomial
        rebuilt = np.zeros((d, d), dtype=complex)
        for j, pj in enumerate(perm):
            rebuilt[pj, j] = phases[j]
        assert np.allclose(rebuilt, m, atol=atol), (
            f"{gate.name}: monomial form disagrees with matrix"
        )


def _check_kernel(
    gate: Gate, p: np.ndarray, m: np.ndarray, rng: np.random.Generator
) -> tuple[Circuit, list[int], np.ndarray]:
    """The simulator applies the gate as the dense matrix does, on shuffled wires after a random
    state preparation; returns the circuit, the gate's wires and the state."""
    n = gate.num_wires + 1
    wires = list(rng.permutation(n)[: gate.num_wires])
    c = Circuit(n)
    for q in range(n):
        c.u(*rng.uniform(-np.pi, np.pi, 3), q)
    for q in range(n - 1):
        c.cx(q, q + 1)
    prep = reference_state(c)
    c.append(gate, wires, list(p))
    got = state(c, dtype=torch.complex128).numpy()
    want = embed_matrix(m, wires, n) @ prep
    assert np.allclose(got, want, atol=1e-9), f"{gate.name}: simulator disagrees with dense matrix"
    return c, wires, got


def _check_derivatives(
    gate: Gate, p: np.ndarray, c: Circuit, wires: list[int], rng: np.random.Generator
) -> None:
    """Matrix derivatives against central differences, and the shift rule against the exact
    derivative of an expectation value (the gate last in ``c``)."""
    n = c.n_qubits
    der = gate.derivatives(torch.as_tensor(p)).numpy()
    for k in range(gate.num_params):
        e = np.zeros_like(p)
        e[k] = 1e-6
        fd = (gate_matrix(gate, p + e) - gate_matrix(gate, p - e)) / 2e-6
        assert np.allclose(der[k], fd, atol=1e-6), f"{gate.name}: derivative {k} is wrong"
    # shift rule against the exact derivative of an expectation value
    obs = PauliSum.from_list([("".join(rng.choice(list("XYZ"), n)), 1.0)])

    def f(t: np.ndarray) -> float:
        cc = Circuit(n)
        cc.ops = list(c.ops[:-1])
        cc.append(gate, wires, list(t))
        return float(expval(cc, obs, dtype=torch.complex128))

    for k in range(gate.num_params):
        e = np.zeros_like(p)
        e[k] = 1e-6
        fd = (f(p + e) - f(p - e)) / 2e-6
        shift = 0.0
        for coeff, s in shift_rule(tuple(gate.spectra[k])):
            e = np.zeros_like(p)
            e[k] = s
            shift += coeff * (f(p + e) - f(p - e))
        assert abs(shift - fd) < 1e-6, f"{gate.name}: shift rule for parameter {k} is wrong"


def _check_round_trips(gate: Gate, c: Circuit, got: np.ndarray) -> None:
    """JSON and (where the gate has a QASM spelling) OpenQASM 2 and 3 keep the circuit."""
    c2 = Circuit.from_json(c.to_json())
    assert c2 == c, f"{gate.name}: JSON round trip changed the circuit"

    # OpenQASM round trips
    for version in (2, 3):
        try:
            text = qasm.dumps(c, version=version)
        except qasm.QasmExportError:
            continue
        back = state(qasm.loads(text), dtype=torch.complex128).numpy()
        assert equal_up_to_phase(back, got, atol=1e-8), (
            f"{gate.name}: OpenQASM {version} round trip changed the state"
        )
