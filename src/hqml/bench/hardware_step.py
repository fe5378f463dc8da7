"""One W1 training step on an IBM fake device with shots: what each framework submits.

The implementations of workload W10 (:mod:`hqml.bench.w10_hardware`): the W1 model (RY(x_i)
encoding, L layers of [RY, RZ; CNOT ring], loss = batch mean of sum_i <Z_i>^2), parameter-shift
gradients for all 2nL weights, on the same fake device (``fake_manila`` for up to 5 qubits,
``fake_guadalupe`` above), the same physical qubits (:data:`LAYOUTS`), the same preset pass
manager (optimisation level 1, ``seed_transpiler`` 7), shots per circuit:

- hqml: ``QuantumLayer`` on ``qiskit:<fake device>``;
- Qiskit ML: ``EstimatorQNN`` + ``TorchConnector`` with ``qiskit_ibm_runtime``'s ``EstimatorV2``
  on the same fake device (local mode), its circuit transpiled once by the same preset pass
  manager, ``ParamShiftEstimatorGradient``;
- PennyLane with ``pennylane-qiskit`` (:mod:`hqml.bench.hardware_peers`, in its own venv).

Each setup returns a :class:`~hqml.bench.registry.Prepared` whose ``counts`` gives the provider
work per step: jobs (primitive ``run`` calls), PUBs, circuits (parameter sets x measurement
bases), shots, and the transpilations of the whole run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from hqml.accounting import track
from hqml.backends.providers.qiskit import fake_device, transpile_cache_info
from hqml.backends.providers.qiskit_devices import trajectory_device
from hqml.backends.registry import get_backend
from hqml.bench.registry import Case, Prepared
from hqml.bench.vqc import hqml_circuit
from hqml.circuit.observables import Z
from hqml.nn import QuantumLayer

SHOTS_DEFAULT = 1000
DEVICES = {5: "fake_manila", 16: "fake_guadalupe"}
# the same physical qubits for every framework (a path on each device's coupling map)
LAYOUTS = {"fake_manila": [0, 1, 2, 3, 4], "fake_guadalupe": [0, 1, 2, 3, 5, 8, 11, 14]}
PASSES = {"optimization_level": 1, "seed_transpiler": 7}
SEED = 5


def device_for(n: int) -> tuple[str, list[int]]:
    """The fake device of an ``n``-qubit case and its physical qubits."""
    name = next(d for size, d in sorted(DEVICES.items()) if n <= size)
    return name, LAYOUTS[name][:n]


class Counter:
    """Counts a V2 estimator's ``run`` calls: jobs, PUBs, circuits (parameter sets x bases)."""

    def __init__(self, shots: int):
        self.shots = shots
        self.jobs = self.pubs = self.circuits = self.transpilations = self.steps = 0

    def wrap(self, run: Callable[..., Any]) -> Callable[..., Any]:
        def counted(pubs: Any, *args: Any, **kwargs: Any) -> Any:
            from qiskit.primitives.containers.estimator_pub import EstimatorPub

            precision = kwargs.get("precision") or 1 / np.sqrt(self.shots)
            pubs = [EstimatorPub.coerce(p, precision) for p in pubs]
            self.jobs += 1
            self.pubs += len(pubs)
            for p in pubs:
                words = {lbl for obs in np.ravel(p.observables.tolist()) for lbl in obs}
                bases = len(_qwc_groups(words, p.circuit.num_qubits))
                self.circuits += int(np.prod(p.parameter_values.shape or (1,))) * bases
            return run(pubs, *args, **kwargs)

        return counted

    def per_step(self) -> dict[str, float]:
        steps = max(self.steps, 1)
        return {
            "jobs": self.jobs / steps,
            "pubs": self.pubs / steps,
            "circuits": self.circuits / steps,
            "shots": self.circuits * self.shots / steps,
            "transpilations": self.transpilations,
            "steps": self.steps,
        }


def _qwc_groups(labels: set[str], n: int) -> list[dict[int, str]]:
    groups: list[dict[int, str]] = []
    for label in sorted(labels):
        word = {n - 1 - i: p for i, p in enumerate(label) if p != "I"}
        for g in groups:
            if all(g.get(q, p) == p for q, p in word.items()):
                g.update(word)
                break
        else:
            groups.append(dict(word))
    return groups or [{}]


def torch_step(model: Any, weights: Any, x: Any, counter: Counter | None) -> Callable[[], Any]:
    """One training step of a torch module: values, loss, gradient (as NumPy)."""

    def step() -> tuple[np.ndarray, float, np.ndarray]:
        model.zero_grad()
        e = model(x)
        loss = (e**2).sum(-1).mean()
        loss.backward()
        if counter is not None:
            counter.steps += 1
        return e.detach().numpy(), float(loss.detach()), weights.grad.numpy().copy()

    return step


def values(out: tuple[np.ndarray, float, np.ndarray], shape: tuple[int, ...], shots: int) -> dict:
    """A step's outputs and their standard errors (:func:`shot_errors`)."""
    e, loss, grad = out
    return {"expval": e, "loss": np.float64(loss), "grad": grad.reshape(shape)} | shot_errors(
        e, shape, shots
    )


