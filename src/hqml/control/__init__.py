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
from .env import CalibrationTask, TransmonCalibrationEnv
from .tracking import FeedbackCalibrator, FeedbackEnv
from .transmon import (
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
    "SEQUENCES",
    "TRACKING",
    "CalibrationTask",
    "FeedbackCalibrator",
    "FeedbackEnv",
    "PPOCalibrator",
    "Pulse",
    "Trace",
    "Transmon",
    "TransmonCalibrationEnv",
    "average_gate_fidelity",
    "fixed_pulse_under_drift",
    "gate_fidelity",
    "miscalibrated",
    "nelder_mead",
    "pulse_unitary",
    "sequence_probabilities",
    "with_drift",
]
