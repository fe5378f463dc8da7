"""Classical baselines of the study that scikit-learn does not ship: a small convolutional
network in torch, as a scikit-learn classifier. (The study's other baselines are scikit-learn's
``SVC`` with an RBF kernel and ``MLPClassifier``, used as they are.)"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .base import ZooClassifier


class _CNN(nn.Module):
    def __init__(self, side: int, channels: int, kernel_size: int, hidden: int):
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv2d(1, channels, kernel_size, padding=pad)
        self.conv2 = nn.Conv2d(channels, 2 * channels, kernel_size, padding=pad)
        flat = 2 * channels * (side // 4) ** 2 if side >= 4 else 2 * channels * side**2
        self.pool = side >= 4
        self.fc1 = nn.Linear(flat, hidden)
        self.fc2 = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        if self.pool:
            x = nn.functional.max_pool2d(x, 2)
        x = torch.relu(self.conv2(x))
        if self.pool:
            x = nn.functional.max_pool2d(x, 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


class ConvolutionalNeuralNetwork(ZooClassifier):
    """A small CNN baseline in the spirit of the study's ``ConvolutionalNeuralNetwork`` (two
    convolution + max-pool blocks, a dense hidden layer, two logits, softmax cross-entropy;
    standardised inputs), trained with the study's rule.

    The flat features are read as a square ``side x side`` image (their number must be a
    square, as for bars and stripes). Departures: the study's network is written in Flax with
    its own layer widths; here ``channels`` / ``hidden`` set the widths and pooling is skipped
    for images smaller than 4x4.
    """

    _preprocessing = "standard"

    def __init__(
        self,
        channels: int = 4,
        kernel_size: int = 3,
        hidden: int = 16,
        learning_rate: float = 0.001,
        batch_size: int = 32,
        max_steps: int = 10000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
    ):
        self.channels = channels
        self.kernel_size = kernel_size
        self.hidden = hidden
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
        torch_state = torch.get_rng_state()
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        try:
            self.net_ = _CNN(side, int(self.channels), int(self.kernel_size), int(self.hidden))
        finally:
            torch.set_rng_state(torch_state)
        self.net_ = self.net_.to(torch.float64)
        return dict(self.net_.named_parameters())

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        images = X.reshape(X.shape[0], 1, self.side_, self.side_)
        return torch.func.functional_call(self.net_, dict(params), (images,))

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        return nn.functional.cross_entropy(out, (y > 0).long())

    def _positive_probability(self, out: torch.Tensor) -> torch.Tensor:
        return torch.softmax(out, dim=1)[:, 1]

    def _score(self, out: torch.Tensor) -> torch.Tensor:
        return out[:, 1] - out[:, 0]


__all__ = ["ConvolutionalNeuralNetwork"]
