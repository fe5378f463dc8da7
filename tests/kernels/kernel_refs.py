"""Independent references for the kernel tests: dense NumPy statevectors of the ZZ feature map."""

import itertools

import numpy as np

import hqml

_H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)


def _op(n, wire, m):
    out = np.array([[1.0 + 0j]])
    for q in range(n):
        out = np.kron(out, m if q == wire else np.eye(2))
    return out


def _cx(n, c, t):
    d = 2**n
    U = np.zeros((d, d))
    for i in range(d):
        bits = [(i >> (n - 1 - q)) & 1 for q in range(n)]
        if bits[c]:
            bits[t] ^= 1
        U[int("".join(map(str, bits)), 2), i] = 1
    return U


def _p(lam):
    return np.diag([1, np.exp(1j * lam)])


def zz_state_dense(x, reps=2):
    """Qiskit's ZZFeatureMap (full entanglement) on |0...0>, gate by gate, wire 0 the MSB."""
    n = len(x)
    psi = np.zeros(2**n, complex)
    psi[0] = 1
    for _ in range(reps):
        for q in range(n):
            psi = _op(n, q, _H) @ psi
        for q in range(n):
            psi = _op(n, q, _p(2 * x[q])) @ psi
        for i, j in itertools.combinations(range(n), 2):
            cx = _cx(n, i, j)
            psi = cx @ (_op(n, j, _p(2 * (np.pi - x[i]) * (np.pi - x[j]))) @ (cx @ psi))
    return psi


def zz_circuit(n, reps=2):
    """The same map built gate by gate as an hqml circuit (independent of hqml's templates)."""
    c = hqml.Circuit(n)
    x = c.input("x", n)
    for _ in range(reps):
        for q in range(n):
            c.h(q)
        for q in range(n):
            c.p(2.0 * x[q], q)
        for i, j in itertools.combinations(range(n), 2):
            c.cx(i, j).p(2.0 * (np.pi - x[i]) * (np.pi - x[j]), j).cx(i, j)
    return c


def gram_dense(states_x, states_y):
    return np.abs(states_x.conj() @ states_y.T) ** 2
