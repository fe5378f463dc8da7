"""W10: the hardware path: one W1 training step on an IBM fake device (its coupling map, basis
gates and noise, simulated locally by Aer) with shots and parameter-shift gradients, and what
each framework sends to the provider for it.

The W1 model (RY(x_i) encoding, L layers of [RY, RZ; CNOT ring], loss = batch mean of
sum_i <Z_i>^2, gradient for all 2nL weights, L = 1) at n = 4 (``fake_manila``, B = 4, 1,000
shots per circuit) and 8 (``fake_guadalupe``, B = 1, 200 shots: its noisy simulation takes
seconds per circuit), the same physical qubits and the same preset pass manager (level 1,
``seed_transpiler`` 7) for every framework:

- hqml: ``QuantumLayer`` on ``qiskit:<fake device>`` (:mod:`hqml.bench.hardware_step`);
- Qiskit ML: ``EstimatorQNN`` + ``TorchConnector``, ``qiskit_ibm_runtime``'s ``EstimatorV2``
  in local mode, ``ParamShiftEstimatorGradient``;
- PennyLane: a QNode on ``pennylane-qiskit``'s ``qiskit.remote`` device
  (:mod:`hqml.bench.hardware_peers`, from its own venv: the plug-in needs qiskit <= 2.3).

Each run reports, besides the step's wall time, what it sent per step (``per_step`` in the
results: jobs, PUBs, circuits = parameter sets x measurement bases, shots) and how many
transpilations the whole run made.

Agreement is statistical: each output comes with its standard errors, computed from its own
sampled values and the shots (:func:`hqml.bench.hardware_step.shot_errors`), and agrees when
every element is within ``WITHIN_SE`` standard errors of the difference. The devices' noise is
part of every framework's values (the same qubits, so the same noise); a framework that computed
another circuit or sign convention differs by far more.
"""

from __future__ import annotations

import functools

from hqml.bench import hardware_peers, hardware_step
from hqml.bench.registry import Impl, Workload
from hqml.bench.w1_vqc import make_data

WITHIN_SE = 5.0
HARDWARE = ("torch", "qiskit", "qiskit_ibm_runtime", "qiskit_aer")

WORKLOAD = Workload(
    name="W10",
    title="hardware path: the W1 step on an IBM fake device, 1000 shots, parameter shift",
    cases=[
        {"n": 4, "batch": 4, "layers": 1, "shots": 1000},
        # an 8-qubit circuit on the 16-qubit device takes seconds to simulate with its noise
        {"n": 8, "batch": 1, "layers": 1, "shots": 200},
    ],
    quick_cases=[{"n": 2, "batch": 2, "layers": 1, "shots": 500}],
    make_data=make_data,
    label=lambda case: f"n={case['n']} B={case['batch']} shots={case['shots']}",
    impls=[
        Impl("hqml", hardware_step.hqml_setup, modules=(*HARDWARE, "hqml")),
        Impl(
            "qiskit-ml",
            hardware_step.qiskit_ml_setup,
            modules=(*HARDWARE, "qiskit_machine_learning"),
        ),
        Impl(
            "pennylane",
            hardware_peers.pennylane_setup,
            modules=(*HARDWARE, "pennylane", "pennylane_qiskit"),
            venv="pennylane-qiskit",
            install=hardware_peers.INSTALL,
        ),
        # the peers at the simulation method hqml picks (Aer's MPS at n = 8), set on the
        # device with its documented set_options, Qiskit ML on Qiskit's BackendEstimatorV2
        # itself (as hqml runs local devices): every framework at its fastest setting
        Impl(
            "qiskit-ml-tuned",
            functools.partial(hardware_step.qiskit_ml_setup, tuned=True),
            modules=(*HARDWARE, "qiskit_machine_learning"),
        ),
        Impl(
            "pennylane-tuned",
            functools.partial(hardware_peers.pennylane_setup, tuned=True),
            modules=(*HARDWARE, "pennylane", "pennylane_qiskit"),
            venv="pennylane-qiskit",
            install=hardware_peers.INSTALL,
        ),
    ],
    within_se=WITHIN_SE,
    notes=[
        "sampled values on a noisy fake device: agreement within 5 standard errors per output",
        "per_step: jobs, circuits and shots sent per step; transpilations per run",
    ],
)
