"""Variational algorithms: VQE, ADAPT-VQE, QAOA, QCBM, and the optimiser loop they share."""

from .adapt import AdaptIteration, AdaptVQE, AdaptVQEResult, PoolOperator
from .adapt_pools import fermionic_pool, minimal_complete_pool, qubit_excitation_pool
from .ising import bqm_to_pauli, diagonal_energies, pauli_to_bqm, pauli_to_ising
from .optimizers import METHODS, MinimizeResult, minimize
from .qaoa import QAOA, QAOAResult
from .qaoa_angle_net import AngleNetwork
from .qaoa_angles import AngleRegressor, Graph, compare_initialisations, optimised_angles
from .qcbm import QCBM, QCBMResult, bars_and_stripes
from .vqe import VQE, VQEResult

__all__ = [
    "AdaptVQE",
    "AdaptVQEResult",
    "AdaptIteration",
    "PoolOperator",
    "fermionic_pool",
    "qubit_excitation_pool",
    "minimal_complete_pool",
    "VQE",
    "VQEResult",
    "QAOA",
    "QAOAResult",
    "AngleRegressor",
    "AngleNetwork",
    "Graph",
    "compare_initialisations",
    "optimised_angles",
    "QCBM",
    "QCBMResult",
    "bars_and_stripes",
    "METHODS",
    "MinimizeResult",
    "minimize",
    "bqm_to_pauli",
    "diagonal_energies",
    "pauli_to_bqm",
    "pauli_to_ising",
]
