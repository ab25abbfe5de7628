"""Selectors: which kind of optimizer starts next, and spawn controls that end spawning."""

from glompo_core.selectors._adaptive import AdaptiveSelector
from glompo_core.selectors._chain import ChainSelector
from glompo_core.selectors._cycle import CycleSelector
from glompo_core.selectors._iterspawnstop import IterSpawnStop
from glompo_core.selectors._noptimizersspawnstop import NOptimizersSpawnStop
from glompo_core.selectors._random import RandomSelector
from glompo_core.selectors.baseselector import BaseSelector, OptimizerSpec, SpawnControl

__all__ = [  # noqa: RUF022 - base classes first, then in documentation order
    "BaseSelector",
    "SpawnControl",
    "OptimizerSpec",
    "CycleSelector",
    "RandomSelector",
    "ChainSelector",
    "AdaptiveSelector",
    "IterSpawnStop",
    "NOptimizersSpawnStop",
]
