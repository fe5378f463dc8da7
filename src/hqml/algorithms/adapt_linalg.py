"""Statevector linear algebra for ADAPT-VQE: Pauli words acting on a vector, all pool gradients
from one state, and the exact energy and gradient of a grown ansatz without building a circuit.

Wire 0 is the most significant bit of the amplitude index, as in :func:`hqml.state`. A Pauli
word ``P`` acts as ``(P psi)[i] = phase(i ^ x) psi[i ^ x]`` with ``x`` its X/Y mask and
``phase(b) = i^{n_Y} (-1)^{popcount(b & z)}`` (``z`` its Y/Z mask).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse
import torch

from ..circuit.observables import PauliSum, Word

# amplitudes x Pauli words held at once when applying words to a state (complex128: 16 B each)
_CHUNK_AMPLITUDES = 1 << 22
# amplitudes x words per block when assembling a sparse Hamiltonian
_SPARSE_CHUNK = 1 << 20


def word_actions(words: Sequence[Word], n_qubits: int) -> tuple[np.ndarray, np.ndarray]:
    """``(source, phase)``, each ``(len(words), 2^n)``: ``P_j psi = phase[j] * psi[source[j]]``."""
    n_amp = 1 << n_qubits
    xmask = np.zeros(len(words), dtype=np.int64)
    zmask = np.zeros(len(words), dtype=np.int64)
    n_y = np.zeros(len(words), dtype=np.int64)
    for j, word in enumerate(words):
        for w, p in word:
            bit = 1 << (n_qubits - 1 - w)
            if p in "XY":
                xmask[j] |= bit
            if p in "YZ":
                zmask[j] |= bit
            n_y[j] += p == "Y"
    source = np.arange(n_amp, dtype=np.int64)[None, :] ^ xmask[:, None]
    sign = 1 - 2 * _parity(source & zmask[:, None])
    return source, (1j**n_y)[:, None] * sign


def _parity(a: np.ndarray) -> np.ndarray:
    """Popcount mod 2 of non-negative integers (``np.bitwise_count`` needs NumPy 2)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(a).astype(np.int64) & 1
    out, a = np.zeros_like(a), a.copy()
    while a.any():
        out ^= a & 1
        a >>= 1
    return out


def apply_words(words: Sequence[Word], psi: np.ndarray, n_qubits: int) -> np.ndarray:
    """``P_j |psi>`` for every Pauli word, stacked ``(len(words), 2^n)`` (wire 0 = MSB)."""
    source, phase = word_actions(words, n_qubits)
    return phase * psi[source]


def _word_overlaps(bra: np.ndarray, words: list[Word], psi: np.ndarray, n: int) -> np.ndarray:
    """``<bra|P_j|psi>`` for every word, in chunks that bound the memory held."""
    step = max(1, _CHUNK_AMPLITUDES >> n)
    out = np.empty(len(words), dtype=complex)
    for s in range(0, len(words), step):
        out[s : s + step] = apply_words(words[s : s + step], psi, n) @ bra.conj()
    return out


def pauli_sum_matrix(op: PauliSum, n_qubits: int) -> scipy.sparse.csr_matrix:
    """``op`` as a sparse ``2^n x 2^n`` matrix (row ``i`` holds ``phase`` at ``source[i]``)."""
    n_amp = 1 << n_qubits
    words = list(op.terms)
    coeffs = np.array([op.terms[w] for w in words], dtype=complex)
    out = scipy.sparse.csr_matrix((n_amp, n_amp), dtype=complex)
    step = max(1, _SPARSE_CHUNK >> n_qubits)
    rows = np.arange(n_amp, dtype=np.int64)
    for s in range(0, len(words), step):
        source, phase = word_actions(words[s : s + step], n_qubits)
        data = coeffs[s : s + step, None] * phase
        block = scipy.sparse.coo_matrix(
            (data.ravel(), (np.broadcast_to(rows, source.shape).ravel(), source.ravel())),
            shape=(n_amp, n_amp),
        )
        out = out + block.tocsr()  # duplicate entries are summed
    return out


def pool_gradients_from_state(
    hamiltonian: PauliSum, pool: Sequence[Any], psi: Any, n_qubits: int
) -> np.ndarray:
    """All pool gradients ``<psi|[H, A_k]|psi>`` (``A_k = i G_k``, ``pool[k].generator = G_k``)
    from one state vector, by linear algebra."""
    psi = np.asarray(psi, dtype=complex).reshape(-1)
    if psi.size != 1 << n_qubits:
        raise ValueError(f"the state has {psi.size} amplitudes, not 2^{n_qubits}")
    h_words = list(hamiltonian.terms)
    h_coeffs = np.array([hamiltonian.terms[w] for w in h_words], dtype=complex)
    h_psi = np.zeros_like(psi)
    step = max(1, _CHUNK_AMPLITUDES >> n_qubits)
    for s in range(0, len(h_words), step):
        h_psi += h_coeffs[s : s + step] @ apply_words(h_words[s : s + step], psi, n_qubits)
    index: dict[Word, int] = {}
    for op in pool:
        for w in op.generator.terms:
            index.setdefault(w, len(index))
    overlaps = _word_overlaps(h_psi, list(index), psi, n_qubits)  # <H psi|P_j|psi>
    grads = np.empty(len(pool))
    for k, op in enumerate(pool):
        z = sum(c * overlaps[index[w]] for w, c in op.generator.terms.items())
        grads[k] = -2.0 * np.imag(z)
    return grads


