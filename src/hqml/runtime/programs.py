"""Server-side programs: a whole hybrid loop run next to the simulator, with readable progress.

``vqe`` minimises the expectation of a Hamiltonian over a circuit's weights with Adam, SGD or
SciPy (L-BFGS-B, COBYLA); ``qaoa`` runs :class:`hqml.algorithms.qaoa.QAOA` on a diagonal cost
Hamiltonian. Both report progress after every evaluation and stop when asked to. ``train``
(``training.py``) fits a circuit to data; ``run`` trains an ``hqml run`` config (a plug-in
program of the experiment layer: :mod:`.plugins`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from ..algorithms.qaoa import QAOA
from ..algorithms.vqe import VQE
from ..backends.base import Backend
from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum
from ..execute import expval
from ..provenance import provenance
from .cost import Limits, check_result, check_rows, check_shots, check_steps
from .execution import JobContext, JobRejected, JobStopped, load_circuit
from .optim import DescentStep, initial_weights
from .plugins import PROGRAMS, PreparedPlugin, plugin
from .schemas import ProgramRequest
from .training import PreparedTraining, prepare_training, run_training
from .wire import parse_dtype, tensor_to_json

_SCIPY = {"l-bfgs-b": "L-BFGS-B", "cobyla": "COBYLA"}
_QAOA_METHODS = {"adam": "adam", "l-bfgs-b": "L-BFGS-B", "cobyla": "COBYLA"}


@dataclass
class PreparedProgram:
    request: ProgramRequest
    circuit: Circuit
    hamiltonian: PauliSum


def _hamiltonian(req: ProgramRequest) -> PauliSum:
    if req.hamiltonian is None:
        raise JobRejected(f"a {req.program} program needs a 'hamiltonian' (PauliSum JSON)")
    try:
        return PauliSum.from_json(req.hamiltonian)
    except (ValueError, TypeError) as e:
        raise JobRejected(f"hamiltonian: {e}") from None


def prepare_program(
    req: ProgramRequest,
    limits: Limits,
    allowed_backends: tuple[str, ...] | None = None,
) -> PreparedProgram | PreparedTraining | PreparedPlugin:
    """Price and validate a program request (raises JobRejected naming the problem)."""
    if req.program in PROGRAMS:
        return plugin(req.program).prepare(req, limits, allowed_backends)
    if req.program == "train":
        return prepare_training(req, limits)
    h = _hamiltonian(req)
    check_steps(req.max_iterations, limits, f"max_iterations={req.max_iterations}")
    check_result(req.max_iterations * 24, limits, "the energy history", base64=False)
    if req.program == "qaoa":
        n = max(h.wires) + 1 if h.wires else 0
        if not 0 < n <= limits.max_qubits:
            raise JobRejected(
                f"the QAOA cost acts on {n} qubits; this server accepts 1 to {limits.max_qubits}"
            )
        if any(p != "Z" for word in h.terms for _, p in word):
            raise JobRejected("a QAOA cost must be diagonal: Z and ZZ terms only")
        if req.optimizer not in _QAOA_METHODS:
            raise JobRejected(
                f"QAOA supports the optimizers {', '.join(_QAOA_METHODS)}, not {req.optimizer!r}"
            )
        check_rows(1, n, req.backend, limits, what="the QAOA circuit", options=req.options)
        check_shots(req.shots, 1, limits)
        return PreparedProgram(req, Circuit(n), h)
    c = load_circuit(req.circuit, req.qasm, limits)
    if c.inputs:
        raise JobRejected(f"a VQE circuit has weights only; it declares inputs {list(c.inputs)}")
    if not c.weights:
        raise JobRejected("the VQE circuit declares no weights to optimise (use circuit.weight)")
    if h.wires and max(h.wires) >= c.n_qubits:
        raise JobRejected(
            f"the hamiltonian acts on wire {max(h.wires)}, outside the {c.n_qubits}-qubit circuit"
        )
    check_rows(1, c.n_qubits, req.backend, limits, what="the VQE circuit", options=req.options)
    n_weights = sum(a.size for a in c.weights.values())
    check_result(
        req.max_iterations * 24 + n_weights * 11, limits, "the history and weights", base64=False
    )  # 8 bytes a weight, 4/3 of them in base64
    initial_weights(c, req.initial_weights, req.seed, torch.float64)  # checks names and shapes
    return PreparedProgram(req, c, h)


def run_program(
    p: PreparedProgram | PreparedTraining, backend: Backend, ctx: JobContext
) -> dict[str, Any]:
    """Run a prepared program (VQE, QAOA or a training run)."""
    if isinstance(p, PreparedTraining):
        return run_training(p, backend, ctx)
    return run_qaoa(p, backend, ctx) if p.request.program == "qaoa" else run_vqe(p, backend, ctx)


def run_qaoa(p: PreparedProgram, backend: Backend, ctx: JobContext) -> dict[str, Any]:
    """QAOA through :class:`hqml.algorithms.qaoa.QAOA`; progress after every evaluation."""
    req = p.request
    t0 = time.perf_counter()
    history: list[float] = []

    def callback(_x: Any, value: float) -> None:
        history.append(float(value))
        ctx.report(
            {
                "iteration": len(history),
                "energy": history[-1],
                "best_energy": min(history),
                "elapsed_s": round(time.perf_counter() - t0, 4),
            }
        )
        reason = ctx.should_stop()
        if reason:
            raise JobStopped(reason)

    res = QAOA(
        p.hamiltonian,
        p=req.layers,
        optimizer=_QAOA_METHODS[req.optimizer],
        maxiter=req.max_iterations,
        shots=req.shots,
        seed=req.seed,
        backend=backend,
        diff_method=req.diff_method,
        callback=callback,
    ).run()
    return {
        "expectation": res.expectation,
        "params": tensor_to_json(torch.as_tensor(res.params)),
        "best_bitstring": res.best_bitstring,
        "best_energy": res.best_energy,
        "approximation_ratio": res.approximation_ratio,
        "history": res.history,
        "n_evaluations": res.n_evaluations,
        "provenance": res.provenance,
    }


def run_vqe(p: PreparedProgram, backend: Backend, ctx: JobContext) -> dict[str, Any]:
    """Minimise ``<H>``; progress ``{"iteration", "energy", "best_energy", "elapsed_s"}``."""
    req = p.request
    cdt = parse_dtype(req.dtype)
    rdt = torch.float64 if cdt == torch.complex128 else torch.float32
    weights = initial_weights(p.circuit, req.initial_weights, req.seed, rdt)
    history: list[float] = []
    t0 = time.perf_counter()

    def energy(w: dict[str, torch.Tensor]) -> torch.Tensor:
        return expval(
            p.circuit,
            p.hamiltonian,
            weights=w,
            backend=backend,
            diff_method=req.diff_method,
            dtype=cdt,
        )

    def record(e: float) -> None:
        history.append(e)
        ctx.report(
            {
                "iteration": len(history),
                "energy": e,
                "best_energy": min(history),
                "elapsed_s": round(time.perf_counter() - t0, 4),
            }
        )
        reason = ctx.should_stop()
        if reason:
            raise JobStopped(reason)

    converged = False
    if req.optimizer in ("adam", "sgd"):
        params = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
        opt = DescentStep(params, req.optimizer, req.learning_rate)
        for _ in range(req.max_iterations):
            e = energy(params)
            opt.step(torch.autograd.grad(e, list(params.values())))
            record(float(e.detach()))
            if (
                req.tolerance
                and len(history) > 1
                and abs(history[-1] - history[-2]) < req.tolerance
            ):
                converged = True
                break
        weights = {k: v.detach() for k, v in params.items()}
    else:  # SciPy methods through hqml.algorithms.VQE
        x0 = torch.cat([weights[k].reshape(-1) for k in p.circuit.weights]).double().numpy()
        res = VQE(
            p.hamiltonian,
            p.circuit,
            optimizer=_SCIPY[req.optimizer],
            initial_point=x0,
            callback=lambda _x, value: record(float(value)),
            maxiter=req.max_iterations,
            seed=req.seed,
            backend=backend,
            diff_method=req.diff_method,
            options=_scipy_tolerance(req.optimizer, req.tolerance),
        ).run()
        weights = {k: v.to(rdt) for k, v in res.optimal_weights.items()}
        converged = any(w in res.message.lower() for w in ("converge", "success"))
    final = float(energy(weights).detach())
    return {
        "energy": final,
        "weights": {k: tensor_to_json(v) for k, v in weights.items()},
        "history": history,
        "iterations": len(history),
        "converged": converged,
        "provenance": provenance(
            seeds={"seed": req.seed},
            backend=backend.name,
            diff_method=req.diff_method,
            optimizer=req.optimizer,
        ),
    }


def _scipy_tolerance(optimizer: str, tol: float) -> dict[str, float] | None:
    if not tol:
        return None
    return {"ftol": tol} if optimizer == "l-bfgs-b" else {"tol": tol}
