"""The ``hqml run`` job: config, models, training loop, parameter-matched baseline, report."""

from .config import ConfigError, RunConfig, load_config, parse_config
from .models import MatchedMLP, build_baseline, build_circuit, build_hybrid
from .runner import run_experiment
from .train import History, evaluate, train

__all__ = [
    "RunConfig",
    "ConfigError",
    "load_config",
    "parse_config",
    "build_hybrid",
    "build_baseline",
    "build_circuit",
    "MatchedMLP",
    "run_experiment",
    "train",
    "evaluate",
    "History",
]
