"""Generators: where each new optimizer starts."""

from glompo_core.generators._annealing import AnnealingGenerator
from glompo_core.generators._basinhopping import BasinHoppingGenerator
from glompo_core.generators._exploitexplore import ExploitExploreGenerator
from glompo_core.generators._incumbent import IncumbentGenerator
from glompo_core.generators._perturbation import PerturbationGenerator
from glompo_core.generators._random import RandomGenerator
from glompo_core.generators._single import SinglePointGenerator
from glompo_core.generators.basegenerator import BaseGenerator

__all__ = [  # noqa: RUF022 - base class first, then in documentation order
    "BaseGenerator",
    "RandomGenerator",
    "SinglePointGenerator",
    "IncumbentGenerator",
    "PerturbationGenerator",
    "AnnealingGenerator",
    "ExploitExploreGenerator",
    "BasinHoppingGenerator",
]
