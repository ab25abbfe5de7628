"""GloMPO hook implementations of glompo-dask (the ``dask`` entry point of group ``glompo``).

Only ``@hookimpl`` functions live here. Importing this module imports neither
:mod:`dask` nor :mod:`distributed` nor :mod:`glompo_dask.backend`: the backend class
is imported when the registration hook runs.
"""

from __future__ import annotations

from collections.abc import Callable

from glompo_core import hookimpl

__all__ = ["glompo_register_backends"]


@hookimpl
def glompo_register_backends(register: Callable[..., None]) -> None:
    """Register :class:`~glompo_dask.backend.DaskBackend` as the ``dask`` backend."""
    from glompo_dask.backend import DaskBackend

    register("dask", DaskBackend)
