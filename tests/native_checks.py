"""Checks of the native layer kernels shared by the tests of the package's build
(``tests/sim/test_native_passes.py``) and of every build variant
(``tests/sim/test_native_variants.py``): several gates per pass, and a permutation folded into
a layer's first pass, each against NumPy algebra and bitwise against the one-gate-per-pass
and gather-then-layer paths."""

import ctypes

import numpy as np
import torch
from helpers import np_layer, unitaries

from hqml.backends.statevector.plan import Perm

TOL = {torch.complex64: 2e-5, torch.complex128: 1e-12}
# 17 qubits: blocks of 2^15 / 2^14 amplitudes and the tile pass over the bits above them
CASES = [(3, "all"), (6, "all"), (9, "random"), (12, "all"), (17, "all"), (17, "random")]


def _wires(rng, n, subset):
    if subset == "all":
        return [int(v) for v in rng.permutation(n)]
    return [int(v) for v in rng.permutation(n)[: int(rng.integers(1, n + 1))]]


def _state(rng, shape, dtype):
    return torch.tensor(rng.normal(size=shape) + 1j * rng.normal(size=shape), dtype=dtype)


def _gates_per_pass(lib, g):
    """Run the kernels with at most ``g`` gates across vectors per pass; returns the old value."""
    return lib.hqml_set_pass_gates(g)


def _layer(lib, psi, n, wires, factors, out=None):
    """``apply_layer`` through ``lib`` (out of place, or into ``out``)."""
    suf = "c64" if psi.dtype == torch.complex64 else "c128"
    fb = factors.shape[0] if factors.dim() == 4 else 0
    batch = max(psi.shape[0], fb)
    out = torch.empty(batch, 2**n, dtype=psi.dtype) if out is None else out
    pos = (ctypes.c_int * len(wires))(*[n - 1 - w for w in wires])
    f = factors.contiguous()
    rc = getattr(lib, f"hqml_layer_apply_{suf}")(
        psi.data_ptr(), out.data_ptr(), batch, n, len(wires), pos, f.data_ptr(), int(fb > 0),
        0 if psi.shape[0] == 1 else 2**n, 1,
    )  # fmt: skip
    assert rc == 0
    return out


def _random_perm(rng, n, gates=12):
    """A random product of CNOTs and SWAPs (a GF(2)-linear permutation)."""
    p = Perm(n)
    for _ in range(gates):
        a, b = (int(v) for v in rng.choice(n, 2, replace=False))
        p = p.then(Perm.of_gate("cx" if rng.random() < 0.7 else "swap", (a, b), n))
    return p


def _chain(n):
    """The CNOT chain 0 -> 1 -> ... -> n-1 (W2's), as one permutation."""
    p = Perm(n)
    for q in range(n - 1):
        p = p.then(Perm.of_gate("cx", (q, q + 1), n))
    return p


def rotations(rng, shape, kind, dtype):
    """Random RX, RY or RZ matrices of ``shape`` (exact zeros where the gate has them: the
    kernels take shortcuts there), or general unitaries (``kind="general"``)."""
    if kind == "general":
        return unitaries(rng, shape, dtype)
    t = rng.uniform(0, 4 * np.pi, shape)
    c, s, z = np.cos(t / 2), np.sin(t / 2), np.zeros(shape)
    m = {
        "rx": [[c + 0j, -1j * s], [-1j * s, c + 0j]],
        "ry": [[c + 0j, -s + 0j], [s + 0j, c + 0j]],
        "rz": [[c - 1j * s, z + 0j], [z + 0j, c + 1j * s]],
    }[kind]
    return torch.tensor(np.stack([np.stack(row, -1) for row in m], -2), dtype=dtype)


KINDS = ("general", "rx", "ry", "rz")


