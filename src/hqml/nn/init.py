"""Initialisation strategies for a circuit's weights.

An initialiser is ``init(name, shape, generator) -> float64 tensor``. Built in:

- ``"uniform"``: uniform in ``[0, 2 pi)``;
- ``"normal"``: small normal, ``N(0, 0.1^2)`` (near the identity for rotation gates);
- ``"identity_block"`` (Grant et al. 2019): for weights of shape ``(blocks, 2, ...)`` as built
  by :func:`hqml.circuit.templates.identity_blocks`, ``w[:, 0]`` uniform in ``[0, 2 pi)`` and
  ``w[:, 1] = w[:, 0]``, so every block ``V(a) V(b)^dagger`` starts as the identity;
- ``"small_angle"``: uniform in ``[-0.1, 0.1]`` (every rotation near the identity, so the
  circuit starts far from a 2-design and its gradients are large);
- ``"zeros"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Initializer = Callable[[str, tuple[int, ...], torch.Generator], torch.Tensor]


def uniform_init(name: str, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, generator=generator, dtype=torch.float64) * (2 * math.pi)


def normal_init(
    name: str, shape: tuple[int, ...], generator: torch.Generator, std: float = 0.1
) -> torch.Tensor:
    return torch.randn(shape, generator=generator, dtype=torch.float64) * std


SMALL_ANGLE = 0.1


def small_angle_init(
    name: str, shape: tuple[int, ...], generator: torch.Generator, scale: float = SMALL_ANGLE
) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * scale


def zeros_init(name: str, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return torch.zeros(shape, dtype=torch.float64)


def identity_block_init(
    name: str, shape: tuple[int, ...], generator: torch.Generator
) -> torch.Tensor:
    if len(shape) < 2 or shape[1] != 2:
        raise ValueError(
            f"init='identity_block' needs weight '{name}' of shape (blocks, 2, ...), got"
            f" {shape}; build the circuit with hqml.circuit.templates.identity_blocks"
        )
    half = uniform_init(name, (shape[0],) + shape[2:], generator)
    return torch.stack([half, half], dim=1)


INITIALIZERS: dict[str, Initializer] = {
    "uniform": uniform_init,
    "normal": normal_init,
    "identity_block": identity_block_init,
    "small_angle": small_angle_init,
    "zeros": zeros_init,
}


def get_initializer(init: str | Initializer) -> Initializer:
    """The initialiser for a name in :data:`INITIALIZERS`, or ``init`` itself when callable."""
    if callable(init):
        return init
    if init not in INITIALIZERS:
        raise ValueError(
            f"unknown init {init!r}; choose one of {sorted(INITIALIZERS)} or pass a"
            " callable init(name, shape, generator) -> tensor"
        )
    return INITIALIZERS[init]
