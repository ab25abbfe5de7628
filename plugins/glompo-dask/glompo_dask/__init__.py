"""glompo-dask: run GloMPO's function evaluations on a Dask cluster.

>>> from glompo_dask import DaskBackend  # doctest: +SKIP

Runs select it with ``backend='dask'`` (and ``backend_kwargs``) once the distribution
is installed (entry point ``dask = "glompo_dask.hooks"`` in group ``glompo``).

:class:`DaskBackend` is imported lazily, so ``import glompo_dask`` does not import
:mod:`distributed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from glompo_core import __version__

if TYPE_CHECKING:
    from glompo_dask.backend import DaskBackend

__all__ = ["DaskBackend", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "DaskBackend":
        from glompo_dask.backend import DaskBackend

        return DaskBackend
    raise AttributeError(f"module 'glompo_dask' has no attribute {name!r}")
