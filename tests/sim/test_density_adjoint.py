"""Fused density-matrix blocks and their adjoint gradient against dense algebra and autograd."""

import numpy as np
import pytest
import torch

from hqml.noise import amplitude_damping, depolarizing, thermal_relaxation
from hqml.sim import density, density_adjoint, density_fused
from hqml.testing import embed_matrix

N = 4
WIRES = [(0,), (2, 1), (3,), (0, 3), (1, 2), (3, 1, 0), (2,), (1, 0), (0,), (3, 2)]
CHANNELS = [depolarizing(0.1), amplitude_damping(0.3), thermal_relaxation(30, 20, 5)]
WORDS = [((0, "Z"),), ((1, "X"), (3, "Y")), ((2, "Z"), (0, "X")), ((3, "Z"),)]


def generators(rng, batch):
    """Hermitian generators ``(len(WIRES), batch, d, d)`` per operation (ragged: a list)."""
    out = []
    for wires in WIRES:
        d = 2 ** len(wires)
        a = rng.normal(size=(batch, d, d)) + 1j * rng.normal(size=(batch, d, d))
        out.append(torch.tensor((a + np.conj(np.swapaxes(a, 1, 2))) / 4))
    return out


def items(thetas, gens):
    """Each operation ``exp(-i theta G)`` then a channel on its first wire (and on wire 2 after
    the three-wire one: outside nothing, inside its wires)."""
    out = []
    for k, (wires, g) in enumerate(zip(WIRES, gens, strict=True)):
        u = torch.linalg.matrix_exp(-1j * thetas[k] * g)
        if u.shape[0] == 1:
            u = u[0]
        out.append(density_fused.unitary_superop(u, wires))
        ch = CHANNELS[k % len(CHANNELS)]
        out.append(density_fused.to_interleaved(torch.tensor(ch.superoperator()), (wires[0],)))
    return out


def reference(thetas, gens):
    """The same circuit by autograd through the standard-layout kernels of ``density``."""
    batch = gens[0].shape[0]
    rho = density.zero_density(N, 1, torch.complex128)
    for k, (wires, g) in enumerate(zip(WIRES, gens, strict=True)):
        u = torch.linalg.matrix_exp(-1j * thetas[k] * g)
        rho = density.apply_unitary(rho, N, u if batch > 1 else u[0], wires)
        ch = CHANNELS[k % len(CHANNELS)]
        rho = density.apply_kraus(rho, N, [torch.tensor(m) for m in ch.kraus], [wires[0]])
    return rho


@pytest.mark.parametrize("batch", [1, 3])
def test_fused_blocks_match_dense_algebra(rng, batch):
    gens = generators(rng, batch)
    thetas = torch.tensor(rng.uniform(-2, 2, len(WIRES)))
    blocks = density_fused.fuse(items(thetas, gens))
    assert len(blocks) < len(WIRES)  # the one-wire operations and all channels were merged
    got = density_adjoint.evolve(N, blocks, lambda r: r, torch.complex128, torch.device("cpu"))
    assert got.shape == (batch, 2**N, 2**N)
    for b in range(batch):
        rho = np.zeros((2**N, 2**N), complex)
        rho[0, 0] = 1
        for k, (wires, g) in enumerate(zip(WIRES, gens, strict=True)):
            u = embed_matrix(torch.linalg.matrix_exp(-1j * thetas[k] * g[b]).numpy(), wires, N)
            rho = u @ rho @ u.conj().T
            ks = [embed_matrix(m, [wires[0]], N) for m in CHANNELS[k % len(CHANNELS)].kraus]
            rho = sum(m @ rho @ m.conj().T for m in ks)
        np.testing.assert_allclose(got[b].numpy(), rho, atol=1e-12)


def _grads(thetas, gens, readout, weights):
    th = thetas.clone().requires_grad_()
    blocks = density_fused.fuse(items(th, gens))
    out = density_adjoint.evolve(N, blocks, readout, torch.complex128, torch.device("cpu"))
    (out * weights).sum().backward()
    return out.detach(), th.grad


