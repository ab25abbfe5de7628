"""Child optimizers: the :class:`BaseOptimizer` contract and the built-in RandomOptimizer."""

from glompo_core.optimizers.baseoptimizer import BaseOptimizer, evaluate_population
from glompo_core.optimizers.random import RandomOptimizer
from glompo_core.result import MinimizeResult

__all__ = ["BaseOptimizer", "MinimizeResult", "RandomOptimizer", "evaluate_population"]
