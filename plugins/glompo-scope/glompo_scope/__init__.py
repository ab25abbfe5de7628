"""glompo-scope: the live plot of a GloMPO run, and its movie.

>>> from glompo_scope import GloMPOScope  # doctest: +SKIP

A run uses it with ``setup(visualisation=True, visualisation_args={...})`` once the
distribution is installed (entry point ``scope = "glompo_scope.hooks"`` in group
``glompo``); the manager builds the scope and feeds it the run's events.

:class:`GloMPOScope` is imported lazily, so ``import glompo_scope`` does not import
matplotlib (nor does ``from glompo_scope import ScopeError, MOVIE_NAME``).

The package's modules: :mod:`glompo_scope.scope` (the class and its hooks),
``_plot`` (the live plot), ``_trajectories`` (the data of the trajectories), ``_canvas``
(the figure), ``_movie`` (the movie writer), ``_checkpoint`` (the checkpoint files),
``_settings`` (validated settings), ``_common`` (error, movie name, logger) and
:mod:`glompo_scope.hooks` (the entry point).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from glompo_core import __version__

if TYPE_CHECKING:
    from glompo_scope._common import MOVIE_NAME, ScopeError
    from glompo_scope.scope import GloMPOScope

__all__ = ["MOVIE_NAME", "GloMPOScope", "ScopeError", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "GloMPOScope":
        from glompo_scope.scope import GloMPOScope

        return GloMPOScope
    if name in ("ScopeError", "MOVIE_NAME"):  # these need no matplotlib
        from glompo_scope import _common

        return getattr(_common, name)
    raise AttributeError(f"module 'glompo_scope' has no attribute {name!r}")