@pytest.mark.parametrize("batch", [1, 3])
def test_adjoint_gradient_matches_autograd_with_and_without_checkpoints(rng, batch, monkeypatch):
    gens = generators(rng, batch)
    thetas = torch.tensor(rng.uniform(-2, 2, len(WIRES)))
    weights = torch.tensor(rng.normal(size=(batch, len(WORDS))))
    th = thetas.clone().requires_grad_()
    rho = reference(th, gens)
    ref = density.expval_words(rho, N, WORDS)
    (ref * weights).sum().backward()
    values, grad = _grads(thetas, gens, WORDS, weights)
    torch.testing.assert_close(values, ref.detach(), atol=1e-12, rtol=0)
    torch.testing.assert_close(grad, th.grad, atol=1e-10, rtol=0)
    # through a function of the density matrix (here the same words, from rho)
    _, grad_fn = _grads(thetas, gens, lambda r: density.expval_words(r, N, WORDS), weights)
    torch.testing.assert_close(grad_fn, th.grad, atol=1e-10, rtol=0)
    # rows in cache-sized chunks (one row each), every state kept; the last chunk's from the forward
    monkeypatch.setattr(density_adjoint, "CACHE_BYTES", 4**N * 8)
    blocks = density_fused.fuse(items(thetas, gens))
    plan = density_adjoint._plan(N, blocks, lambda s: s, torch.float64)
    assert plan.chunk == 1 and plan.stride == len(blocks)
    values1, grad1 = _grads(thetas, gens, WORDS, weights)
    torch.testing.assert_close(values1, values, atol=1e-12, rtol=0)
    torch.testing.assert_close(grad1, grad, atol=1e-10, rtol=0)
    # a budget of a few states: one row per chunk, checkpoints every ceil(sqrt(G)) blocks
    monkeypatch.setattr(density_adjoint, "STATE_BUDGET", 2 * 4**N * 8)
    blocks = density_fused.fuse(items(thetas, gens))
    plan = density_adjoint._plan(N, blocks, lambda s: s, torch.float64)
    assert plan.chunk == 1 and 1 < plan.stride < len(blocks)
    values2, grad2 = _grads(thetas, gens, WORDS, weights)
    torch.testing.assert_close(values2, values, atol=1e-12, rtol=0)
    torch.testing.assert_close(grad2, grad, atol=1e-10, rtol=0)


def test_pauli_coefficients_round_trip(rng):
    a = rng.normal(size=(2, 8, 8)) + 1j * rng.normal(size=(2, 8, 8))
    rho = torch.tensor(a @ np.conj(np.swapaxes(a, 1, 2)))
    x = density_fused.interleave(rho, 3)
    t, _ = density_fused._basis(3, torch.complex128, torch.device("cpu"))
    p = x @ t.T
    assert p.imag.abs().max() < 1e-12  # Hermitian -> real coefficients
    torch.testing.assert_close(density_fused.pauli_to_density(p.real, 3), rho)
    zx = density.expval_words(rho, 3, [((0, "Z"), (2, "X"))])[:, 0]
    torch.testing.assert_close(p.real[:, 3 * 16 + 0 * 4 + 1], zx)


@pytest.mark.parametrize("rows", [1, 2])
def test_blocks_act_in_place_or_moved_like_dense_algebra(rng, rows):
    """Blocks on slots at the front, inside, at the back and apart, of a 12-slot state, with
    shared and per-row matrices: the block's product and its gradient matrix against einsum
    on the plain tensor."""
    m_slots = 12
    x = torch.tensor(rng.normal(size=(rows,) + (2,) * m_slots))
    sigma = torch.tensor(rng.normal(size=(rows,) + (2,) * m_slots))
    letters = "abcdefghijkl"
    for where in [(0, 1), (2, 3, 4, 5), (4, 5), (6, 7, 8, 9), (8, 9, 10, 11), (0, 1, 10, 11)]:
        k = len(where)
        for per_row in (False, True):
            shape = (rows, 2**k, 2**k) if per_row else (2**k, 2**k)
            m = torch.tensor(rng.normal(size=shape))
            st = density_adjoint._State(x, tuple(range(m_slots)))
            got = st.apply(m, where).canonical().reshape(x.shape)
            mt = m.reshape((rows if per_row else 1,) + (2,) * (2 * k))
            out = "".join(
                "ABCDEF"[where.index(i)] if i in where else c for i, c in enumerate(letters)
            )
            spec = f"z{'ABCDEF'[:k]}{''.join(letters[w] for w in where)},z{letters}->z{out}"
            ref = torch.einsum(spec, mt.expand((rows,) + mt.shape[1:]), x)
            torch.testing.assert_close(got, ref, atol=1e-12, rtol=0)
            sig = density_adjoint._State(sigma, tuple(range(m_slots)))
            grad, _ = density_adjoint._grad_matrix(sig, st, list(where), per_row)
            w = "".join(letters[i] for i in where)
            rest = "".join(
                c if i not in where else "ABCDEF"[where.index(i)] for i, c in enumerate(letters)
            )
            g = torch.einsum(f"z{letters},z{rest}->z{w}{'ABCDEF'[:k]}", sigma, x).reshape(
                rows, 2**k, 2**k
            )
            torch.testing.assert_close(grad, g if per_row else g.sum(0), atol=1e-10, rtol=0)