class AnsatzLinalg:
    """Energy and gradient of ``prod_k exp(theta_k A_k) |reference>`` on the state vector.

    ``A_k = i G_k`` with the Pauli words of ``G_k`` commuting, so each factor is exactly
    ``prod_j (cos(theta c_j) + i sin(theta c_j) P_j)``: the same unitary as the ADAPT circuit
    (one Pauli rotation per word), applied without building or simulating gates. The gradient
    is the adjoint method: one backward sweep undoing each factor.

    Args:
        hamiltonian: the Hermitian ``PauliSum``.
        generators: ``G_k`` of the ansatz's operators, in circuit order (repeats allowed).
        reference: the reference state vector, ``2^n`` amplitudes.
        n_qubits: ``n``.
        h_matrix: ``H`` as a sparse matrix, if already built (``h_full`` of another model).
        parts_cache: a dict kept by the caller across models; each generator's sparse factors
            are built once per generator object.

    When every factor has the closed form (excitations), the model works on ``support``: the
    amplitudes reachable from the reference under ``H`` and the generators (couplings below
    1e-12 count as zero); for number- and spin-conserving ones that is the reference's sector.
    ``state`` still returns all ``2^n`` amplitudes.
    """

    def __init__(
        self,
        hamiltonian: PauliSum,
        generators: Sequence[PauliSum | Sequence[PauliSum]],
        reference: np.ndarray,
        n_qubits: int,
        h_matrix: scipy.sparse.csr_matrix | None = None,
        parts_cache: dict[int, tuple[Any, list[_Part]]] | None = None,
    ):
        self.n = n_qubits
        reference = np.asarray(reference, dtype=complex).reshape(-1)
        h = pauli_sum_matrix(hamiltonian, n_qubits) if h_matrix is None else h_matrix
        self.h_full = h
        parts_of = []
        for g in generators:
            # parts built once per generator object when the caller keeps a cache (ADAPT
            # rebuilds the ansatz every step from the same pool)
            hit = parts_cache.get(id(g)) if parts_cache is not None else None
            if hit is None or hit[0] is not g:
                hit = (g, [_Part(p, n_qubits) for p in ([g] if isinstance(g, PauliSum) else g)])
                if parts_cache is not None:
                    parts_cache[id(g)] = hit
            parts_of.append(hit[1])
        # The amplitudes the state can reach: closed under H's and every generator's pattern
        # (for number- and spin-conserving excitations, the reference's sector, e.g. 400 of
        # 4096 for H6). Closed-form factors act on that block alone, exactly; word-by-word
        # factors pass through other amplitudes, so with any of them the full vector is kept.
        self.support: np.ndarray | None = None
        if all(part.closed for parts in parts_of for part in parts):
            self.support = _reachable(h, [p.g for parts in parts_of for p in parts], reference)
            if self.support.size == reference.size:
                self.support = None
        if self.support is not None:
            idx = self.support
            h = h[idx][:, idx].tocsr()
            reference = reference[idx]
            parts_of = [[p.restricted(idx) for p in parts] for parts in parts_of]
        self.reference, self.h = reference, h
        # per operator: its parts (applied in order) and the whole generator G as sparse matrices
        self.factors: list[tuple[list[_Part], scipy.sparse.csr_matrix]] = []
        for parts in parts_of:
            whole = parts[0].g if len(parts) == 1 else sum(p.g for p in parts[1:]) + parts[0].g
            self.factors.append((parts, whole))

    def _rotate(self, k: int, theta: float, psi: np.ndarray) -> np.ndarray:
        for part in self.factors[k][0]:
            psi = part.rotate(theta, psi)
        return psi

    def _apply_a(self, k: int, psi: np.ndarray) -> np.ndarray:
        return 1j * (self.factors[k][1] @ psi)

    def _state(self, theta: np.ndarray) -> np.ndarray:
        psi = self.reference.copy()
        for k, t in enumerate(theta):
            psi = self._rotate(k, t, psi)
        return psi

    def state(self, theta: Sequence[float]) -> np.ndarray:
        """The ``2^n`` state vector at ``theta``."""
        psi = self._state(np.asarray(theta, dtype=float))
        if self.support is None:
            return psi
        full = np.zeros(1 << self.n, dtype=complex)
        full[self.support] = psi
        return full

    def energy_and_gradient(self, theta: Sequence[float]) -> tuple[float, np.ndarray]:
        theta = np.asarray(theta, dtype=float)
        if theta.size != len(self.factors):
            raise ValueError(f"{theta.size} angles for {len(self.factors)} operators")
        psi = self._state(theta)
        lam = self.h @ psi
        energy = float(np.vdot(psi, lam).real)
        grad = np.empty(theta.size)
        both = np.stack([psi, lam], axis=1)  # undo each factor on psi and lam together
        for k in range(theta.size - 1, -1, -1):
            parts, whole = self.factors[k]
            if len(parts) == 1 and parts[0].closed:
                g_both = whole @ both  # G psi serves the gradient and the rotation
                grad[k] = -2.0 * np.vdot(both[:, 1], g_both[:, 0]).imag
                both = parts[0].rotate_with(-theta[k], both, g_both)
            else:
                psi, lam = both[:, 0], both[:, 1]
                grad[k] = 2.0 * np.vdot(lam, self._apply_a(k, psi)).real
                psi, lam = self._rotate(k, -theta[k], psi), self._rotate(k, -theta[k], lam)
                both = np.stack([psi, lam], axis=1)
        return energy, grad

    def objective(self, theta: torch.Tensor) -> torch.Tensor:
        """The energy as a differentiable torch scalar (for :func:`~.optimizers.minimize`)."""
        return _Energy.apply(theta, self)


