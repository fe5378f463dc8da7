"""QUBO formulations: each builds a BINARY dimod BQM and decodes samples to domain answers."""

from .base import Formulation
from .bayesnet import BayesNetStructure, Structure, bic_local_score
from .feature_selection import FeatureSelection, mutual_information_matrix
from .knapsack import Knapsack, Packing
from .maxcut import Cut, MaxCut
from .portfolio import Portfolio, PortfolioSelection

__all__ = [
    "Formulation",
    "MaxCut",
    "Cut",
    "Knapsack",
    "Packing",
    "PortfolioSelection",
    "Portfolio",
    "FeatureSelection",
    "mutual_information_matrix",
    "BayesNetStructure",
    "Structure",
    "bic_local_score",
]