def shot_errors(e: np.ndarray, grad_shape: tuple[int, ...], shots: int) -> dict[str, np.ndarray]:
    """Standard errors of one step's outputs, from the sampled values ``e`` (B x n) and shots S.

    Each ``<Z>`` is a mean of S outcomes +-1: variance ``(1 - e^2) / S``. The loss
    ``mean_b sum_i e^2``: ``4 e^2 v + 2 v^2`` per term (a normal estimate's square), over B^2.
    A gradient entry ``mean_b sum_i 2 e d`` with ``d = (e+ - e-) / 2`` (``|d| <= 1``, variance
    at most ``1 / (2S)``): at most ``4 v + 2 e^2 / S`` per term, over B^2.
    """
    b = e.shape[0]
    v = (1 - e**2 + 1 / shots) / shots  # the 1/S floor: an estimate of exactly +-1 still varies
    loss = np.sum(4 * e**2 * v + 2 * v**2) / b**2
    grad = np.sum(4 * v + 2 * e**2 / shots) / b**2
    return {
        "se:expval": np.sqrt(v),
        "se:loss": np.float64(np.sqrt(loss)),
        "se:grad": np.full(grad_shape, np.sqrt(grad)),
    }


def hqml_setup(case: Case, data: dict[str, Any]) -> Prepared:
    n, shots, w = case["n"], case["shots"], data["w"]
    device, layout = device_for(n)
    be = get_backend(f"qiskit:{device}", shots=shots, seed=SEED, initial_layout=layout, **PASSES)
    layer = QuantumLayer(
        hqml_circuit(n, w.shape[0]), [Z(i) for i in range(n)], backend=be,
        diff_method="parameter-shift",
    )  # fmt: skip
    with torch.no_grad():
        layer.w.copy_(torch.tensor(w))
    counter, misses = Counter(shots), transpile_cache_info()["misses"]
    step = torch_step(layer, layer.w, torch.tensor(data["x"], dtype=torch.float64), counter)

    def tracked() -> Any:
        with track() as run:
            out = step()
        t = run.totals()
        counter.jobs += int(t["jobs"])
        counter.pubs += int(t["jobs"])  # hqml sends one PUB per job and measurement basis
        counter.circuits += int(t["circuits"])
        counter.transpilations = transpile_cache_info()["misses"] - misses
        return out

    info = f"QuantumLayer on qiskit:{device}, {shots} shots, parameter shift"
    return Prepared(tracked, lambda out: values(out, w.shape, shots), info, counts=counter.per_step)


def qiskit_w1(n: int, layers: int) -> tuple[Any, Any, Any]:
    """The W1 circuit in Qiskit: ``(circuit, x parameters, w parameters)``."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    xp, wp = ParameterVector("x", n), ParameterVector("w", layers * n * 2)
    qc = QuantumCircuit(n)
    for i in range(n):
        qc.ry(xp[i], i)
    for layer in range(layers):
        for i in range(n):
            qc.ry(wp[(layer * n + i) * 2], i)
            qc.rz(wp[(layer * n + i) * 2 + 1], i)
        for i in range(n):
            qc.cx(i, (i + 1) % n)
    return qc, xp, wp


def peer_backend(case: Case, layers: int, tuned: bool) -> Any:
    """The fake device a peer runs on: the shared instance at Aer's defaults, or (``tuned``)
    at the simulation method hqml picks for the case's circuits (:func:`trajectory_device`:
    Aer's MPS method where Aer would run one statevector per shot on 10+ active qubits, as at
    n = 8; a private instance, set with the device's documented ``set_options``)."""
    from qiskit.transpiler import generate_preset_pass_manager

    device, layout = device_for(case["n"])
    if not tuned:
        return fake_device(device)
    pm = generate_preset_pass_manager(backend=fake_device(device), initial_layout=layout, **PASSES)
    isa = pm.run(qiskit_w1(case["n"], layers)[0])
    return trajectory_device(device, {}, [isa], case["shots"]) or fake_device(device)


def qiskit_ml_setup(case: Case, data: dict[str, Any], tuned: bool = False) -> Prepared:
    from qiskit.primitives import BackendEstimatorV2
    from qiskit.quantum_info import SparsePauliOp
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import EstimatorV2
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    n, shots, w = case["n"], case["shots"], data["w"]
    layers = w.shape[0]
    device, layout = device_for(n)
    backend = peer_backend(case, layers, tuned)
    qc, xp, wp = qiskit_w1(n, layers)
    counter = Counter(shots)
    pm = generate_preset_pass_manager(backend=backend, initial_layout=layout, **PASSES)
    pm_run = pm.run

    def transpile(*args: Any, **kwargs: Any) -> Any:
        counter.transpilations += 1
        return pm_run(*args, **kwargs)

    pm.run = transpile
    isa = pm.run(qc)
    obs = [
        SparsePauliOp.from_sparse_list([("Z", [i], 1.0)], n).apply_layout(isa.layout)
        for i in range(n)
    ]
    if tuned:  # Qiskit's primitive itself, as hqml runs local devices (no per-job device copy)
        estimator = BackendEstimatorV2(backend=backend, options={"seed_simulator": SEED})
    else:
        estimator = EstimatorV2(mode=backend)
        estimator.options.default_shots = shots
        estimator.options.simulator.seed_simulator = SEED
    estimator.run = counter.wrap(estimator.run)
    qnn = EstimatorQNN(
        circuit=isa, observables=obs, input_params=list(xp), weight_params=list(wp),
        estimator=estimator, gradient=ParamShiftEstimatorGradient(estimator),  # already ISA
        default_precision=1 / np.sqrt(shots),
    )  # fmt: skip
    model = TorchConnector(qnn, initial_weights=w.reshape(-1))
    step = torch_step(model, model.weight, torch.tensor(data["x"], dtype=torch.float64), counter)
    prim = "BackendEstimatorV2" if tuned else "runtime EstimatorV2"
    method = backend.options.method
    info = f"EstimatorQNN + TorchConnector, {prim} on {device} ({method}), {shots} shots"
    return Prepared(step, lambda out: values(out, w.shape, shots), info, counts=counter.per_step)
