"""The MPS tensor kernels of ``hqml.sim`` alone, against dense linear algebra in NumPy: gates on
sites (neighbouring, distant, reversed and three-qubit), canonical form, truncated splits and
their discarded weight, Pauli expectation values, marginals, overlaps and one trajectory step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hqml.sim import mps_measure
from hqml.sim.mps import MPS, Options
from hqml.sim.mps_gates import apply_gate
from hqml.sim.mps_mpo import apply_mpo2, block_terms, compress
from hqml.sim.mps_noise import apply_kraus, mixture_weights

N, B = 5, 2
DT = torch.complex128


def _random_mps(rng, bond=3, options=None):
    """A random (unnormalised, non-canonical) MPS: batch B, n = N, bonds up to ``bond``."""
    dims = [1] + [min(bond, 2 ** min(i, N - i)) for i in range(1, N)] + [1]
    sites = []
    for i in range(N):
        a = rng.normal(size=(B, dims[i], 2, dims[i + 1]))
        a = a + 1j * rng.normal(size=a.shape)
        sites.append(torch.tensor(a, dtype=DT))
    return MPS(sites, [False] * N, [False] * N, options or Options(max_bond=64))


def _dense(mps):
    return mps_measure.dense_state(mps).numpy()


def _unitary(rng, k):
    q, _ = np.linalg.qr(rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k)))
    return q


def _apply_dense(psi, u, wires):
    """``u`` on ``wires`` (its first qubit on wires[0]) of each row of ``psi`` (B, 2^N)."""
    k = len(wires)
    t = psi.reshape(B, *[2] * N)
    ut = u.reshape(*[2] * (2 * k))
    axes = [1 + w for w in wires]
    t = np.tensordot(t, ut, axes=(axes, list(range(k, 2 * k))))  # new axes at the end
    t = np.moveaxis(t, list(range(N + 1 - k, N + 1)), axes)
    return t.reshape(B, -1)


@pytest.mark.parametrize("wires", [(1,), (1, 2), (3, 0), (0, 4), (4, 1, 2)])
def test_gates_equal_dense_application(wires):
    rng = np.random.default_rng(len(wires) * 10 + wires[0])
    mps = _random_mps(rng)
    psi = _dense(mps)
    u = _unitary(rng, len(wires))
    apply_gate(mps, torch.tensor(u, dtype=DT), wires)
    np.testing.assert_allclose(_dense(mps), _apply_dense(psi, u, wires), atol=1e-12)


def test_batched_gate_matrices_act_row_by_row():
    rng = np.random.default_rng(3)
    mps = _random_mps(rng)
    psi = _dense(mps)
    us = [_unitary(rng, 2) for _ in range(B)]
    apply_gate(mps, torch.tensor(np.stack(us), dtype=DT), (2, 4))
    want = np.stack([_apply_dense(psi, us[b], (2, 4))[b] for b in range(B)])
    np.testing.assert_allclose(_dense(mps), want, atol=1e-12)


def test_canonical_form_keeps_the_state_and_makes_isometries():
    rng = np.random.default_rng(4)
    mps = _random_mps(rng)
    psi = _dense(mps)
    mps.canonicalize(2, 2)
    np.testing.assert_allclose(_dense(mps), psi, atol=1e-12)
    for i in (0, 1):  # left isometries: sum over (left, physical) of A* A = 1
        m = mps.tensors[i].numpy().reshape(B, -1, mps.tensors[i].shape[3])
        np.testing.assert_allclose(m.conj().transpose(0, 2, 1) @ m, _eyes(m.shape[2]), atol=1e-12)
        assert mps.left_iso[i]
    for i in (3, 4):  # right isometries
        m = mps.tensors[i].numpy().reshape(B, mps.tensors[i].shape[1], -1)
        np.testing.assert_allclose(m @ m.conj().transpose(0, 2, 1), _eyes(m.shape[1]), atol=1e-12)
        assert mps.right_iso[i]


def _eyes(d):
    return np.broadcast_to(np.eye(d), (B, d, d))


def test_truncated_split_discards_the_dense_schmidt_tail():
    """A 2-qubit gate at the middle bond of a state with bond 4 there, max_bond 2: the MPS keeps
    the two largest Schmidt values, records the dense tail's weight, and its state is the
    optimal rank-2 approximation (renormalised)."""
    rng = np.random.default_rng(6)
    mps = _random_mps(rng, bond=4, options=Options(max_bond=2))
    u = _unitary(rng, 2)
    exact = _apply_dense(_dense(mps), u, (1, 2))
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    apply_gate(mps, torch.tensor(u, dtype=DT), (1, 2))
    s = np.linalg.svd(exact.reshape(B, 4, 8), compute_uv=False)
    tail = (s[:, 2:] ** 2).sum(1)
    np.testing.assert_allclose(mps.report.discarded.numpy(), tail, rtol=1e-9, atol=1e-14)
    got = _dense(mps)
    got /= np.linalg.norm(got, axis=1, keepdims=True)
    fid = np.abs((exact.conj() * got).sum(1)) ** 2
    np.testing.assert_allclose(fid, 1 - tail, atol=1e-10)  # optimal cut: fidelity = 1 - tail
    assert max(mps.bonds()) <= 4 and mps.tensors[1].shape[3] == 2


def test_expval_probs_and_overlap_equal_dense_contractions():
    rng = np.random.default_rng(8)
    mps = _random_mps(rng)
    psi = _dense(mps)
    psi_n = psi / np.linalg.norm(psi, axis=1, keepdims=True)
    pauli = {"X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
             "Z": np.diag([1.0, -1.0])}  # fmt: skip
    words = [((0, "Z"),), ((1, "X"), (4, "Y")), ((2, "Y"),), ()]
    got = mps_measure.expval_words(mps, words).numpy()
    for t, word in enumerate(words):
        op = np.array([[1.0]])
        d = dict(word)
        for i in range(N):
            op = np.kron(op, pauli[d[i]] if i in d else np.eye(2))
        want = np.einsum("bi,ij,bj->b", psi_n.conj(), op, psi_n).real
        np.testing.assert_allclose(got[:, t], want, atol=1e-12)
    p = mps_measure.probs(mps, [3, 0]).numpy()
    full = (np.abs(psi_n) ** 2).reshape(B, *[2] * N).sum(axis=(2, 3, 5))  # wires 0, 3
    np.testing.assert_allclose(p, full.transpose(0, 2, 1).reshape(B, 4), atol=1e-12)
    other = _random_mps(np.random.default_rng(9))
    want = np.einsum("bi,bi->b", psi.conj(), _dense(other))
    np.testing.assert_allclose(mps_measure.overlap(mps, other).numpy(), want, atol=1e-10)
    gram = mps_measure.overlap_matrix(mps, other).numpy()
    np.testing.assert_allclose(gram, psi.conj() @ _dense(other).T, atol=1e-10)


def test_one_trajectory_step_takes_the_drawn_branch():
    """Amplitude damping (not a mixture) on wire 2: the row whose uniform number is 0 takes
    branch 0 and the row with 0.999... the last branch with nonzero probability; each is
    ``K psi / ||K psi||`` (times the state's norm). A bit flip (a mixture) by its weights."""
    rng = np.random.default_rng(10)
    mps = _random_mps(rng)
    psi = _dense(mps)
    g = 0.3
    kraus = np.stack([np.diag([1, np.sqrt(1 - g)]), np.array([[0, np.sqrt(g)], [0, 0]])])
    assert mixture_weights(list(kraus)) is None
    k = apply_kraus(mps, torch.tensor(kraus, dtype=DT), (2,), torch.tensor([0.0, 1 - 1e-12]))
    assert k.tolist() == [0, 1]
    got = _dense(mps)
    for b, branch in enumerate((0, 1)):
        want = _apply_dense(psi, kraus[branch], (2,))[b]
        want *= np.linalg.norm(psi[b]) / np.linalg.norm(want)
        np.testing.assert_allclose(got[b], want, atol=1e-12)
    flip = np.stack([np.sqrt(0.9) * np.eye(2), np.sqrt(0.1) * np.array([[0, 1], [1, 0]])])
    w = mixture_weights(list(flip))
    np.testing.assert_allclose(w, [0.9, 0.1])
    before = _dense(mps)
    k = apply_kraus(mps, torch.tensor(flip, dtype=DT), (4,), torch.tensor([0.95, 0.5]),
                    torch.tensor(w))  # fmt: skip
    assert k.tolist() == [1, 0]
    want = np.stack([_apply_dense(before, np.array([[0, 1], [1, 0]]), (4,))[0], before[1]])
    np.testing.assert_allclose(_dense(mps), want, atol=1e-12)


@pytest.mark.parametrize("pair", [(0, 4), (1, 3), (0, 2)])
def test_mpo_of_block_terms_equals_dense_application(pair):
    """A distant gate as ``sum_k L_k (x) R_k`` over all four 2 x 2 blocks (exact for any
    matrix), with batched matrices; then a controlled gate with its two nonzero blocks, the
    terms on the higher wire; a compression to ``max_bond`` 4 keeps a state of rank <= 4."""
    rng = np.random.default_rng(pair[0] * 7 + pair[1])
    mps = _random_mps(rng)
    psi = _dense(mps)
    us = np.stack([_unitary(rng, 2) for _ in range(B)])
    blocks = [(0, 0), (0, 1), (1, 0), (1, 1)]
    left, right = block_terms(torch.tensor(us, dtype=DT), blocks, on_low=True)
    apply_mpo2(mps, left, right, *pair)
    want = np.stack([_apply_dense(psi, us[b], pair)[b] for b in range(B)])
    np.testing.assert_allclose(_dense(mps), want, atol=1e-12)
    v = _unitary(rng, 1)
    cu = np.kron(np.eye(2), np.diag([1, 0])) + np.kron(v, np.diag([0, 1]))  # control: high
    left, right = block_terms(torch.tensor(cu, dtype=DT), [(0, 0), (1, 1)], on_low=False)
    assert left.shape == (2, 2, 2) and right.shape == (2, 2, 2)
    apply_mpo2(mps, left, right, *pair)
    np.testing.assert_allclose(_dense(mps), _apply_dense(want, cu, pair), atol=1e-12)
    exact = _dense(mps)
    mps.options.max_bond = 4  # every bond of 5 qubits has rank <= 4: compression is lossless
    compress(mps, 0, N - 1)
    assert max(mps.bonds()) <= 4
    np.testing.assert_allclose(_dense(mps), exact, atol=1e-10)
    assert float(mps.report.discarded.max()) < 1e-20
