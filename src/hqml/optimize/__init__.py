"""QUBO problems and solvers: formulations, exact / annealing / tabu / QAOA solvers, the router.

dimod's ``BinaryQuadraticModel`` is the exchange format; ``solve`` picks a solver and falls back
when one fails, times out or returns an infeasible answer.
"""

from .exact import SolverTimeout, exact_minimize
from .formulations import (
    BayesNetStructure,
    FeatureSelection,
    Formulation,
    Knapsack,
    MaxCut,
    PortfolioSelection,
)
from .router import Attempt, Solution, SolveError, plan, solve
from .selector import QUBOFeatureSelector
from .solvers import SOLVERS

__all__ = [
    "solve",
    "plan",
    "Solution",
    "Attempt",
    "SolveError",
    "SolverTimeout",
    "SOLVERS",
    "exact_minimize",
    "Formulation",
    "MaxCut",
    "Knapsack",
    "PortfolioSelection",
    "FeatureSelection",
    "BayesNetStructure",
    "QUBOFeatureSelector",
]
