"""The models ``hqml compare`` knows, with the study's hyperparameter grids and small ``quick``
grids, and which model is the separable ablation of which (the "does entanglement matter"
table). Grids are those of the study's ``hyperparameter_settings.py``; the implementation
arguments there (``max_vmap``, ``batch_size`` fixed at 32) are left out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from ...kernels import zoo as kz
from ...nn import zoo


@dataclass(frozen=True)
class ModelSpec:
    """A model of the zoo: how to build it, its grids, its kind."""

    name: str
    factory: Callable[..., Any]
    paper_grid: dict[str, list[Any]]
    quick_grid: dict[str, list[Any]]
    classical: bool = False
    trained: bool = False  # trained by gradient steps (max_steps applies)
    separable_of: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)


_LR = [0.001, 0.01, 0.1]


_SPECS: list[ModelSpec] = [
    ModelSpec(
        "SVC",
        SVC,
        {"gamma": [0.001, 0.01, 0.1, 1], "C": [0.1, 1, 10, 100]},
        {"gamma": [0.1, 1], "C": [1, 10]},
        classical=True,
        defaults={"kernel": "rbf"},
    ),
    ModelSpec(
        "MLPClassifier",
        MLPClassifier,
        {
            "learning_rate_init": _LR,
            "hidden_layer_sizes": [(100,), (10, 10, 10, 10), (50, 10, 5)],
            "alpha": [0.01, 0.001, 0.0001],
        },
        {"hidden_layer_sizes": [(100,), (10, 10)], "learning_rate_init": [0.01]},
        classical=True,
        # the study's MLPClassifier; seeded like every other model (its search was unseeded)
        defaults={"batch_size": 32, "max_iter": 3000, "random_state": 42},
    ),
    ModelSpec(
        "ConvolutionalNeuralNetwork",
        zoo.ConvolutionalNeuralNetwork,
        {"learning_rate": [0.0001, 0.001, 0.01], "kernel_shape": [2, 3, 5]},
        {"learning_rate": [0.01]},
        classical=True,
        trained=True,
    ),
    ModelSpec(
        "IQPKernelClassifier",
        kz.IQPKernelClassifier,
        {"repeats": [1, 5, 10], "C": [0.1, 1, 10, 100]},
        {"repeats": [1, 2], "C": [1, 10]},
    ),
    ModelSpec(
        "ProjectedQuantumKernel",
        kz.ProjectedQuantumKernel,
        {
            "gamma_factor": [0.1, 1, 10],
            "C": [0.1, 1, 10, 100],
            "trotter_steps": [1, 3, 5],
            "t": [0.01, 0.1, 1.0],
        },
        {"gamma_factor": [1], "C": [1, 10], "trotter_steps": [1]},
    ),
    ModelSpec(
        "SeparableKernelClassifier",
        kz.SeparableKernelClassifier,
        {"C": [0.1, 1, 10, 100], "encoding_layers": [1, 3, 5, 10]},
        {"C": [1, 10], "encoding_layers": [1]},
        separable_of="IQPKernelClassifier",
    ),
    ModelSpec(
        "QuantumKitchenSinks",
        zoo.QuantumKitchenSinks,
        {"n_qfeatures": ["full", "half"], "n_episodes": [10, 100, 500, 2000]},
        {"n_episodes": [20]},
    ),
    ModelSpec(
        "IQPVariationalClassifier",
        zoo.IQPVariationalClassifier,
        {"learning_rate": _LR, "repeats": [1, 5, 10], "n_layers": [1, 5, 10, 15]},
        {"learning_rate": [0.1], "n_layers": [1]},
        trained=True,
    ),
    ModelSpec(
        "SeparableVariationalClassifier",
        zoo.SeparableVariationalClassifier,
        {"learning_rate": _LR, "encoding_layers": [1, 3, 5, 10]},
        {"learning_rate": [0.1], "encoding_layers": [1]},
        trained=True,
        separable_of="IQPVariationalClassifier",
    ),
    ModelSpec(
        "DataReuploadingClassifier",
        zoo.DataReuploadingClassifier,
        {
            "learning_rate": _LR,
            "n_layers": [1, 5, 10, 15],
            "observable_type": ["single", "half", "full"],
        },
        {"learning_rate": [0.1], "n_layers": [1]},
        trained=True,
    ),
    ModelSpec(
        "DataReuploadingClassifierSeparable",
        zoo.DataReuploadingClassifierSeparable,
        {
            "learning_rate": _LR,
            "n_layers": [1, 5, 10, 15],
            "observable_type": ["single", "half", "full"],
        },
        {"learning_rate": [0.1], "n_layers": [1]},
        trained=True,
        separable_of="DataReuploadingClassifier",
    ),
    *[
        ModelSpec(
            name,
            getattr(zoo, name),
            {
                "learning_rate": _LR,
                "n_layers": [1, 5, 10, 15],
                "observable_type": ["single", "half", "full"],
            },
            {"learning_rate": [0.1], "n_layers": [1]},
            trained=True,
        )
        for name in (
            "DataReuploadingClassifierNoScaling",
            "DataReuploadingClassifierNoTrainableEmbedding",
            "DataReuploadingClassifierNoCost",
        )
    ],
    ModelSpec(
        "DressedQuantumCircuitClassifier",
        zoo.DressedQuantumCircuitClassifier,
        {"learning_rate": _LR, "n_layers": [1, 5, 10, 15]},
        {"learning_rate": [0.1], "n_layers": [1]},
        trained=True,
    ),
    ModelSpec(
        "DressedQuantumCircuitClassifierSeparable",
        zoo.DressedQuantumCircuitClassifierSeparable,
        {"learning_rate": _LR, "n_layers": [1, 5, 10, 15]},
        {"learning_rate": [0.1], "n_layers": [1]},
        trained=True,
        separable_of="DressedQuantumCircuitClassifier",
    ),
    *[
        ModelSpec(
            name,
            getattr(zoo, name),
            {
                "learning_rate": _LR,
                "visible_qubits": ["single", "half", "full"],
                "temperature": [1, 10, 100],
            },
            {"learning_rate": [0.1], "temperature": [1]},
            trained=True,
            separable_of=of,
            defaults={"shared_coupling": True},  # the study's code: one weight for all pairs
        )
        for name, of in (
            ("QuantumBoltzmannMachine", None),
            ("QuantumBoltzmannMachineSeparable", "QuantumBoltzmannMachine"),
        )
    ],
    ModelSpec(
        "QuantumMetricLearner",
        zoo.QuantumMetricLearner,
        {"learning_rate": _LR, "n_layers": [1, 3, 4]},
        {"learning_rate": [0.1], "n_layers": [1]},
        trained=True,
        # the study's code: matched pairs (a_i, b_i) only, a batch of 16 pairs (its grid)
        defaults={"pairs": "matched", "batch_size": 16},
    ),
    ModelSpec(
        "QuanvolutionalNeuralNetwork",
        zoo.QuanvolutionalNeuralNetwork,
        {
            "learning_rate": [0.0001, 0.001, 0.01],
            "n_qchannels": [1, 5, 10],
            "qkernel_shape": [2, 3],
            "kernel_shape": [2, 3, 5],
        },
        {"learning_rate": [0.01], "n_qchannels": [1], "qkernel_shape": [2]},
        trained=True,
    ),
    ModelSpec(
        "WeiNet",
        zoo.WeiNet,
        {
            "learning_rate": [0.0001, 0.001, 0.01],
            "filter_name": ["edge_detect", "smooth", "sharpen"],
        },
        {"learning_rate": [0.01]},
        trained=True,
        defaults={"diagonal_shifts": True},  # the study's code: the same shift on both axes
    ),
    ModelSpec(
        "TreeTensorClassifier",
        zoo.TreeTensorClassifier,
        {"learning_rate": _LR},
        {"learning_rate": [0.1]},
        trained=True,
    ),
    ModelSpec(
        "CircuitCentricClassifier",
        zoo.CircuitCentricClassifier,
        {"learning_rate": _LR, "n_input_copies": [1, 2, 3], "n_layers": [1, 5, 10]},
        {"learning_rate": [0.1], "n_input_copies": [1], "n_layers": [1]},
        trained=True,
    ),
]


MODELS: dict[str, ModelSpec] = {s.name: s for s in _SPECS}

IMAGE_MODELS = (
    "ConvolutionalNeuralNetwork",
    "WeiNet",
    "QuanvolutionalNeuralNetwork",
)  # read square images: bars and stripes


def get_model(name: str) -> ModelSpec:
    """The spec of a model by name (one-line error listing the known names)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; hqml compare knows {sorted(MODELS)}")
    return MODELS[name]


__all__ = ["ModelSpec", "MODELS", "IMAGE_MODELS", "get_model"]
