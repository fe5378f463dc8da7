"""``hqml compare``: the qml-benchmarks study's protocol (grid search, refits over seeds) on
models of :mod:`hqml.nn.zoo` / :mod:`hqml.kernels.zoo` and the study's datasets.

>>> from hqml.experiment.compare import quick_config
>>> quick_config().n_trials
24
"""

from .config import CompareConfig, load_config, quick_config
from .registry import MODELS, ModelSpec, get_model
from .report import write_report
from .runner import load_results, run_compare, run_trial

__all__ = [
    "CompareConfig",
    "load_config",
    "quick_config",
    "MODELS",
    "ModelSpec",
    "get_model",
    "run_compare",
    "run_trial",
    "load_results",
    "write_report",
]
