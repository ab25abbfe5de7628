"""The core knows no plugin: the log names its file, the backend says what it can kill."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

import pytest

from glompo_core import GloMPOManager, hookimpl
from glompo_core.backends import ProcessesBackend, ThreadsBackend
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.plugins import PluginManager
from glompo_core.protocols import Logger
from glompo_core.selectors import CycleSelector
from tests.helpers import sphere


def _members(protocol: type) -> set[str]:
    names = {n for n in vars(protocol) if not n.startswith("_")}
    return names | set(getattr(protocol, "__annotations__", {}))


def test_every_logger_provides_the_logger_protocol() -> None:
    members = _members(Logger)
    assert {"filename", "open", "truncate_after", "put_iteration", "flush"} <= members
    in_memory: Logger = BaseLogger(2)  # mypy checks the protocol here
    assert in_memory.filename is None and in_memory.truncate_after(10) == 0
    hdf5 = pytest.importorskip("glompo_hdf5")
    for log in (BaseLogger(2), hdf5.FileLogger(2)):
        missing = [m for m in members if not hasattr(log, m)]
        assert not missing, (type(log), missing)
    assert hdf5.FileLogger.filename == "glompo_log.h5"
    opened = inspect.signature(hdf5.FileLogger.open).parameters
    assert list(opened)[1:] == ["path", "mode", "checksum"]  # the spec's open()


def test_backends_declare_whether_they_kill_hung_evaluations(tmp_path: Path) -> None:
    assert ThreadsBackend.kills_hung_evaluations is False
    assert ProcessesBackend.kills_hung_evaluations is True
    dask = pytest.importorskip("glompo_dask")
    assert dask.DaskBackend.kills_hung_evaluations is True
    # end_timeout's default follows the capability, not the backend's name
    for backend, expected in (("threads", float("inf")), ("processes", 10.0)):
        with GloMPOManager.new_manager(
                task=sphere, bounds=[(-1, 1)] * 2, working_dir=tmp_path / backend,
                opt_selector=CycleSelector("RandomOptimizer"), backend=backend,
                max_jobs=1) as manager:
            assert manager.end_timeout == expected


class NamedFileLogger(BaseLogger):
    """A third-party logger writing a file of its own name."""

    filename: ClassVar[str | None] = "compass_log.txt"
    opened: ClassVar[list[tuple[Path, str, str]]] = []
    truncated: ClassVar[list[int]] = []

    def open(self, path: str | Path, mode: str, checksum: str) -> None:
        path = Path(path)
        if mode == "w":
            path.write_text(checksum + "\n")
        type(self).opened.append((path, mode, checksum))

    def truncate_after(self, call_id: int) -> int:
        type(self).truncated.append(call_id)
        return 0


class LoggerPlugin:
    @hookimpl
    def glompo_register_loggers(self, register: Any) -> None:
        register("NamedFileLogger", NamedFileLogger)


def test_the_manager_opens_the_file_its_logger_names(tmp_path: Path) -> None:
    pm = PluginManager(load_entrypoints=False, plugins=[("named", LoggerPlugin())])
    NamedFileLogger.opened.clear()

    def make() -> GloMPOManager:
        return GloMPOManager.new_manager(
            task=sphere, bounds=[(-1, 1)] * 2, working_dir=tmp_path / "run",
            opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 4})), max_jobs=1,
            backend="threads", exit_conditions=MaxFuncCalls(fmax=40), summary_files=3,
            split_printstreams=False, plugin_manager=pm)

    manager = make()
    assert isinstance(manager.opt_log, NamedFileLogger)
    manager.start_manager()
    path = (tmp_path / "run" / "compass_log.txt").resolve()
    assert NamedFileLogger.opened == [(path, "w", manager.checksum)]
    # its file is one of the run's outputs: a fresh run refuses to overwrite it
    with pytest.raises(FileExistsError, match=r"compass_log\.txt"):
        make()
