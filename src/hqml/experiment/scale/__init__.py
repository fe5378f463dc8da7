"""``hqml scale``: how a hybrid model scales along named axes (layers, qubits, input
dimension, dataset size, backend, noise), with thresholds, a report and provenance. See
docs/scale.md."""

from .config import ScaleConfig, ScaleSettings, load_scale_config, point_key
from .point import run_point
from .study import run_scale

__all__ = [
    "ScaleConfig",
    "ScaleSettings",
    "load_scale_config",
    "point_key",
    "run_point",
    "run_scale",
]
