"""glompo-hdf5: the HDF5 log of GloMPO runs (``summary_files=3``).

``FileLogger`` keeps the in-memory history the manager's stoppers read and also writes
every evaluation, message and piece of metadata to ``glompo_log.h5`` (PyTables).
``read_log`` reads such a file back into numpy arrays::

    >>> from glompo_hdf5 import read_log  # doctest: +SKIP
    >>> log = read_log("runs/schwefel/glompo_log.h5")  # doctest: +SKIP
    >>> log.optimizers[1].fx.min()  # doctest: +SKIP

The names are imported lazily: ``import glompo_hdf5`` imports neither :mod:`tables`
nor the logger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from glompo_hdf5._locks import LogLockedError
    from glompo_hdf5.filelogger import FileLogger
    from glompo_hdf5.reader import LogData, OptimizerHistory, read_log, summarize_log

__all__ = ["FileLogger", "LogData", "LogLockedError", "OptimizerHistory", "__version__",
           "read_log", "summarize_log"]

_LAZY = {"FileLogger": "glompo_hdf5.filelogger", "LogData": "glompo_hdf5.reader",
         "LogLockedError": "glompo_hdf5._locks",
         "OptimizerHistory": "glompo_hdf5.reader", "read_log": "glompo_hdf5.reader",
         "summarize_log": "glompo_hdf5.reader"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'glompo_hdf5' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
