"""Initialisation strategies against barren plateaus, and random parameter sets for the
diagnostics.

The per-weight initialisers live in :mod:`hqml.nn.init` (``"uniform"``, ``"normal"``,
``"small_angle"``, ``"identity_block"`` for circuits built by
:func:`hqml.circuit.templates.identity_blocks`, ``"zeros"``); this module draws many parameter
sets at once and warm-starts a deeper circuit from a trained shallower one.
"""

from __future__ import annotations

from typing import Any

import torch

from ..circuit.circuit import Circuit
from ..nn.init import get_initializer, small_angle_init


def sample_parameters(
    circuit: Circuit, n_samples: int, init: Any = "uniform", seed: int = 0
) -> dict[str, torch.Tensor]:
    """``n_samples`` parameter sets for the weights of ``circuit``: ``name -> (n, *shape)``
    float64, drawn by ``init`` (a name of ``hqml.nn.INITIALIZERS`` or a callable) from one
    generator seeded with ``seed``.

    >>> from hqml.circuit.templates import hardware_efficient
    >>> sample_parameters(hardware_efficient(2, 1), 5)["w"].shape
    torch.Size([5, 1, 2, 2])
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    fn = get_initializer(init)
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, arr in circuit.weights.items():
        shape = tuple(arr.shape)
        # one call per sample: initialisers know the weight's own shape (identity blocks do)
        out[name] = torch.stack(
            [torch.as_tensor(fn(name, shape, gen), dtype=torch.float64) for _ in range(n_samples)]
        )
    return out


def warm_start(
    trained: torch.Tensor, shape: tuple[int, ...], seed: int = 0, init: Any = small_angle_init
) -> torch.Tensor:
    """Layer-wise warm start: a weight of ``shape`` (layers first) whose first layers are the
    ``trained`` ones and whose new layers are drawn by ``init`` (small angles by default, so the
    new layers start near the identity for rotation gates).

    >>> warm_start(torch.ones(2, 3), (4, 3))[:, 0].tolist()[:2]
    [1.0, 1.0]
    """
    trained = torch.as_tensor(trained, dtype=torch.float64)
    if trained.shape[1:] != tuple(shape[1:]) or trained.shape[0] > shape[0]:
        raise ValueError(
            f"warm_start: trained weights of shape {tuple(trained.shape)} do not"
            f" fit the leading layers of shape {tuple(shape)}"
        )
    fresh = torch.as_tensor(
        get_initializer(init)("w", tuple(shape), torch.Generator().manual_seed(seed)),
        dtype=torch.float64,
    ).clone()
    fresh[: trained.shape[0]] = trained
    return fresh


__all__ = ["sample_parameters", "warm_start"]
