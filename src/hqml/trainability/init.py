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
from ..execute import probs
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
    if init == "identity_block":
        _check_identity(circuit, out)
    return out


def _check_identity(circuit: Circuit, params: dict[str, torch.Tensor]) -> None:
    """Refuse ``init="identity_block"`` on a circuit whose drawn parameters do not make it the
    identity (a weight of shape ``(blocks, 2, ...)`` that :func:`identity_blocks` did not
    build): its first parameter set must leave ``|0...0>`` unchanged. Circuits with data inputs
    or over 12 qubits are not checked."""
    if circuit.inputs or circuit.n_qubits > 12:
        return
    first = {k: v[0] for k, v in params.items()}
    p0 = float(probs(circuit, weights=first, dtype=torch.complex128)[0])
    if abs(p0 - 1.0) > 1e-9:
        raise ValueError(
            "init='identity_block' does not make this circuit the identity (|0...0> kept with"
            f" probability {p0:.3g}); build it with hqml.circuit.templates.identity_blocks"
        )


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