class _Part:
    """``exp(i theta G)`` for one part ``G`` whose Pauli words commute, as a sparse matrix.

    Excitation generators (fermionic or qubit, and single Pauli words) have ``G^3 = G``, so
    ``exp(i theta G) = 1 + i sin(theta) G + (cos(theta) - 1) G^2``: two sparse products instead
    of one pass per Pauli word. Other parts use the product of the words' rotations."""

    def __init__(self, g: PauliSum, n_qubits: int):
        self.words = list(g.terms)
        self.coeffs = np.array([g.terms[w].real for w in self.words])
        m = pauli_sum_matrix(g, n_qubits)
        m.data[np.abs(m.data) < 1e-14] = 0.0
        m.eliminate_zeros()
        self.g = m.tocsr()
        self.g2 = (self.g @ self.g).tocsr()
        cube = self.g2 @ self.g - self.g
        self.closed = cube.nnz == 0 or float(np.abs(cube.data).max()) < 1e-12
        self.actions = None if self.closed else word_actions(self.words, n_qubits)
        # excitations: G^2 is diagonal (a projector onto the coupled determinants), so
        # G^2 psi is an elementwise product
        off = self.g2 - scipy.sparse.diags(self.g2.diagonal())
        off.eliminate_zeros()
        self.g2_diag = self.g2.diagonal() if off.nnz == 0 else None

    def restricted(self, idx: np.ndarray) -> _Part:
        """This closed-form part on the amplitudes ``idx`` (a block that ``G`` keeps)."""
        out = object.__new__(_Part)
        out.words, out.coeffs, out.closed, out.actions = self.words, self.coeffs, True, None
        out.g = self.g[idx][:, idx].tocsr()
        out.g2 = self.g2[idx][:, idx].tocsr()
        out.g2_diag = None if self.g2_diag is None else self.g2_diag[idx]
        return out

    def rotate_with(self, theta: float, psi: np.ndarray, g_psi: np.ndarray) -> np.ndarray:
        """The closed form given ``G psi`` (``psi`` a vector, or vectors as columns)."""
        if self.g2_diag is None:
            g2_psi = self.g2 @ psi
        else:
            g2_psi = self.g2_diag[:, None] * psi if psi.ndim == 2 else self.g2_diag * psi
        return psi + 1j * np.sin(theta) * g_psi + (np.cos(theta) - 1) * g2_psi

    def rotate(self, theta: float, psi: np.ndarray) -> np.ndarray:
        if self.closed:
            return self.rotate_with(theta, psi, self.g @ psi)
        source, phase = self.actions
        for c, src, ph in zip(self.coeffs, source, phase, strict=True):
            psi = np.cos(theta * c) * psi + 1j * np.sin(theta * c) * (ph * psi[src])
        return psi


def _reachable(
    h: scipy.sparse.csr_matrix, gs: Sequence[scipy.sparse.csr_matrix], reference: np.ndarray
) -> np.ndarray:
    """Sorted indices of the amplitudes reachable from ``reference`` under ``h`` and ``gs``."""
    pattern = abs(h).tocsr()
    for g in gs:
        pattern = pattern + abs(g)
    pattern = (pattern + pattern.T).tocsr()  # either direction couples two amplitudes
    # entries where Pauli words cancel are structural zeros or rounding, not couplings
    pattern.data[pattern.data < 1e-12] = 0.0
    pattern.eliminate_zeros()
    seen = np.abs(reference) > 0
    while True:
        grown = seen | (pattern @ seen.astype(float) > 0)
        if grown.sum() == seen.sum():
            return np.flatnonzero(seen)
        seen = grown


class _Energy(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, theta: torch.Tensor, model: AnsatzLinalg) -> torch.Tensor:
        energy, grad = model.energy_and_gradient(theta.detach().cpu().numpy())
        ctx.save_for_backward(torch.as_tensor(grad, dtype=theta.dtype))
        return torch.tensor(energy, dtype=theta.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        (grad,) = ctx.saved_tensors
        return grad_output * grad, None
