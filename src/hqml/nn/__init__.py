"""PyTorch modules: :class:`QuantumLayer`, the split patterns of hybrid models, quanvolution.

>>> import torch, hqml
>>> from hqml.circuit.templates import angle_encoding, hardware_efficient
>>> layer = QuantumLayer(angle_encoding(3).compose(hardware_efficient(3, 2)),
...                      [hqml.Z(i) for i in range(3)], seed=0)
>>> model = torch.nn.Sequential(torch.nn.Linear(5, 3), layer, torch.nn.Linear(3, 2))
>>> model(torch.rand(4, 5)).shape
torch.Size([4, 2])
"""

from .init import INITIALIZERS, get_initializer, identity_block_init, normal_init, uniform_init
from .layer import QuantumLayer, count_parameters
from .patterns import (
    AmplitudeEncoded,
    DressedQuantumLayer,
    PCAReduction,
    QuantumClassifier,
    QuantumFeatureModel,
    QuantumHead,
    QuantumKitchenSinks,
    angle_squash,
)
from .quanvolution import Quanvolution2d, default_quanv_circuit
from .search import (
    Architecture,
    LayerGene,
    SearchResult,
    evolutionary_search,
    fixed_ansatz,
    seed_accuracies,
)

__all__ = [
    "QuantumLayer",
    "AmplitudeEncoded",
    "count_parameters",
    "INITIALIZERS",
    "get_initializer",
    "uniform_init",
    "normal_init",
    "identity_block_init",
    "QuantumFeatureModel",
    "QuantumKitchenSinks",
    "PCAReduction",
    "QuantumHead",
    "DressedQuantumLayer",
    "QuantumClassifier",
    "angle_squash",
    "Quanvolution2d",
    "default_quanv_circuit",
    "Architecture",
    "LayerGene",
    "SearchResult",
    "evolutionary_search",
    "fixed_ansatz",
    "seed_accuracies",
]
