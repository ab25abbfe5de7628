"""GloMPO hook implementations of glompo-compass (the ``compass`` entry point of group ``glompo``).

This module is what the entry point names, so GloMPO imports it whenever it builds its
plugin registry (on every ``glompo`` command and every run). Keep it to ``@hookimpl``
functions. Each registration hook imports its component inside the function: that
costs nothing here (numpy only), but it is the habit to keep when a component needs a
heavy library, so that merely listing plugins never imports it.
"""

from __future__ import annotations

from collections.abc import Callable

from glompo_core import hookimpl

__all__ = ["glompo_register_generators", "glompo_register_loggers", "glompo_register_optimizers",
           "glompo_register_stoppers"]


@hookimpl
def glompo_register_optimizers(register: Callable[..., None]) -> None:
    """Register :class:`~glompo_compass.optimizer.CompassSearch` (alias ``compass``)."""
    from glompo_compass.optimizer import CompassSearch

    register("CompassSearch", CompassSearch, aliases=("compass",))


@hookimpl
def glompo_register_stoppers(register: Callable[..., None]) -> None:
    """Register :class:`~glompo_compass.stopper.StallSeconds`."""
    from glompo_compass.stopper import StallSeconds

    register("StallSeconds", StallSeconds)


@hookimpl
def glompo_register_generators(register: Callable[..., None]) -> None:
    """Register :class:`~glompo_compass.generator.LatinHypercubeGenerator`."""
    from glompo_compass.generator import LatinHypercubeGenerator

    register("LatinHypercubeGenerator", LatinHypercubeGenerator)


@hookimpl
def glompo_register_loggers(register: Callable[..., None]) -> None:
    """Register :class:`~glompo_compass.logger.JSONLinesLogger`."""
    from glompo_compass.logger import JSONLinesLogger

    register("JSONLinesLogger", JSONLinesLogger)
