"""The peers of issue 17 that need more than a line, and the ones not in the suite, with why.

- qsim (Google's statevector simulator, through ``qsimcirq`` and Cirq): its speed depends on the
  largest gate it fuses into (``max_fused_gate_size``); :func:`qsim_best` builds one simulator
  per size 2, 3 and 4, times one warm call of each and keeps the fastest (the suite's "best
  reported"), on the suite's thread count (qsim's own default is one thread).
- PennyLane Catalyst (:func:`catalyst_vqc`, W1 and W3): the whole step (forward, loss and
  gradient) compiled by ``qml.qjit`` over ``lightning.qubit`` with the adjoint method, the batch
  by ``catalyst.vmap``; the compilation is in the first call. It pins an older JAX than the one
  TensorCircuit-NG needs, so it runs in the side venv ``benchmarks/.envs/catalyst`` (``make
  bench-envs``).
- ``lightning.kokkos``: PennyLane's Kokkos build of Lightning; the PyPI wheel is the OpenMP
  build, so it runs on the CPU only. It runs through :mod:`hqml.bench.vqc` like
  ``lightning.qubit``.

:data:`NOT_IN_SUITE` names the peers the issue asks for that have no implementation in the
suite and why; every suite document records it (``peers_not_in_suite``) and the report prints
it, so they are never silently absent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hqml.bench.registry import Prepared

QSIM_INSTALL = "pip install qsimcirq (in hqml[bench]; the PyPI wheel is CPU only)"
KOKKOS_INSTALL = (
    "pip install pennylane-lightning-kokkos (in hqml[bench]; the PyPI wheel is the OpenMP build)"
)
KOKKOS_NO_GPU = "the PyPI lightning.kokkos wheel is the OpenMP (CPU) build"
QSIM_NO_GPU = "the PyPI qsimcirq wheel is built without CUDA"
FUSED_SIZES = (2, 3, 4)

NOT_IN_SUITE: dict[str, str] = {}  # every peer the issue names has an implementation now
CATALYST_NOTE = (
    "pennylane-catalyst 0.15 pins jax==0.7.1 while the suite's TensorCircuit-NG runs on jax 0.10,"
    " so Catalyst runs in its own side venv"
)


def threads() -> int:
    """The thread count the suite pinned (``OMP_NUM_THREADS``), for libraries that take it as
    an option rather than from the environment."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "2")))
    except ValueError:
        return 2


def cirq_qubits(n: int) -> list[Any]:
    """Cirq qubits for hqml's wires 0..n-1; Cirq orders the state with the first qubit as the
    most significant bit, as hqml does."""
    import cirq

    return list(cirq.LineQubit.range(n))


def qsim_best(
    run: Callable[[Any], Any], sizes: Sequence[int] = FUSED_SIZES, **options: Any
) -> tuple[Any, int, dict[int, float]]:
    """The qsim simulator with the fastest ``max_fused_gate_size`` of ``sizes`` for ``run``.

    Each size gets its own simulator (circuit translation memoised; further ``QSimOptions`` from
    ``options``), one call to warm it up and one timed call. Returns the fastest simulator, its
    size and the time per size.
    """
    import qsimcirq

    best, times = None, {}
    for size in sizes:
        qsim_options = qsimcirq.QSimOptions(
            max_fused_gate_size=size, cpu_threads=threads(), **options
        )
        sim = qsimcirq.QSimSimulator(qsim_options, circuit_memoization_size=4)
        run(sim)
        t0 = time.perf_counter()
        run(sim)
        times[size] = time.perf_counter() - t0
        if best is None or times[size] < times[best[1]]:
            best = (sim, size)
    assert best is not None
    return best[0], best[1], times


def fused_note(size: int, times: dict[int, float]) -> str:
    """The info line of a qsim run: the chosen fused size and what each size took in setup."""
    each = ", ".join(f"{k}: {1e3 * v:.3g} ms" for k, v in times.items())
    return f"max_fused_gate_size={size} (fastest in setup of {each}), {threads()} threads"


def catalyst_vqc(x: np.ndarray, w: np.ndarray, *, loss: str) -> Prepared:
    """The W1/W3 step in PennyLane Catalyst: one ``qml.qjit`` program (adjoint on
    ``lightning.qubit``, complex128) of the forward values and, per sample, ``catalyst.grad``
    of that sample's loss term, mapped over the batch by ``catalyst.vmap``; values as
    :mod:`hqml.bench.vqc`'s.

    Each sample's circuit takes one flat vector ``[x_b, w]`` and is differentiated with respect
    to all of it (the weights' part is kept): Catalyst 0.15's compiler aborts when a gradient is
    taken with respect to part of a circuit's arguments while the rest are traced values.
    """
    import catalyst
    import jax.numpy as jnp
    import pennylane as qml

    n, layers = w.shape[1], w.shape[0]
    xb = np.atleast_2d(x)

    @qml.qnode(qml.device("lightning.qubit", wires=n), diff_method="adjoint")
    def circuit(p: Any) -> Any:
        for i in range(n):
            qml.RY(p[i], wires=i)
        for layer in range(layers):
            for i in range(n):
                qml.RY(p[n + 2 * (layer * n + i)], wires=i)
                qml.RZ(p[n + 2 * (layer * n + i) + 1], wires=i)
            for i in range(n):
                qml.CNOT(wires=[i, (i + 1) % n])
        return [qml.expval(qml.Z(i)) for i in range(n)]

    def term(p: Any) -> Any:  # one sample's part of the loss
        e = jnp.stack(circuit(p))
        return jnp.sum(e**2) if loss == "vqc" else jnp.sum(e)

    def sample(p: Any) -> Any:
        return jnp.stack(circuit(p)), catalyst.grad(term)(p)

    @qml.qjit
    def step_fn(xv: Any, wv: Any) -> Any:
        ps = jnp.concatenate([xv, jnp.broadcast_to(wv, (xv.shape[0], wv.shape[0]))], axis=1)
        e, g = catalyst.vmap(sample)(ps)
        value = jnp.mean(jnp.sum(e**2, axis=1)) if loss == "vqc" else jnp.sum(e)
        grad = jnp.mean(g[:, n:], axis=0) if loss == "vqc" else jnp.sum(g[:, n:], axis=0)
        return e, value, grad

    def values(out: Any) -> dict[str, np.ndarray]:
        e, value, grad = (np.asarray(v, np.float64) for v in out)
        return {
            "expval": e if x.ndim == 2 else e[0],
            "loss": value,
            "grad_w": grad.reshape(w.shape),
        }

    return Prepared(
        lambda: step_fn(xb, w.reshape(-1)),
        values,
        "qjit, lightning.qubit, adjoint, complex128 (compiled in the first call)",
    )
