"""The split patterns of hybrid models as ready modules.

- :class:`QuantumFeatureModel`: quantum feature engineering; (fixed) quantum features, optionally
  next to the raw features, feed a classical model. :class:`QuantumKitchenSinks` are fixed
  random circuits used that way (Wilson et al. 2018).
- :class:`QuantumHead`: classical dimensionality reduction (e.g. a frozen backbone or
  :class:`PCAReduction`), a quantum module, classical post-processing.
- :class:`DressedQuantumLayer`: the intermediate quantum layer (Mari et al. 2020), trainable
  classical - quantum - classical, a drop-in ``nn.Linear`` replacement.
- :class:`QuantumClassifier`: monolithic; readout probabilities of a circuit become logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..circuit.circuit import Circuit
from ..circuit.observables import Z
from ..circuit.templates import amplitude_angles
from .layer import QuantumLayer, _check_int


def angle_squash(x: torch.Tensor) -> torch.Tensor:
    """Map real features to rotation angles in ``(-pi/2, pi/2)``: ``pi/2 tanh(x)``."""
    return (math.pi / 2) * torch.tanh(x)


class AmplitudeEncoded(nn.Module):
    """Features ``(B, 2^n)`` -> the amplitude encoding's gate angles -> ``quantum``.

    ``quantum`` is a :class:`QuantumLayer` whose circuit starts with
    :func:`~hqml.circuit.templates.amplitude_encoding_angles`; the angles come from
    :func:`~hqml.circuit.templates.amplitude_angles` (vectorised torch, differentiable in the
    features). Same states as a circuit built on the symbolic
    :func:`~hqml.circuit.templates.amplitude_encoding`, much faster to train.

    Args:
        quantum: the layer on the angles.
        n_qubits: qubits of the encoding (``2^n_qubits`` features, zero-padded if fewer).
        signed: whether the encoding prepares the features' signs.
    """

    def __init__(self, quantum: QuantumLayer, n_qubits: int, signed: bool = True):
        super().__init__()
        self.n_qubits, self.signed = _check_int(n_qubits, "n_qubits"), bool(signed)
        n_angles = amplitude_angles(torch.zeros(1, 1), self.n_qubits, self.signed).shape[1]
        if quantum.n_inputs != n_angles:
            raise ValueError(
                f"AmplitudeEncoded: the layer takes {quantum.n_inputs} inputs, the encoding of"
                f" {self.n_qubits} qubits has {n_angles} angles; start its circuit with"
                " amplitude_encoding_angles"
            )
        self.quantum = quantum
        self.n_inputs, self.n_outputs = 2**self.n_qubits, quantum.n_outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(len(x), -1)
        return self.quantum(amplitude_angles(flat, self.n_qubits, self.signed))


class QuantumFeatureModel(nn.Module):
    """Quantum feature engineering: ``classical([x, q(x)])`` (or ``classical(q(x))``).

    Args:
        quantum: the feature circuit (a :class:`QuantumLayer` or :class:`QuantumKitchenSinks`).
        classical: the classical model on the features, e.g. ``nn.Linear(k, n_classes)``.
        concat_inputs: also pass the raw features to the classical model.
        train_quantum: train the quantum feature map too (default: fixed features).
    """

    def __init__(
        self,
        quantum: nn.Module,
        classical: nn.Module,
        concat_inputs: bool = True,
        train_quantum: bool = False,
    ):
        super().__init__()
        self.quantum, self.classical, self.concat_inputs = quantum, classical, concat_inputs
        if not train_quantum:
            self.quantum.requires_grad_(False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        q = self.quantum(x)
        return torch.cat([x.reshape(len(x), -1), q], dim=1) if self.concat_inputs else q

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classical(self.features(x))


class QuantumKitchenSinks(nn.Module):
    """Fixed random quantum features (Wilson et al. 2018).

    Each of ``n_episodes`` episodes maps the features to ``n_qubits`` angles with a fixed random
    affine map ``Omega_e x + beta_e`` (Gaussian ``Omega`` of scale ``scale``, ``beta`` uniform in
    ``[0, 2 pi)``), runs a fixed circuit (RX encoding, a CX chain) and measures ``Z`` on every
    wire. All episodes of the whole batch run in one simulation call. Output:
    ``(B, n_episodes * n_qubits)``. Nothing is trainable.
    """

    def __init__(
        self,
        n_features: int,
        n_qubits: int = 4,
        n_episodes: int = 8,
        scale: float = 1.0,
        seed: int = 0,
        backend: str = "statevector",
    ):
        super().__init__()
        self.n_features = _check_int(n_features, "n_features")
        self.n_qubits = _check_int(n_qubits, "n_qubits")
        self.n_episodes = _check_int(n_episodes, "n_episodes")
        g = torch.Generator().manual_seed(seed)
        self.register_buffer(
            "omega", torch.randn(n_episodes, n_qubits, n_features, generator=g) * scale
        )
        self.register_buffer("beta", torch.rand(n_episodes, n_qubits, generator=g) * 2 * math.pi)
        c = Circuit(n_qubits)
        t = c.input("theta", n_qubits)
        for q in range(n_qubits):
            c.rx(t[q], q)
        for q in range(n_qubits - 1):
            c.cx(q, q + 1)
        self.layer = QuantumLayer(c, [Z(q) for q in range(n_qubits)], backend=backend)

    @property
    def n_outputs(self) -> int:
        return self.n_episodes * self.n_qubits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(len(x), -1).to(self.omega.dtype)
        angles = torch.einsum("eqf,bf->beq", self.omega, x) + self.beta  # (B, E, Q)
        out = self.layer(angles.reshape(-1, self.n_qubits))  # one call for B*E circuits
        return out.reshape(len(x), self.n_outputs)


class PCAReduction(nn.Module):
    """A fixed linear reduction to ``k`` features (principal components), rescaled so that the
    training features have unit variance. Fit with :meth:`fit` before use."""

    def __init__(self, in_features: int, k: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(_check_int(in_features, "in_features")))
        self.register_buffer("components", torch.zeros(_check_int(k, "k"), in_features))
        self.register_buffer("scale", torch.ones(k))

    def fit(self, x: torch.Tensor) -> PCAReduction:
        x = torch.as_tensor(x, dtype=torch.float64).reshape(len(x), -1)
        mean = x.mean(0)
        _, _, vt = torch.linalg.svd(x - mean, full_matrices=False)
        comps = vt[: len(self.components)]
        comps = comps * torch.sign(comps[:, :1] + 1e-12)  # deterministic sign
        proj = (x - mean) @ comps.T
        dt = self.mean.dtype
        self.mean.copy_(mean.to(dt))
        self.components.copy_(comps.to(dt))
        self.scale.copy_(proj.std(0).clamp_min(1e-12).to(dt))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.reshape(len(x), -1) - self.mean) @ self.components.T) / self.scale


class QuantumHead(nn.Module):
    """Classical reduction -> quantum module -> classical post-processing.

    Args:
        reduction: maps the raw features to ``quantum.n_inputs`` features (e.g. a fitted
            :class:`PCAReduction` or a pretrained backbone). Frozen unless ``train_reduction``.
        quantum: the quantum module.
        n_outputs: outputs of the final linear layer (e.g. classes).
        squash: map the reduced features to angles with :func:`angle_squash`.
    """

    def __init__(
        self,
        reduction: nn.Module,
        quantum: QuantumLayer | AmplitudeEncoded,
        n_outputs: int,
        train_reduction: bool = False,
        squash: bool = True,
    ):
        super().__init__()
        self.reduction, self.quantum, self.squash = reduction, quantum, squash
        self.post = nn.Linear(quantum.n_outputs, _check_int(n_outputs, "n_outputs"))
        if not train_reduction:
            self.reduction.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.reduction(x)
        return self.post(self.quantum(angle_squash(z) if self.squash else z))


class DressedQuantumLayer(nn.Module):
    """``Linear(in, n_inputs) -> pi/2 tanh -> quantum -> Linear(n_outputs, out)``, all trainable.

    A drop-in replacement for ``nn.Linear(in_features, out_features)`` in the middle of a
    network (the 'dressed quantum circuit' of Mari et al. 2020).
    """

    def __init__(
        self, in_features: int, out_features: int, quantum: QuantumLayer | AmplitudeEncoded
    ):
        super().__init__()
        self.pre = nn.Linear(_check_int(in_features, "in_features"), quantum.n_inputs)
        self.quantum = quantum
        self.post = nn.Linear(quantum.n_outputs, _check_int(out_features, "out_features"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.quantum(angle_squash(self.pre(x.reshape(len(x), -1)))))


class QuantumClassifier(nn.Module):
    """Monolithic quantum classifier: logits are log readout probabilities.

    The circuit's readout ``wires`` are measured; the probabilities of the basis states
    ``0..n_classes-1`` of those wires (renormalised by the softmax of ``CrossEntropyLoss``)
    give ``logits = log(p_c) / temperature``. Only the circuit is trainable.

    Args:
        circuit: encoding + ansatz, one input vector.
        n_classes: number of classes, at most ``2^len(wires)``.
        wires: readout wires (default: the fewest wires that fit, from wire 0).
        temperature: a fixed scaling of the logits.
    """

    def __init__(
        self,
        circuit: Circuit,
        n_classes: int,
        wires: Sequence[int] | None = None,
        temperature: float = 1.0,
        **layer_kwargs: object,
    ):
        super().__init__()
        self.n_classes = _check_int(n_classes, "n_classes", 2)
        if wires is None:
            wires = list(range(max(1, math.ceil(np.log2(self.n_classes)))))
        if 2 ** len(wires) < self.n_classes:
            raise ValueError(
                f"QuantumClassifier: {len(wires)} readout wires give {2 ** len(wires)}"
                f" outcomes, fewer than {self.n_classes} classes; add wires"
            )
        if len(wires) > circuit.n_qubits:
            raise ValueError(
                f"QuantumClassifier: needs {len(wires)} readout wires, the circuit has"
                f" {circuit.n_qubits} qubits"
            )
        self.quantum: nn.Module = QuantumLayer(circuit, probs_wires=wires, **layer_kwargs)  # type: ignore[arg-type]
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.quantum(x)[:, : self.n_classes]
        return torch.log(p.clamp_min(1e-10)) / self.temperature
