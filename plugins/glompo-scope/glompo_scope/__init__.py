"""glompo-scope: the live plot of a GloMPO run, and its movie.

>>> from glompo_scope import GloMPOScope  # doctest: +SKIP

A run uses it with ``setup(visualisation=True, visualisation_args={...})`` once the
distribution is installed (entry point ``scope = "glompo_scope.hooks"`` in group
``glompo``); the manager builds the scope and feeds it the run's events.

:class:`GloMPOScope` is imported lazily, so ``import glompo_scope`` does not import
matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from glompo_core import __version__

if TYPE_CHECKING:
    from glompo_scope.scope import MOVIE_NAME, GloMPOScope, ScopeError

__all__ = ["MOVIE_NAME", "GloMPOScope", "ScopeError", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("GloMPOScope", "ScopeError", "MOVIE_NAME"):
        from glompo_scope import scope

        return getattr(scope, name)
    raise AttributeError(f"module 'glompo_scope' has no attribute {name!r}")
