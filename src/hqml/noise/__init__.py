"""Noise: channels (Kraus operators), readout errors and noise models.

Simulate with ``backend="density_matrix"`` (exact, differentiable) or ``"statevector"``
(Monte Carlo trajectories) by passing ``noise_model=`` to ``hqml.expval/probs/sample``.
"""

from .channels import (
    Channel,
    ReadoutError,
    amplitude_damping,
    bit_flip,
    depolarizing,
    kraus_from_choi,
    pauli_channel,
    pauli_labels,
    pauli_matrix,
    phase_damping,
    phase_flip,
    thermal_relaxation,
)
from .model import NOISELESS_GATES, NoiseModel, NoiseRule

__all__ = [
    "Channel",
    "ReadoutError",
    "NoiseModel",
    "NoiseRule",
    "NOISELESS_GATES",
    "depolarizing",
    "bit_flip",
    "phase_flip",
    "pauli_channel",
    "amplitude_damping",
    "phase_damping",
    "thermal_relaxation",
    "kraus_from_choi",
    "pauli_labels",
    "pauli_matrix",
]
