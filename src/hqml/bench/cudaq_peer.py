"""NVIDIA CUDA-Q (``cudaq``) as a peer: W1 and W3 with its own gradient strategies, W2 by
``get_state``, W8 energy and gradient.

CUDA-Q runs from its own side venv (``benchmarks/.envs/cudaq``, built by ``make bench-envs``:
its wheels bring the CUDA runtime and ~2.5 GB of GPU libraries, and pin their own NumPy). On the
CPU its simulator is the ``qpp-cpu`` target, which computes in complex128 only (the GPU target
``nvidia`` has complex64; not run here). Its gradients are computed from circuit evaluations
(``cudaq.gradients``: ``ParameterShift``, ``CentralDifference``, ``ForwardDifference``; no
adjoint method):

- W1/W3: ``ParameterShift`` (exact for the ansatz's RY/RZ angles, each in one gate) applied to
  ``g(w) = sum_b sum_i c_bi <Z_i>_b`` with ``c = dloss/de`` at the current weights: an
  expectation value, whose gradient is the loss gradient (the chain rule through the loss done
  by hand); every evaluation is one ``cudaq.observe`` broadcast over the batch.
- W8: ``CentralDifference`` on the energy: each angle is shared by many gates (``gamma`` by
  every edge), where the two-term shift rule is not exact.

CUDA-Q orders its state with qubit 0 as the least significant bit (W2 maps hqml's indices).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hqml.bench.registry import Case, Impl, Prepared

TARGET = "qpp-cpu"
INSTALL = "make bench-envs (side venv benchmarks/.envs/cudaq)"
NO_GPU = "the suite runs CUDA-Q's CPU target qpp-cpu (its nvidia target is not wired)"


def impl(setup: Any, supports: Any = None) -> Impl:
    """The ``cudaq`` implementation of a workload: ``setup(case, data)``, in the side venv."""
    return Impl("cudaq", setup, modules=("cudaq",), supports=supports or (lambda case: None),
                venv="cudaq", no_gpu=NO_GPU, install=INSTALL)  # fmt: skip


def at_most(limit: int, why: str) -> Any:
    """``supports`` for cases of at most ``limit`` qubits."""
    return lambda case: None if case["n"] <= limit else f"skipped above {limit} qubits ({why})"


def complex128_only(case: Case) -> str | None:
    return None if case["dtype"] == "complex128" else f"{TARGET} computes in complex128 only"


def _cudaq() -> Any:
    import cudaq

    cudaq.set_target(TARGET)
    return cudaq


def _ansatz(cudaq: Any) -> Any:
    @cudaq.kernel
    def ansatz(n: int, layers: int, xs: list[float], ws: list[float]):  # noqa: ANN202
        q = cudaq.qvector(n)
        for i in range(n):
            ry(xs[i], q[i])  # noqa: F821 (CUDA-Q's kernel language)
        for layer in range(layers):
            for i in range(n):
                ry(ws[2 * (layer * n + i)], q[i])  # noqa: F821
                rz(ws[2 * (layer * n + i) + 1], q[i])  # noqa: F821
            for i in range(n):
                x.ctrl(q[i], q[(i + 1) % n])  # noqa: F821

    return ansatz


def vqc(x: np.ndarray, w: np.ndarray, *, loss: str) -> Prepared:
    """The W1 step (``x`` ``(B, n)``) or the W3 gradient (``x`` ``(n,)``), values as
    :mod:`hqml.bench.vqc`'s."""
    cudaq = _cudaq()
    from cudaq import spin

    n, layers = w.shape[1], w.shape[0]
    xb = np.atleast_2d(x)
    batch = xb.shape[0]
    kernel = _ansatz(cudaq)
    zs = [spin.z(i) for i in range(n)]
    ham = zs[0]
    for z in zs[1:]:
        ham = ham + z
    xs = [list(map(float, row)) for row in xb]
    shift = cudaq.gradients.ParameterShift()

    def expz(wv: list[float]) -> np.ndarray:  # (B, n)
        res = cudaq.observe(kernel, ham, [n] * batch, [layers] * batch, xs, [wv] * batch)
        return np.array([[r.expectation(z) for z in zs] for r in res])

    def step() -> Any:
        wv = list(map(float, w.reshape(-1)))
        e = expz(wv)
        value = np.mean(np.sum(e**2, axis=1)) if loss == "vqc" else np.sum(e)
        c = 2 * e / batch if loss == "vqc" else np.ones_like(e)  # dloss/de

        def g(p: list[float]) -> float:
            return float(np.sum(c * expz(list(p))))

        grad = np.asarray(shift.compute(wv, g, float(np.sum(c * e))))
        return (e if x.ndim == 2 else e[0]), value, grad.reshape(w.shape)

    def values(out: Any) -> dict[str, np.ndarray]:
        e, value, grad = out
        return {"expval": e, "loss": np.asarray(value), "grad_w": grad}

    return Prepared(step, values, f"{TARGET}, complex128, ParameterShift, observe broadcast")


