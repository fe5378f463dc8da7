"""The model zoo of the qml-benchmarks study (Bowles, Ahmed & Schuld 2024, "Better than
classical?"), as scikit-learn classifiers trained on hqml's simulator with the study's rule.

Kernel models (IQP kernel, projected quantum kernel, separable kernel) live in
:mod:`hqml.kernels.zoo`; docs/model_zoo.md lists every model with its paper and departures.

Departures in training shared by every trained model (the ones each model's docstring refers
to): a run that does not converge by ``max_steps`` warns instead of raising (the study raised,
so its grid search scored that setting as failed); initial weights and batches are drawn from a
torch generator seeded by ``random_state``, so the numbers differ from the study's JAX keys.
"""

from .base import MAX_QUBITS, ZooClassifier
from .boltzmann import QuantumBoltzmannMachine, QuantumBoltzmannMachineSeparable
from .classical import ConvolutionalNeuralNetwork
from .kitchen_sinks import QuantumKitchenSinks
from .metric_learning import QuantumMetricLearner
from .quanvolutional import QuanvolutionalNeuralNetwork
from .reuploading import (
    DataReuploadingClassifier,
    DataReuploadingClassifierNoCost,
    DataReuploadingClassifierNoScaling,
    DataReuploadingClassifierNoTrainableEmbedding,
    DataReuploadingClassifierSeparable,
)
from .training import TrainingResult, loss_is_flat, train_until_flat
from .variational import (
    CircuitCentricClassifier,
    DressedQuantumCircuitClassifier,
    DressedQuantumCircuitClassifierSeparable,
    IQPVariationalClassifier,
    SeparableVariationalClassifier,
    TreeTensorClassifier,
)
from .weinet import WeiNet

__all__ = [
    "ZooClassifier",
    "MAX_QUBITS",
    "train_until_flat",
    "loss_is_flat",
    "TrainingResult",
    "IQPVariationalClassifier",
    "DressedQuantumCircuitClassifier",
    "DressedQuantumCircuitClassifierSeparable",
    "CircuitCentricClassifier",
    "SeparableVariationalClassifier",
    "TreeTensorClassifier",
    "DataReuploadingClassifier",
    "DataReuploadingClassifierNoCost",
    "DataReuploadingClassifierNoScaling",
    "DataReuploadingClassifierNoTrainableEmbedding",
    "DataReuploadingClassifierSeparable",
    "QuantumKitchenSinks",
    "QuantumBoltzmannMachine",
    "QuantumBoltzmannMachineSeparable",
    "ConvolutionalNeuralNetwork",
    "WeiNet",
    "QuantumMetricLearner",
    "QuanvolutionalNeuralNetwork",
]
