"""GloMPO hook implementations of glompo-scope (the ``scope`` entry point of group ``glompo``).

Only ``@hookimpl`` functions live here. Importing this module imports neither
matplotlib nor :mod:`glompo_scope.scope`: the scope is imported when a run asks for
it (``setup(visualisation=True)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from glompo_core import hookimpl

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView
    from glompo_scope.scope import GloMPOScope

__all__ = ["glompo_create_visualisation"]


@hookimpl
def glompo_create_visualisation(manager: ManagerView, settings: dict[str, Any]) -> GloMPOScope:
    """Build the run's :class:`~glompo_scope.scope.GloMPOScope` from ``visualisation_args``."""
    from glompo_scope.scope import GloMPOScope

    return GloMPOScope(**settings)
