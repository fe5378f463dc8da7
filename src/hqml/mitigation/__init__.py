"""Error mitigation: zero-noise extrapolation, readout mitigation, probabilistic error cancellation.

Each works around an expectation-value function (``circuit -> tensor``) or wraps a backend, so
training loops and variational algorithms use them unchanged.
"""

from .extrapolation import EXTRAPOLATIONS, Fit, extrapolate
from .folding import FOLDING_METHODS, actual_scale_factor, fold, fold_gates, fold_global, fold_mask
from .pec import PEC, PECBackend, PECResult, represent
from .readout import ReadoutMitigatedBackend, ReadoutMitigator, project_to_simplex
from .zne import ZNE, ZNEBackend, ZNEResult, execute_with_zne

__all__ = [
    "ZNE",
    "ZNEBackend",
    "ZNEResult",
    "execute_with_zne",
    "extrapolate",
    "Fit",
    "EXTRAPOLATIONS",
    "fold",
    "fold_global",
    "fold_gates",
    "fold_mask",
    "actual_scale_factor",
    "FOLDING_METHODS",
    "ReadoutMitigator",
    "ReadoutMitigatedBackend",
    "project_to_simplex",
    "PEC",
    "PECBackend",
    "PECResult",
    "represent",
]