def statevector(n: int, theta: np.ndarray, index: np.ndarray) -> Prepared:
    """W2: the state of ``layers`` x [RX on every qubit; CNOT chain] by ``cudaq.get_state``;
    ``index`` in hqml's order (wire 0 = most significant bit)."""
    cudaq = _cudaq()

    @cudaq.kernel
    def layers_kernel(n: int, layers: int, th: list[float]):  # noqa: ANN202
        q = cudaq.qvector(n)
        for layer in range(layers):
            for i in range(n):
                rx(th[layer * n + i], q[i])  # noqa: F821
            for i in range(n - 1):
                x.ctrl(q[i], q[i + 1])  # noqa: F821

    args = (n, theta.shape[0], list(map(float, theta.reshape(-1))))
    little = np.zeros_like(index)
    for b in range(n):
        little |= ((index >> b) & 1) << (n - 1 - b)

    def values(state: Any) -> dict[str, np.ndarray]:
        return {"amplitudes": np.asarray(state)[little]}

    return Prepared(lambda: cudaq.get_state(layers_kernel, *args), values,
                    f"{TARGET}, complex128, get_state")  # fmt: skip


def qaoa(n: int, p: int, edges: list[tuple[int, int]], w: np.ndarray) -> Prepared:
    """W8: MaxCut energy ``<sum_edges Z_a Z_b / 2>`` and its gradient (CentralDifference)."""
    cudaq = _cudaq()
    from cudaq import spin

    @cudaq.kernel
    def circuit(n: int, p: int, ea: list[int], eb: list[int], ws: list[float]):  # noqa: ANN202
        q = cudaq.qvector(n)
        h(q)  # noqa: F821
        for layer in range(p):
            for k in range(len(ea)):  # RZZ(w) = exp(-i w/2 Z_a Z_b)
                x.ctrl(q[ea[k]], q[eb[k]])  # noqa: F821
                rz(ws[2 * layer], q[eb[k]])  # noqa: F821
                x.ctrl(q[ea[k]], q[eb[k]])  # noqa: F821
            for i in range(n):
                rx(ws[2 * layer + 1], q[i])  # noqa: F821

    cost = 0.5 * spin.z(edges[0][0]) * spin.z(edges[0][1])
    for a, b in edges[1:]:
        cost = cost + 0.5 * spin.z(a) * spin.z(b)
    ea, eb = [a for a, _ in edges], [b for _, b in edges]
    fd = cudaq.gradients.CentralDifference()

    def energy(ws: list[float]) -> float:
        return float(cudaq.observe(circuit, cost, n, p, ea, eb, list(ws)).expectation())

    def step() -> Any:
        wv = list(map(float, w.reshape(-1)))
        e = energy(wv)
        return e, np.asarray(fd.compute(wv, energy, e)).reshape(w.shape)

    def values(out: Any) -> dict[str, np.ndarray]:
        return {"energy": np.asarray(out[0]), "grad_w": out[1]}

    return Prepared(step, values, f"{TARGET}, complex128, CentralDifference")