def check_passes(lib, dtype, seed=0):
    """Several gates per pass: bitwise equal to one gate per pass, and NumPy's layer, for
    general 2x2 matrices and rotations (whose zero entries the kernels skip)."""
    rng = np.random.default_rng(seed)
    for i, (n, subset) in enumerate(CASES * len(KINDS)):
        kind = KINDS[i // len(CASES)]
        wires = _wires(rng, n, subset)
        for bs, shared in ((1, True), (2, True), (2, False)):
            if n > 12 and bs > 1:
                continue
            psi = _state(rng, (bs, 2**n), dtype)
            shape = (len(wires),) if shared else (bs, len(wires))
            factors = rotations(rng, shape, kind, dtype)
            old = _gates_per_pass(lib, 1)
            try:
                one = _layer(lib, psi, n, wires, factors)
                _gates_per_pass(lib, 2)
                two = _layer(lib, psi, n, wires, factors)
            finally:
                _gates_per_pass(lib, old)
            three = _layer(lib, psi, n, wires, factors)
            assert old == 3  # the default: three gates across vectors per pass
            assert torch.equal(one, two) and torch.equal(one, three), (n, wires, bs, kind)
            want = np_layer(psi, n, wires, factors)
            np.testing.assert_allclose(three.numpy(), want, atol=TOL[dtype] * 4)


def check_permuted(lib, dtype, seed=1):
    """The permutation folded into the first pass, out of place and in place: bitwise equal to
    the index gather then the layer, and NumPy's; a map that takes low bits out of a block is
    refused (code 3) with nothing written."""
    suf = "c64" if dtype == torch.complex64 else "c128"
    fn = getattr(lib, f"hqml_layer_apply_perm_{suf}")
    rng = np.random.default_rng(seed)
    psi_bytes, seen = (8 if dtype == torch.complex64 else 16), set()
    for n in (4, 7, 11, 16, 17):
        leaves = Perm.of_gate("swap", (0, n - 1), n).then(_chain(n))  # bit 0 to the top
        for perm in (_chain(n), _random_perm(rng, n), leaves):
            cols = torch.tensor(perm.gather_columns(), dtype=torch.int64)
            index = torch.as_tensor(perm.index)
            y = torch.arange(2**n)
            via = torch.zeros_like(y)  # the columns give the index: XOR over y's set bits
            for j in range(n):
                via ^= torch.where((y >> j) & 1 == 1, cols[j], 0)
            assert torch.equal(via, index)
            low = min(n, 15 if dtype == torch.complex64 else 14)
            keeps = all(int(c) < 2**low for c in cols[:low])
            nc = lib.hqml_vector_bytes() // psi_bytes  # complex numbers per vector
            lanes = all(int(c) < nc for c in cols[: nc.bit_length() - 1])
            seen.add((keeps, keeps and lanes))  # whole vectors moved, or one number at a time
            for bs, shared, wires in ((1, True, _wires(rng, n, "all")), (2, False, [n - 1, 0])):
                if n > 12 and bs > 1:
                    continue
                psi = _state(rng, (bs, 2**n), dtype)
                factors = unitaries(rng, (len(wires),) if shared else (bs, len(wires)), dtype)
                pos = (ctypes.c_int * len(wires))(*[n - 1 - w for w in wires])
                f = factors.contiguous()
                ref = _layer(lib, psi[:, index].contiguous(), n, wires, factors)
                outs = [torch.full_like(psi, 7.0), psi.clone()]  # out of place, in place
                for out, src in ((outs[0], psi), (outs[1], outs[1])):
                    rc = fn(src.data_ptr(), out.data_ptr(), bs, n, len(wires), pos, f.data_ptr(),
                            int(not shared), 2**n, 2, cols.data_ptr())  # fmt: skip
                    assert rc == (0 if keeps else 3)
                if not keeps:
                    assert bool((outs[0] == 7.0).all()) and torch.equal(outs[1], psi)
                    continue
                for out in outs:
                    assert torch.equal(out, ref), (n, bs)
                want = np_layer(psi[:, index], n, wires, factors)
                np.testing.assert_allclose(outs[1].numpy(), want, atol=TOL[dtype] * 4)
    # every kind of map met (one complex number a vector: whole vectors always)
    nc = lib.hqml_vector_bytes() // psi_bytes
    assert seen == {(True, True), (False, False)} | ({(True, False)} if nc > 1 else set())
