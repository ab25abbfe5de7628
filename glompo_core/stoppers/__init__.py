"""Stoppers: conditions under which the manager stops an optimizer.

Combine them with ``&`` and ``|``; each reads the run's evaluation log.
"""

from glompo_core.stoppers._best_unmoving import BestUnmoving
from glompo_core.stoppers._evaluations_unmoving import EvaluationsUnmoving
from glompo_core.stoppers._last_points_invalid import LastPointsInvalid
from glompo_core.stoppers._min_func_calls import MinFuncCalls
from glompo_core.stoppers._parameter_distance import ParameterDistance
from glompo_core.stoppers._step_size import StepSize
from glompo_core.stoppers._time_annealing import TimeAnnealing
from glompo_core.stoppers._type_stopper import TypeStopper
from glompo_core.stoppers._value_annealing import ValueAnnealing
from glompo_core.stoppers.basestopper import BaseStopper

__all__ = [
    "BaseStopper",
    "BestUnmoving",
    "EvaluationsUnmoving",
    "LastPointsInvalid",
    "MinFuncCalls",
    "ParameterDistance",
    "StepSize",
    "TimeAnnealing",
    "TypeStopper",
    "ValueAnnealing",
]
