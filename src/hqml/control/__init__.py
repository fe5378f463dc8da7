"""Reinforcement-learning calibration of a simulated transmon (needs the ``control`` extra).

>>> from hqml.control import CalibrationTask, TransmonCalibrationEnv, PPOCalibrator
"""

from .calibrate import (
    PPOCalibrator,
    Trace,
    fixed_pulse_under_drift,
    miscalibrated,
    nelder_mead,
    with_drift,
)
from .coarse import DeviceFit, best_action
from .env import CalibrationTask, TransmonCalibrationEnv
from .tracking import FeedbackCalibrator, FeedbackEnv
from .transmon import (
    RAMSEY,
    SEQUENCES,
    TRACKING,
    Pulse,
    Transmon,
    average_gate_fidelity,
    gate_fidelity,
    pulse_unitary,
    sequence_probabilities,
)

__all__ = [
    "RAMSEY",
    "SEQUENCES",
    "TRACKING",
    "CalibrationTask",
    "DeviceFit",
    "FeedbackCalibrator",
    "FeedbackEnv",
    "PPOCalibrator",
    "Pulse",
    "Trace",
    "Transmon",
    "TransmonCalibrationEnv",
    "average_gate_fidelity",
    "best_action",
    "fixed_pulse_under_drift",
    "gate_fidelity",
    "miscalibrated",
    "nelder_mead",
    "pulse_unitary",
    "sequence_probabilities",
    "with_drift",
]
