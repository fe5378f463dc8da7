"""W7: shot-based training: the W1 step (B = 64, L = 4, n = 4 and 8) with every expectation
value estimated from 1,000 shots and the gradient by the parameter-shift rule, the way training
runs on hardware.

Frameworks: hqml (``shots=1000``, ``diff_method="parameter-shift"``, seeded), PennyLane
``default.qubit`` (the QNode with ``shots=1000``, parameter shift, the batch broadcast),
Qiskit ML (``EstimatorQNN`` on Aer's ``EstimatorV2`` at precision ``1/sqrt(1000)``, which Aer
models as normal noise of that standard deviation on each exact value, parameter shift; only
at n = 4, where its exact step already takes over 30 s), and TensorCircuit-NG with sampling
(``sample_expectation_ps(shots=1000)`` per expectation, the parameter-shift rule written out,
every sample and shift in one ``jit(vmap)``).

Agreement: sampled values agree only within their standard errors. The tolerances
(:func:`tolerances`) are 5 to 6 standard deviations of the difference of two independent
estimates under worst-case variances: with S shots an estimate of ``<Z>`` has variance at most
``1/S``, a parameter-shift derivative ``(e+ - e-)/2`` at most ``1/(2S)``, and with ``|e|, |de|
<= 1`` a term ``2 e de`` of the loss gradient at most ``6/S``; summed over n observables and
averaged over B samples the gradient's variance is at most ``6n/(SB)``, the loss's ``4n/(SB)``.
So: ``<Z_i>`` ``6 sqrt(2/S)``, loss ``5 sqrt(8n/(SB))``, gradient ``5 sqrt(12n/(SB))`` (0.27,
0.16 and 0.19 at n = 8, B = 64, S = 1000). A framework whose circuit or sign convention
differs from hqml's still shows up: its differences are of order 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hqml.bench import vqc
from hqml.bench.registry import Case, Impl, Prepared, Workload
from hqml.bench.w1_vqc import make_data

SHOTS = 1000


def tolerances(case: Case) -> dict[str, float]:
    """The agreement tolerances of a W7 case (see the module's docstring)."""
    s, n, b = case["shots"], case["n"], case["batch"]
    return {
        "expval": 6 * np.sqrt(2 / s),
        "loss": 5 * np.sqrt(8 * n / (s * b)),
        "grad": 5 * np.sqrt(12 * n / (s * b)),
    }


def _at_most(limit: int, why: str) -> Any:
    return lambda case: None if case["n"] <= limit else f"skipped above {limit} qubits ({why})"


def _tensorcircuit(case: Case, data: dict[str, Any]) -> Prepared:
    import jax
    import jax.numpy as jnp
    import tensorcircuit as tc

    tc.set_backend("jax")
    tc.set_dtype("complex64")
    n, layers, shots = case["n"], case["layers"], case["shots"]
    x, w = data["x"].astype(np.float32), data["w"].astype(np.float32)
    batch, count = x.shape[0], w.size

    def expz(xi: Any, wv: Any, key: Any) -> Any:  # one sample, sampled <Z_i>
        c = vqc.tensorcircuit_ansatz(tc, n, layers, xi, wv)
        keys = jax.random.split(key, n)
        return jnp.stack(
            [
                jnp.real(c.sample_expectation_ps(z=[i], shots=shots, random_status=keys[i]))
                for i in range(n)
            ]
        )

    over_batch = jax.vmap(expz, in_axes=(0, None, 0))
    over_shifts = jax.vmap(over_batch, in_axes=(None, 0, 0))
    shifts = np.concatenate([np.eye(count), -np.eye(count)]).astype(np.float32) * np.pi / 2

    @jax.jit
    def step_fn(wflat: Any, xb: Any, key: Any) -> Any:
        k0, k1 = jax.random.split(key)
        e = over_batch(xb, wflat.reshape(w.shape), jax.random.split(k0, batch))
        shifted = (wflat + shifts).reshape((2 * count, *w.shape))
        keys = jax.random.split(k1, 2 * count * batch).reshape(2 * count, batch, -1)
        es = over_shifts(xb, shifted, keys)
        de = (es[:count] - es[count:]) / 2  # parameter shift: d<Z_j>/dw_p per sample
        grad = jnp.einsum("bj,pbj->p", 2 * e, de) / batch
        return e, jnp.mean(jnp.sum(e**2, axis=1)), grad.reshape(w.shape)

    wj, xj, key = jnp.asarray(w.reshape(-1)), jnp.asarray(x), jax.random.PRNGKey(7)

    def step() -> Any:
        out = step_fn(wj, xj, key)
        out[2].block_until_ready()
        return out

    return Prepared(step, vqc._values, f"jax, jit + vmap, {shots} shots, parameter shift")


def _impl(framework: str, fn: Any, modules: tuple[str, ...], **kw: Any) -> Impl:
    supports = kw.pop("supports", lambda case: None)
    return Impl(
        framework,
        lambda case, d: fn(d["x"], d["w"], loss="vqc", shots=case["shots"], **kw),
        modules=modules,
        supports=supports,
    )


WORKLOAD = Workload(
    name="W7",
    title="shot-based training: the W1 step, 1000 shots per expectation, parameter shift",
    cases=[{"n": n, "batch": 64, "layers": 4, "shots": SHOTS} for n in (4, 8)],
    quick_cases=[{"n": 2, "batch": 3, "layers": 1, "shots": SHOTS}],
    make_data=make_data,
    label=lambda case: f"n={case['n']}",
    impls=[
        _impl("hqml", vqc.hqml_vqc, ("torch", "hqml"), diff_method="parameter-shift"),
        _impl(
            "pennylane", vqc.pennylane_vqc, ("torch", "pennylane"), diff_method="parameter-shift"
        ),
        _impl(
            "qiskit-ml",
            vqc.qiskit_ml_vqc,
            ("torch", "qiskit", "qiskit_aer", "qiskit_machine_learning"),
            supports=_at_most(4, "parameter shift: over 30 s per step at 4"),
        ),
        Impl("tensorcircuit", _tensorcircuit, modules=("jax", "tensorcircuit")),
    ],
    tolerances=tolerances,
    notes=["sampled values: agreement within 5 worst-case standard errors (see w7_shots.py)"],
)
