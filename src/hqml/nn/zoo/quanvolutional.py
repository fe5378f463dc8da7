"""The quanvolutional neural network (Henderson et al. 2020, arXiv:1904.04767) as the
qml-benchmarks study (Bowles, Ahmed & Schuld 2024) builds it: binarised image windows through
fixed random circuits, then a trained classical CNN."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn

from ...circuit.circuit import Circuit
from ...execute import probs
from ..layer import _check_int
from .base import LogitReadout, ZooClassifier, check_qubits
from .classical import build_cnn

IMPRIMITIVE_RATIO = 0.3  # chance of a CNOT at each draw, as PennyLane's RandomLayers


def random_filter_circuit(
    n: int, depth: int, rotations: int, rng: np.random.RandomState
) -> Circuit:
    """``RY(pi x_i)`` on wire ``i``, then ``depth`` random layers in the manner of PennyLane's
    ``RandomLayers``: until ``rotations`` rotations are placed, draw a CNOT on two random wires
    (probability 0.3) or an ``RX``/``RY``/``RZ`` of angle uniform in ``[0, 2 pi)`` on a random
    wire. The circuit's structure and angles come from ``rng`` (fixed, not trained)."""
    c = Circuit(n)
    x = c.input("x", n)
    for q in range(n):
        c.ry(math.pi * x[q], q)
    for _ in range(depth):
        placed = 0
        while placed < rotations:
            if n > 1 and rng.rand() <= IMPRIMITIVE_RATIO:
                a, b = rng.permutation(n)[:2]
                c.cx(int(a), int(b))
            else:
                gate = ("rx", "ry", "rz")[rng.randint(3)]
                getattr(c, gate)(float(2 * math.pi * rng.rand()), int(rng.randint(n)))
                placed += 1
    return c


def filter_table(circuit: Circuit, n: int, backend: Any = "statevector") -> np.ndarray:
    """The filter's output for every binary window ``b`` (index ``sum b_i 2^(n-1-i)``): the
    number of ones in the most probable outcome of the circuit on input ``b``."""
    patterns = ((np.arange(2**n)[:, None] >> (n - 1 - np.arange(n))) & 1).astype(np.float64)
    p = probs(circuit, inputs={"x": torch.as_tensor(patterns)}, backend=backend)
    best = np.argmax(p.detach().reshape(2**n, 2**n).numpy(), axis=1)
    return np.array([bin(int(b)).count("1") for b in best], dtype=np.float64)


class QuanvolutionalNeuralNetwork(LogitReadout, ZooClassifier):
    """Quanvolutional neural network (Henderson et al. 2020, arXiv:1904.04767; the study's
    ``QuanvolutionalNeuralNetwork``).

    The flat ``h x h`` image is min-max scaled to ``(-pi/2, pi/2)`` (times ``scaling``) and
    binarised (1 above ``threshold``, else 0); every ``q x q`` window (stride 1,
    ``q = qkernel_shape``) goes through each of ``n_qchannels`` fixed random circuits on ``q^2``
    qubits (:func:`random_filter_circuit`), whose output is the number of ones of the most
    probable outcome; the ``(h-q+1) x (h-q+1) x n_qchannels`` map feeds the study's CNN
    (``output_channels``, ``kernel_shape``), trained on the sigmoid cross-entropy. Binary
    windows have only ``2^(q^2)`` values: hqml tabulates each filter once on all of them.

    Departures: the random circuits follow ``RandomLayers``' recipe with hqml's own random
    stream (seeded by ``random_state``), so they are not the study's circuits (which reuse one
    structure, PennyLane's default seed, for all channels); the feature map keeps the image's
    orientation (the study's is transposed); the CNN's layers start from torch's default
    initialisation (Flax's in the study).
    """

    _preprocessing = "minmax"

    def __init__(
        self,
        qkernel_shape: int = 2,
        n_qchannels: int = 1,
        rand_depth: int = 10,
        rand_rot: int = 20,
        threshold: float = 0.0,
        kernel_shape: int = 3,
        output_channels: tuple[int, int] = (32, 64),
        learning_rate: float = 0.001,
        batch_size: int = 32,
        max_steps: int = 10000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
        backend: Any = "statevector",
    ):
        self.qkernel_shape = qkernel_shape
        self.n_qchannels = n_qchannels
        self.rand_depth = rand_depth
        self.rand_rot = rand_rot
        self.threshold = threshold
        self.kernel_shape = kernel_shape
        self.output_channels = output_channels
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend

    def fit(self, X: Any, y: Any) -> QuanvolutionalNeuralNetwork:
        """Build the fixed random filters, then train the CNN on their feature maps."""
        X = np.asarray(X) if not hasattr(X, "shape") else X
        q = _check_int(self.qkernel_shape, "qkernel_shape")
        side = math.isqrt(X.shape[1]) if len(X.shape) == 2 else 0
        if len(X.shape) != 2 or side * side != X.shape[1] or side < q:
            raise ValueError(
                "QuanvolutionalNeuralNetwork reads flat square images of at least"
                f" qkernel_shape x qkernel_shape pixels; got data of shape {X.shape}"
            )
        n = check_qubits(q * q, "QuanvolutionalNeuralNetwork")
        rng = check_random_state(self.random_state)
        depth, rot = (
            _check_int(self.rand_depth, "rand_depth"),
            _check_int(self.rand_rot, "rand_rot"),
        )
        self.filters_ = [
            random_filter_circuit(n, depth, rot, rng)
            for _ in range(_check_int(self.n_qchannels, "n_qchannels"))
        ]
        self.tables_ = [torch.as_tensor(filter_table(f, n, self.backend)) for f in self.filters_]
        self.n_qubits_, self.side_ = n, side
        super().fit(X, y)
        self.circuit_evaluations_ += len(self.tables_) * 2**n  # each filter on every window
        return self

    def _prepare(self, X: np.ndarray) -> torch.Tensor:
        """The quantum feature maps ``(B, n_qchannels, h-q+1, h-q+1)`` (fixed, no gradient)."""
        scaled = super()._prepare(X)
        q, h = int(self.qkernel_shape), self.side_
        bits = (scaled.reshape(-1, 1, h, h) > float(self.threshold)).to(torch.float64)
        windows = nn.functional.unfold(bits, q)  # (B, q*q, L): rows of each window, row-major
        index = (windows * 2 ** torch.arange(q * q - 1, -1, -1, dtype=torch.float64)[:, None]).sum(
            1
        )
        maps = [t[index.long()] for t in self.tables_]
        return torch.stack(maps, 1).reshape(-1, len(maps), h - q + 1, h - q + 1)

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        side = self.side_ - int(self.qkernel_shape) + 1
        channels, kernel = self.output_channels, self.kernel_shape
        self.net_ = build_cnn(gen, len(self.tables_), side, channels, kernel, "same")
        return dict(self.net_.named_parameters())

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(self.net_, dict(params), (X,))


__all__ = ["QuanvolutionalNeuralNetwork", "random_filter_circuit", "filter_table"]
