"""glompo-dashboard: a live web page of a GloMPO run, and of a finished run's files.

``Dashboard`` (the live page's observer) is imported lazily: ``import glompo_dashboard``
imports neither starlette nor uvicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from glompo_dashboard.live import Dashboard
    from glompo_dashboard.offline import load_run_dir

__all__ = ["Dashboard", "__version__", "load_run_dir"]

_LAZY = {"Dashboard": "glompo_dashboard.live", "load_run_dir": "glompo_dashboard.offline"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'glompo_dashboard' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
