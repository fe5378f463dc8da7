"""Classical baselines of the study that scikit-learn does not ship: a small convolutional
network in torch, as a scikit-learn classifier. (The study's other baselines are scikit-learn's
``SVC`` with an RBF kernel and ``MLPClassifier``, used as they are.)"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .base import LogitReadout, ZooClassifier


class StudyCNN(nn.Module):
    """The study's CNN (``construct_cnn``): conv (``SAME``), 2x2 max-pool, conv (``SAME``), 2x2
    max-pool, flatten, dense ``2 c1`` with ReLU, one logit; no activation after the
    convolutions. ``pool="valid"`` drops an odd last row/column (the baseline's Flax default),
    ``"same"`` keeps it (the quanvolutional network's)."""

    def __init__(
        self, in_channels: int, side: int, channels: tuple[int, int], kernel: int, pool: str
    ):
        super().__init__()
        self.ceil = pool == "same"
        lo = (kernel - 1) // 2  # Flax's SAME: any odd extra padding goes after
        self.pad = (lo, kernel - 1 - lo, lo, kernel - 1 - lo)
        self.conv1 = nn.Conv2d(in_channels, channels[0], kernel)
        self.conv2 = nn.Conv2d(channels[0], channels[1], kernel)
        half = (lambda n: -(-n // 2)) if self.ceil else (lambda n: n // 2)
        flat = channels[1] * half(half(side)) ** 2
        if flat == 0:
            raise ValueError(
                f"a {side}x{side} image is too small for two 2x2 max-pools; use images of at"
                " least 4x4"
            )
        self.fc1 = nn.Linear(flat, 2 * channels[1])
        self.fc2 = nn.Linear(2 * channels[1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = nn.functional.pad
        x = nn.functional.max_pool2d(self.conv1(pad(x, self.pad)), 2, ceil_mode=self.ceil)
        x = nn.functional.max_pool2d(self.conv2(pad(x, self.pad)), 2, ceil_mode=self.ceil)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))[:, 0]


def build_cnn(
    gen: torch.Generator, in_channels: int, side: int, channels: Any, kernel: int, pool: str
) -> StudyCNN:
    """A :class:`StudyCNN` in float64 whose initial weights come from ``gen`` (torch's default
    initialisation, without touching torch's global random state)."""
    chans = tuple(int(c) for c in channels)
    if len(chans) != 2 or min(chans) < 1:
        raise ValueError(f"output_channels must be two positive integers, got {channels!r}")
    torch_state = torch.get_rng_state()
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    try:
        net = StudyCNN(in_channels, side, chans, int(kernel), pool)  # type: ignore[arg-type]
    finally:
        torch.set_rng_state(torch_state)
    return net.to(torch.float64)


class ConvolutionalNeuralNetwork(LogitReadout, ZooClassifier):
    """The study's CNN baseline (Bowles, Ahmed & Schuld 2024, arXiv:2403.07059; its
    ``ConvolutionalNeuralNetwork``, a classical network of the LeNet kind): :class:`StudyCNN` with
    ``output_channels`` (32, 64) and ``kernel_shape`` x ``kernel_shape`` filters on the
    standardised image (times ``scaling``), one logit, sigmoid cross-entropy, the study's
    training rule. The flat features are read as a square image (rows first).

    Departures: torch's default initialisation (Flax's in the study); images below 4x4 are
    refused (two 2x2 pools leave nothing).
    """

    _preprocessing = "standard"

    def __init__(
        self,
        kernel_shape: int = 3,
        output_channels: tuple[int, int] = (32, 64),
        learning_rate: float = 0.001,
        batch_size: int = 32,
        max_steps: int = 10000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
    ):
        self.kernel_shape = kernel_shape
        self.output_channels = output_channels
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"ConvolutionalNeuralNetwork reads the features as a square image; {n_features}"
                " features are not a square number"
            )
        self.side_ = side
        self.net_ = build_cnn(gen, 1, side, self.output_channels, self.kernel_shape, "valid")
        return dict(self.net_.named_parameters())

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        images = X.reshape(X.shape[0], 1, self.side_, self.side_)
        return torch.func.functional_call(self.net_, dict(params), (images,))


__all__ = ["ConvolutionalNeuralNetwork", "StudyCNN", "build_cnn"]
