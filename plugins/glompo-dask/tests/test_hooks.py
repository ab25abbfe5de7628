"""Registration, packaging and constructor checks of glompo-dask (no cluster is started)."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import textwrap

import glompo_dask
import glompo_dask.hooks
import pytest
from glompo_dask.backend import DaskBackend

from glompo_core.plugins import PluginManager

PROBE = textwrap.dedent("""
    import json, sys
    {code}
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))))
    """)


def _loaded_after(code: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(code=code)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", [
    "import glompo_dask.hooks",
    "import glompo_dask",
    "from glompo_core.plugins import PluginManager\n"
    "import glompo_dask.hooks\n"
    "pm = PluginManager(load_entrypoints=False, plugins=[('dask', glompo_dask.hooks)])\n"
    "assert pm.names('backend') == ['dask', 'processes', 'processes_forced', 'threads']",
])
def test_importing_and_registering_does_not_import_dask(code: str) -> None:
    assert _loaded_after(code) == []


def test_the_probe_sees_distributed() -> None:
    assert "distributed" in _loaded_after("import distributed")


def test_registered_as_dask() -> None:
    pm = PluginManager(load_entrypoints=False, plugins=[("dask", glompo_dask.hooks)])
    assert pm.get("backend", "dask") is DaskBackend
    assert pm.get("backend", "DASK") is DaskBackend
    assert glompo_dask.DaskBackend is DaskBackend
    assert DaskBackend.name == "dask"


def test_entry_point_and_version() -> None:
    eps = importlib.metadata.entry_points(group="glompo")
    assert [ep.value for ep in eps if ep.name == "dask"] == ["glompo_dask.hooks"]
    dist = importlib.metadata.distribution("glompo-dask")
    assert dist.version == glompo_dask.__version__
    requires = " ".join(dist.requires or [])
    assert "glompo-core<0.2,>=0.1" in requires or "glompo-core>=0.1,<0.2" in requires
    assert "distributed>=2023.1" in requires


def test_without_the_plugin_the_name_says_what_to_install() -> None:
    from glompo_core.errors import UnknownComponentError

    pm = PluginManager(load_entrypoints=False)
    with pytest.raises(UnknownComponentError, match="glompo-dask"):
        pm.get("backend", "dask", source="backend")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"address": "tcp://h:8786", "client": object()}, "either address= .* or client="),
    ({"address": 8786}, "address must be a scheduler address"),
    ({"client": object()}, "client must be a distributed.Client"),
    ({"n_workers": 0}, "n_workers must be a positive integer"),
    ({"threads_per_worker": 0}, "threads_per_worker must be a positive integer"),
    ({"retries": -1}, r"retries must be an integer >= 0"),
    ({"startup_timeout": 0}, "startup_timeout must be a positive number"),
    ({"dispatch": "actor"}, "dispatch must be one of 'tasks', 'actors', got 'actor'"),
    ({"cluster_kwargs": {"n_workers": 3}}, "pass n_workers to the dask backend itself"),
    ({"address": "tcp://h:8786", "n_workers": 4},
     "n_workers configure the LocalCluster .* with address= or client="),
    ({"address": "tcp://h:8786", "cluster_kwargs": {"memory_limit": "1GB"}},
     "cluster_kwargs configure the LocalCluster"),
])
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        DaskBackend(**kwargs)  # type: ignore[arg-type]


def test_evaluating_before_start_says_so() -> None:
    backend = DaskBackend()
    with pytest.raises(RuntimeError, match="not started: call start"):
        backend.evaluate([0.0])  # type: ignore[arg-type]
    backend.shutdown()  # harmless before start
    with pytest.raises(RuntimeError, match="shut down"):
        backend.evaluate([0.0])  # type: ignore[arg-type]


def test_detailed_needs_detailed_call() -> None:
    with pytest.raises(TypeError, match="detailed_call"):
        DaskBackend().start(lambda x: 0.0, 1, detailed=True)
