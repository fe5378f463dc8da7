"""W10's PennyLane peer: the W1 step as a QNode on ``pennylane-qiskit``'s ``qiskit.remote``
device over the same IBM fake device, physical qubits and pass-manager settings as hqml.

pennylane-qiskit 0.45 requires qiskit <= 2.3, qiskit-aer 0.17 and qiskit-ibm-runtime 0.45, so it
runs from its own venv (``benchmarks/.envs/pennylane-qiskit``, made by ``make bench-envs``).
The plug-in transpiles every tape it executes and sends each tape as one ``EstimatorV2`` job;
the counts come from wrapping its ``transpile`` and the estimator class's ``run``.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from hqml.bench.hardware_step import (
    PASSES,
    SEED,
    Counter,
    device_for,
    peer_backend,
    torch_step,
    values,
)
from hqml.bench.registry import Case, Prepared

INSTALL = (
    "pennylane-qiskit 0.45 needs qiskit <= 2.3: it runs from benchmarks/.envs/pennylane-qiskit,"
    " built by `make bench-envs`"
)
_COUNTER: list[Counter] = []  # the counter of the latest setup (the wrappers are installed once)


def _install_counters() -> None:
    import pennylane_qiskit.qiskit_device as plugin
    from qiskit_ibm_runtime import EstimatorV2

    if getattr(plugin, "_hqml_counted", False):
        return
    transpile, run = plugin.transpile, EstimatorV2.run

    @functools.wraps(transpile)  # the plug-in reads transpile's signature to sort its options
    def counted_transpile(*args: Any, **kwargs: Any) -> Any:
        _COUNTER[-1].transpilations += 1
        return transpile(*args, **kwargs)

    def counted_run(self: Any, pubs: Any, *args: Any, **kwargs: Any) -> Any:
        return _COUNTER[-1].wrap(lambda p, *a, **k: run(self, p, *a, **k))(pubs, *args, **kwargs)

    plugin.transpile, EstimatorV2.run = counted_transpile, counted_run
    plugin._hqml_counted = True


def pennylane_setup(case: Case, data: dict[str, Any], tuned: bool = False) -> Prepared:
    import pennylane as qml

    n, shots, w = case["n"], case["shots"], data["w"]
    layers = w.shape[0]
    device, layout = device_for(n)
    backend = peer_backend(case, layers, tuned)
    _install_counters()
    _COUNTER.append(Counter(shots))
    dev = qml.device(
        "qiskit.remote", wires=n, backend=backend, initial_layout=layout,
        simulator={"seed_simulator": SEED}, **PASSES,
    )  # fmt: skip

    @qml.set_shots(shots)
    @qml.qnode(dev, interface="torch", diff_method="parameter-shift")
    def circuit(x: Any, wv: Any) -> Any:
        for i in range(n):
            qml.RY(x[..., i], wires=i)
        for layer in range(layers):
            for i in range(n):
                qml.RY(wv[layer, i, 0], wires=i)
                qml.RZ(wv[layer, i, 1], wires=i)
            for i in range(n):
                qml.CNOT(wires=[i, (i + 1) % n])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor(w, dtype=torch.float64))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack(circuit(x, self.w), dim=-1)

    model = Model()
    counter = _COUNTER[-1]
    step = torch_step(model, model.w, torch.tensor(data["x"], dtype=torch.float64), counter)
    method = backend.options.method
    info = f"qiskit.remote on {device} ({method}; pennylane-qiskit), {shots} shots, param. shift"
    return Prepared(step, lambda out: values(out, w.shape, shots), info, counts=counter.per_step)
