"""The plugin manager: registry of built-ins, registration rules, discovery, lifecycle hooks."""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glompo_core import hookimpl, hookspecs
from glompo_core.errors import PluginError, UnknownComponentError
from glompo_core.plugins import KINDS, PluginManager, get_plugin_manager
from tests._plugin_fixtures import (
    BROKEN_PLUGIN_SOURCE,
    FAKE_PLUGIN_SOURCE,
    AliasClashPlugin,
    AlphaOptimizer,
    AlphaPlugin,
    BadNamePlugin,
    BetaOptimizer,
    ClashPlugin,
    NotAnOptimizer,
    NotAStopper,
    Observer,
    RaisingPlugin,
    fresh_pm,
    module_plugin,
    write_distribution,
)

BUILTIN = {
    "optimizer": {"RandomOptimizer"},
    "stopper": {"BestUnmoving", "EvaluationsUnmoving", "LastPointsInvalid", "MinFuncCalls",
                "ParameterDistance", "StepSize", "TimeAnnealing", "TypeStopper",
                "ValueAnnealing"},
    "exit_condition": {"KillsAfterConvergence", "MaxFuncCalls", "MaxKills", "MaxOptsStarted",
                       "MaxSeconds", "NOptConverged", "TargetCost"},
    "generator": {"AnnealingGenerator", "BasinHoppingGenerator", "ExploitExploreGenerator",
                  "IncumbentGenerator", "PerturbationGenerator", "RandomGenerator",
                  "SinglePointGenerator"},
    "selector": {"ChainSelector", "CycleSelector", "RandomSelector", "AdaptiveSelector",
                 "IterSpawnStop", "NOptimizersSpawnStop"},
    "logger": {"BaseLogger"},
    "backend": {"threads", "processes", "processes_forced"},
}


@pytest.fixture(scope="module")
def pm() -> PluginManager:
    """One registry of the built-ins only, shared by the read-only tests."""
    return PluginManager(load_entrypoints=False)


# =============================================================================== registry


def test_kinds_are_the_registration_hooks() -> None:
    assert set(KINDS) == {"optimizer", "stopper", "exit_condition", "generator", "selector",
                          "logger", "backend", "task"}


@pytest.mark.parametrize("kind", sorted(BUILTIN))
def test_builtin_names_per_kind(pm: PluginManager, kind: str) -> None:
    import importlib

    names = set(pm.names(kind))
    assert names >= BUILTIN[kind]
    if kind not in ("logger", "backend"):  # a new built-in is exported by its package
        package = importlib.import_module(f"glompo_core.{kind}s")
        assert names <= set(package.__all__)


def test_builtin_tasks(pm: PluginManager) -> None:
    from glompo_core.benchmarks import TASKS

    tasks = pm.names("task")
    assert len(tasks) == 22
    assert set(tasks) == {t.__name__ for t in TASKS}
    assert {"Rastrigin", "Schwefel", "Rosenbrock", "Ackley"} <= set(tasks)
    task = pm.get("task", "Rastrigin")(dims=3)
    assert task([0.0, 0.0, 0.0]) == pytest.approx(0.0)


def test_builtin_plugin_info(pm: PluginManager) -> None:
    (builtin,) = [p for p in pm.plugins() if p.name == "builtin"]
    assert (builtin.distribution, builtin.status, builtin.reason) == ("glompo-core", "active", "")
    from glompo_core import __version__

    assert builtin.version == __version__
    assert {k: set(v) for k, v in builtin.components.items()} == {
        **BUILTIN, "task": set(pm.names("task"))}
    json.dumps(builtin.as_dict())  # JSON-ready


def test_builtin_components_are_the_real_classes(pm: PluginManager) -> None:
    from glompo_core.backends import ThreadsBackend
    from glompo_core.optimizerlogger import BaseLogger
    from glompo_core.optimizers import RandomOptimizer
    from glompo_core.selectors import IterSpawnStop
    from glompo_core.stoppers import BestUnmoving

    assert pm.get("optimizer", "RandomOptimizer") is RandomOptimizer
    assert pm.get("stopper", "BestUnmoving") is BestUnmoving
    assert pm.get("selector", "IterSpawnStop") is IterSpawnStop
    assert pm.get("logger", "BaseLogger") is BaseLogger
    assert pm.get("backend", "threads") is ThreadsBackend
    info = pm.info("optimizer", "RandomOptimizer")
    assert (info.plugin, info.distribution, info.aliases) == ("builtin", "glompo-core",
                                                              ("random",))
    assert info.summary  # first line of the docstring


@pytest.mark.parametrize("name", ["RandomOptimizer", "randomoptimizer", "RANDOMOPTIMIZER",
                                  "random", "Random"])
def test_lookup_is_case_insensitive_and_by_alias(pm: PluginManager, name: str) -> None:
    from glompo_core.optimizers import RandomOptimizer

    assert pm.get("optimizer", name) is RandomOptimizer
    assert pm.has("optimizer", name)


def test_lookup_of_other_kinds_case_insensitive(pm: PluginManager) -> None:
    assert pm.get("stopper", "bestunmoving").__name__ == "BestUnmoving"
    assert pm.get("backend", "THREADS").__name__ == "ThreadsBackend"
    assert pm.names("optimizer") == ["RandomOptimizer"]  # aliases are not names


def test_unknown_kind_is_a_value_error(pm: PluginManager) -> None:
    with pytest.raises(ValueError, match=r"unknown component kind 'optimiser'.*kinds are"):
        pm.get("optimiser", "RandomOptimizer")


def test_typo_of_a_first_party_plugin_says_what_to_install(pm: PluginManager) -> None:
    with pytest.raises(UnknownComponentError, match="pip install glompo-cma") as err:
        pm.get("optimizer", "CMAOptimzer")
    message = str(err.value)
    assert message.startswith("unknown optimizer 'CMAOptimzer'.")
    assert "Did you mean 'CMAOptimizer'" in message
    assert "Installed optimizers: RandomOptimizer." in message


def test_first_party_name_says_what_to_install(pm: PluginManager) -> None:
    with pytest.raises(UnknownComponentError,
                       match=r"It is provided by the plugin glompo-cma: pip install glompo-cma"):
        pm.get("optimizer", "CMAOptimizer")
    with pytest.raises(UnknownComponentError, match="pip install glompo-hdf5"):
        pm.get("logger", "FileLogger")
    with pytest.raises(UnknownComponentError, match="pip install glompo-dask"):
        pm.get("backend", "dask")


def test_typo_of_a_builtin_suggests_it_and_lists_installed(pm: PluginManager) -> None:
    installed = ", ".join(sorted(BUILTIN["stopper"]))
    with pytest.raises(UnknownComponentError, match=r"Did you mean 'BestUnmoving'") as err:
        pm.get("stopper", "BestUnmovin")
    assert f"Installed stoppers: {installed}." in str(err.value)
    assert "pip install" not in str(err.value)


def test_unknown_name_without_close_match(pm: PluginManager) -> None:
    with pytest.raises(UnknownComponentError) as err:
        pm.get("generator", "Zzzzzz", source="run.yml:3, key 'x0_generator'")
    message = str(err.value)
    assert message.startswith("unknown generator 'Zzzzzz' (from run.yml:3, key 'x0_generator').")
    assert "Did you mean" not in message


def test_name_of_another_kind_is_pointed_out(pm: PluginManager) -> None:
    with pytest.raises(UnknownComponentError,
                       match="'MaxFuncCalls' is a registered exit condition, not a stopper"):
        pm.get("stopper", "MaxFuncCalls")


def test_unknown_component_error_is_a_lookup_error_not_quoted(pm: PluginManager) -> None:
    with pytest.raises(LookupError) as err:
        pm.get("optimizer", "Nope")
    assert isinstance(err.value, UnknownComponentError)
    text = str(err.value)
    assert text == err.value.args[0]
    assert text.startswith("unknown optimizer 'Nope'")  # a KeyError would print "'unknown..."
    assert str(KeyError(text)) != text


# ======================================================================== registration rules


def test_plugin_object_is_registered_and_found(recwarn: pytest.WarningsRecorder) -> None:
    pm = fresh_pm()
    info = pm.register_plugin(AlphaPlugin(), "alpha-plugin")
    assert info.status == "active", info.reason
    assert info.components == {"optimizer": ["AlphaOptimizer"]}
    assert pm.get("optimizer", "ALPHA") is AlphaOptimizer
    comp = pm.info("optimizer", "alphaoptimizer")
    assert (comp.plugin, comp.aliases) == ("alpha-plugin", ("alpha",))
    assert comp.summary == "An optimizer registered by a test plugin."
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_module_plugin_is_registered() -> None:
    @hookimpl
    def glompo_register_optimizers(register: Any) -> None:
        register("BetaOptimizer", BetaOptimizer)

    module = module_plugin("glompo_beta_hooks",
                           glompo_register_optimizers=glompo_register_optimizers)
    pm = fresh_pm()
    info = pm.register_plugin(module, "beta")
    assert info.status == "active", info.reason
    assert info.distribution == "glompo_beta_hooks"
    assert pm.get("optimizer", "betaoptimizer") is BetaOptimizer


def test_plugins_argument_of_the_constructor() -> None:
    pm = PluginManager(load_entrypoints=False, plugins=[("alpha-plugin", AlphaPlugin())])
    assert pm.get("optimizer", "alpha") is AlphaOptimizer
    assert [p.name for p in pm.plugins()] == ["builtin", "alpha-plugin"]


def test_duplicate_component_name_marks_the_later_plugin_failed() -> None:
    pm = fresh_pm(("alpha-plugin", AlphaPlugin()))
    with pytest.warns(RuntimeWarning, match=r"GloMPO plugin 'clash'.*failed to load"):
        info = pm.register_plugin(ClashPlugin(), "clash")
    assert info.status == "failed"
    assert "'alphaoptimizer' registered by 'clash'" in info.reason
    assert "already taken by 'AlphaOptimizer' of 'alpha-plugin'" in info.reason
    # the first plugin keeps its name; nothing of the failed plugin stays registered
    assert pm.get("optimizer", "alphaoptimizer") is AlphaOptimizer
    assert not pm.has("optimizer", "BetaOptimizer")
    assert {p.name: p.status for p in pm.plugins()} == {
        "builtin": "active", "alpha-plugin": "active", "clash": "failed"}
    assert pm.get("stopper", "BestUnmoving").__name__ == "BestUnmoving"


def test_alias_clash_with_a_builtin_is_refused() -> None:
    pm = fresh_pm()
    with pytest.warns(RuntimeWarning, match="already taken by 'RandomOptimizer' of 'builtin'"):
        info = pm.register_plugin(AliasClashPlugin(), "aliases")
    assert info.status == "failed"
    assert pm.get("optimizer", "random").__name__ == "RandomOptimizer"
    assert not pm.has("optimizer", "BetaOptimizer")


def test_registering_an_active_plugin_name_again_is_an_error() -> None:
    pm = fresh_pm(("alpha-plugin", AlphaPlugin()))
    with pytest.raises(PluginError, match="a plugin named 'alpha-plugin' is already registered"):
        pm.register_plugin(AlphaPlugin(), "alpha-plugin")


@pytest.mark.parametrize("bad", ["1Optimizer", "has space", "", "semi;colon", None])
def test_invalid_component_names_are_refused(bad: Any) -> None:
    pm = fresh_pm()
    with pytest.warns(RuntimeWarning, match="invalid optimizer name"):
        info = pm.register_plugin(BadNamePlugin(bad), "badname")
    assert info.status == "failed"
    assert "names start with a letter" in info.reason


@pytest.mark.parametrize(("kind", "component", "missing"), [
    ("optimizer", NotAnOptimizer, "minimize, callstop"),
    ("stopper", NotAStopper, "__call__"),
    ("exit_condition", NotAStopper, "__call__"),
    ("generator", NotAnOptimizer, "generate"),
    ("backend", NotAnOptimizer, "start, evaluate, evaluate_batch, shutdown"),
    ("logger", NotAnOptimizer, "put_iteration, get_history"),
    ("task", 42, "__call__"),
])
def test_components_lacking_required_methods_are_refused(kind: str, component: Any,
                                                         missing: str) -> None:
    hook = hookspecs.REGISTRATION_HOOKS[kind]

    def register_it(register: Any) -> None:
        register("Thing", component)

    register_it.__name__ = hook
    module = module_plugin("badkind", **{hook: hookimpl(register_it)})
    pm = fresh_pm()
    with pytest.warns(RuntimeWarning, match=f"lacks {missing}: it is not a valid {kind}"):
        info = pm.register_plugin(module, "badkind")
    assert info.status == "failed"
    assert not pm.has(kind, "Thing")


def test_exception_in_a_registration_hook_fails_only_that_plugin() -> None:
    pm = fresh_pm(("alpha-plugin", AlphaPlugin()))
    with pytest.warns(RuntimeWarning,
                      match=r"'raiser'.*RuntimeError: boom in registration") as rec:
        info = pm.register_plugin(RaisingPlugin(), "raiser")
    assert len([w for w in rec if issubclass(w.category, RuntimeWarning)]) == 1
    assert info.status == "failed"
    assert info.reason == "RuntimeError: boom in registration"
    assert info.components == {}
    # what it registered before raising is gone; the others keep working
    assert not pm.has("optimizer", "DoomedOptimizer")
    assert pm.get("optimizer", "alpha") is AlphaOptimizer
    assert pm.get("optimizer", "random").__name__ == "RandomOptimizer"
    # a plugin registered afterwards works too
    pm.register_plugin(module_plugin("later"), "later")
    assert {p.name: p.status for p in pm.plugins()}["later"] == "active"
    # and the failure is mentioned when a name is not found
    with pytest.raises(UnknownComponentError, match=r"Plugin 'raiser' \(.*\) failed to load"):
        pm.get("optimizer", "DoomedOptimizer")


def test_failed_plugin_receives_no_lifecycle_calls() -> None:
    class RaisingObserver(RaisingPlugin):
        calls = 0

        @hookimpl
        def glompo_run_started(self, manager: Any) -> None:
            RaisingObserver.calls += 1

    pm = fresh_pm()
    with pytest.warns(RuntimeWarning):
        pm.register_plugin(RaisingObserver(), "raiser")
    assert not pm.has_listeners("glompo_run_started")
    pm.call_lifecycle("glompo_run_started", manager=None)
    assert RaisingObserver.calls == 0


def test_misspelled_hook_name_fails_with_did_you_mean() -> None:
    @hookimpl
    def glompo_register_optimizer(register: Any) -> None:
        register("BetaOptimizer", BetaOptimizer)

    module = module_plugin("typo_hooks", glompo_register_optimizer=glompo_register_optimizer)
    pm = fresh_pm()
    with pytest.warns(RuntimeWarning, match="unknown hook 'glompo_register_optimizer'"):
        info = pm.register_plugin(module, "typo")
    assert info.status == "failed"
    assert "did you mean 'glompo_register_optimizers'?" in info.reason
    assert not pm.has("optimizer", "BetaOptimizer")
    assert not pm.hook_manager.has_plugin("typo")


def test_unmarked_functions_with_hook_like_names_are_ignored() -> None:
    def glompo_helper() -> None:  # not @hookimpl: not a hook, not an error
        pass

    pm = fresh_pm()
    info = pm.register_plugin(module_plugin("helpers", glompo_helper=glompo_helper), "helpers")
    assert info.status == "active", info.reason


def test_hook_with_wrong_argument_names_fails() -> None:
    @hookimpl
    def glompo_register_optimizers(reg: Any) -> None:
        reg("BetaOptimizer", BetaOptimizer)

    pm = fresh_pm()
    with pytest.warns(RuntimeWarning, match="'wrongargs'"):
        info = pm.register_plugin(
            module_plugin("wa", glompo_register_optimizers=glompo_register_optimizers),
            "wrongargs")
    assert info.status == "failed"
    assert "reg" in info.reason


def test_registration_hook_may_take_no_argument() -> None:
    calls: list[int] = []

    @hookimpl
    def glompo_register_optimizers() -> None:
        calls.append(1)

    pm = fresh_pm()
    info = pm.register_plugin(
        module_plugin("noargs", glompo_register_optimizers=glompo_register_optimizers), "noargs")
    assert info.status == "active", info.reason
    assert calls == [1]


def test_failed_plugin_can_be_registered_again_once_fixed() -> None:
    pm = fresh_pm(("alpha-plugin", AlphaPlugin()))
    with pytest.warns(RuntimeWarning):
        assert pm.register_plugin(ClashPlugin(), "second").status == "failed"
    info = pm.register_plugin(module_plugin("fixed"), "second")
    assert info.status == "active"


# ==================================================================== entry-point discovery


@pytest.fixture
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path holding a good and a broken installed distribution."""
    write_distribution(tmp_path, "fakeplug", "1.0", "fake", "fakeplug_mod", FAKE_PLUGIN_SOURCE)
    write_distribution(tmp_path, "brokeplug", "2.0", "broke", "brokeplug_mod",
                       BROKEN_PLUGIN_SOURCE)
    monkeypatch.delenv("GLOMPO_DISABLE_PLUGINS", raising=False)
    for mod in ("fakeplug_mod", "brokeplug_mod"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for mod in ("fakeplug_mod", "brokeplug_mod"):
        sys.modules.pop(mod, None)


def _by_name(pm: PluginManager) -> dict[str, Any]:
    return {p.name: p for p in pm.plugins()}


def test_entry_points_are_discovered(fake_site: Path) -> None:
    with pytest.warns(RuntimeWarning) as rec:
        pm = PluginManager()
    messages = [str(w.message) for w in rec if issubclass(w.category, RuntimeWarning)]
    broke_msgs = [m for m in messages if "'broke'" in m]
    assert len(broke_msgs) == 1
    assert "brokeplug 2.0" in broke_msgs[0]
    assert "libfake.so" in broke_msgs[0]
    assert not [m for m in messages if "'fake'" in m]

    plugins = _by_name(pm)
    fake = plugins["fake"]
    assert (fake.distribution, fake.version, fake.status) == ("fakeplug", "1.0", "active")
    assert fake.components == {"optimizer": ["FakeOptimizer"]}
    cls = pm.get("optimizer", "FakeOptimizer")
    assert cls.__module__ == "fakeplug_mod"
    assert pm.get("optimizer", "fakeopt") is cls
    assert pm.info("optimizer", "fakeopt").distribution == "fakeplug"

    broke = plugins["broke"]
    assert (broke.distribution, broke.version, broke.status) == ("brokeplug", "2.0", "failed")
    assert broke.reason == ("import of 'brokeplug_mod' failed: ImportError: libfake.so: "
                            "cannot open shared object file")
    # the other plugins still work
    assert plugins["builtin"].status == "active"
    assert pm.get("optimizer", "random").__name__ == "RandomOptimizer"
    assert pm.get("stopper", "BestUnmoving").__name__ == "BestUnmoving"
    with pytest.raises(UnknownComponentError, match=r"Plugin 'broke' \(brokeplug\) failed to load"):
        pm.get("optimizer", "Nothing")


def test_disabled_plugins_are_not_loaded(fake_site: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOMPO_DISABLE_PLUGINS", "fake, broke")
    pm = PluginManager()
    plugins = _by_name(pm)
    for name, dist in (("fake", "fakeplug"), ("broke", "brokeplug")):
        assert plugins[name].status == "disabled"
        assert plugins[name].distribution == dist
        assert plugins[name].reason == "GLOMPO_DISABLE_PLUGINS"
    assert "fakeplug_mod" not in sys.modules and "brokeplug_mod" not in sys.modules
    assert not pm.has("optimizer", "FakeOptimizer")
    with pytest.raises(UnknownComponentError,
                       match=r"Disabled by GLOMPO_DISABLE_PLUGINS: .*'fake' \(fakeplug\)"):
        pm.get("optimizer", "FakeOptimizer")


def test_disabled_argument_overrides_the_environment(fake_site: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOMPO_DISABLE_PLUGINS", "fake")
    pm = PluginManager(disabled=["broke"])
    plugins = _by_name(pm)
    assert plugins["fake"].status == "active"
    assert plugins["broke"].status == "disabled"
    assert pm.get("optimizer", "FakeOptimizer").__name__ == "FakeOptimizer"


def test_get_plugin_manager_is_cached(fake_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOMPO_DISABLE_PLUGINS", "broke")
    get_plugin_manager.cache_clear()
    try:
        first = get_plugin_manager()
        assert get_plugin_manager() is first
        assert first.get("optimizer", "fakeopt").__name__ == "FakeOptimizer"
        monkeypatch.setenv("GLOMPO_DISABLE_PLUGINS", "broke,fake")
        assert get_plugin_manager() is first  # cached until cache_clear()
        get_plugin_manager.cache_clear()
        second = get_plugin_manager()
        assert second is not first
        assert _by_name(second)["fake"].status == "disabled"
    finally:
        get_plugin_manager.cache_clear()


def test_plugin_failing_in_its_hook_after_import(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write_distribution(tmp_path, "hookfail", "0.3", "hookfail", "hookfail_mod", """
        from glompo_core import hookimpl

        @hookimpl
        def glompo_register_stoppers(register):
            raise KeyError("missing config")
        """)
    monkeypatch.delenv("GLOMPO_DISABLE_PLUGINS", raising=False)
    monkeypatch.delitem(sys.modules, "hookfail_mod", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.warns(RuntimeWarning, match=r"'hookfail' \(hookfail 0.3\).*KeyError"):
            pm = PluginManager()
    finally:
        sys.modules.pop("hookfail_mod", None)
    info = _by_name(pm)["hookfail"]
    assert info.status == "failed"
    assert "missing config" in info.reason
    assert pm.get("stopper", "BestUnmoving").__name__ == "BestUnmoving"


# ========================================================================= lifecycle hooks


@pytest.fixture
def plugin_log(caplog: pytest.LogCaptureFixture,
               monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    """caplog of ``glompo.plugins``, whatever the ``glompo`` logger's propagation."""
    for name in ("glompo", "glompo.plugins"):
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    caplog.set_level(logging.DEBUG, logger="glompo.plugins")
    return caplog


def test_raising_observer_is_isolated_logged_and_muted(
        plugin_log: pytest.LogCaptureFixture) -> None:
    pm = fresh_pm()
    bad, good = Observer(raises=True), Observer()
    pm.add_observer(bad, "bad-observer")
    pm.add_observer(good, "good-observer")
    assert pm.has_listeners("glompo_run_started")

    pm.call_lifecycle("glompo_run_started", manager="view")
    assert len(bad.calls) == 1 and len(good.calls) == 1
    errors = [r for r in plugin_log.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "'bad-observer'" in errors[0].getMessage()
    assert "glompo_run_started" in errors[0].getMessage()
    assert "disabled for the rest of the run" in errors[0].getMessage()
    assert errors[0].exc_info is not None and "observer exploded" in str(errors[0].exc_info[1])

    # muted: no more calls, for any hook; the others still get theirs
    pm.call_lifecycle("glompo_run_started", manager="view")
    pm.call_lifecycle("glompo_optimizer_stopped", manager="view", opt_id=3, reason="test")
    assert len(bad.calls) == 1
    assert good.calls == [{"manager": "view"}, {"manager": "view"}, {"opt_id": 3}]
    assert len([r for r in plugin_log.records if r.levelno >= logging.ERROR]) == 1

    pm.unmute_all()
    pm.call_lifecycle("glompo_run_started", manager="again")
    assert len(bad.calls) == 2


def test_has_listeners() -> None:
    pm = fresh_pm()
    for hook in hookspecs.LIFECYCLE_HOOKS:
        assert not pm.has_listeners(hook), hook  # the built-ins observe nothing
    observer = Observer(raises=True)
    pm.add_observer(observer, "obs")
    assert pm.has_listeners("glompo_run_started")
    assert pm.has_listeners("glompo_optimizer_stopped")
    assert not pm.has_listeners("glompo_iteration_batch")
    pm.call_lifecycle("glompo_run_started", manager=None)  # raises -> muted
    assert not pm.has_listeners("glompo_run_started")
    pm.unmute_all()
    assert pm.has_listeners("glompo_run_started")
    pm.remove_observer("obs")
    assert not pm.has_listeners("glompo_run_started")
    pm.call_lifecycle("glompo_run_started", manager=None)
    assert len(observer.calls) == 1


def test_lifecycle_hooks_of_registered_plugins_are_called() -> None:
    observer = Observer()
    pm = fresh_pm(("observer-plugin", observer))
    assert {p.name: p.status for p in pm.plugins()}["observer-plugin"] == "active"
    pm.call_lifecycle("glompo_optimizer_stopped", manager=None, opt_id=7, reason="why")
    assert observer.calls == [{"opt_id": 7}]


def _spec_functions() -> dict[str, Any]:
    return {name: fn for name, fn in vars(hookspecs).items()
            if inspect.isfunction(fn) and hasattr(fn, "glompo_spec")}


def test_every_hookspec_documents_every_argument() -> None:
    specs = _spec_functions()
    assert len(specs) == (len(hookspecs.REGISTRATION_HOOKS) + len(hookspecs.LIFECYCLE_HOOKS)
                          + len(hookspecs.SERVICE_HOOKS) + len(hookspecs.COMMAND_HOOKS))
    for name, fn in specs.items():
        doc = inspect.getdoc(fn)
        assert doc, f"{name} has no docstring"
        for arg in inspect.signature(fn).parameters:
            assert f":param {arg}:" in doc, f"{name} does not document {arg!r}"


def test_hook_tables_match_the_hookspecs() -> None:
    specs = set(_spec_functions())
    registration = set(hookspecs.REGISTRATION_HOOKS.values())
    lifecycle = set(hookspecs.LIFECYCLE_HOOKS)
    services = set(hookspecs.SERVICE_HOOKS)
    commands = set(hookspecs.COMMAND_HOOKS)
    assert len(lifecycle) == len(hookspecs.LIFECYCLE_HOOKS)
    assert not registration & lifecycle and not services & (registration | lifecycle)
    assert not commands & (registration | lifecycle | services)
    assert registration | lifecycle | services | commands == specs
    for kind, hook in [*hookspecs.REGISTRATION_HOOKS.items(),
                       ("command", "glompo_register_commands")]:
        assert hook == f"glompo_register_{kind}s"
        assert list(inspect.signature(getattr(hookspecs, hook)).parameters) == ["register"]
    pm = fresh_pm()
    for hook in specs:  # pluggy knows them all
        assert getattr(pm.hook_manager.hook, hook).spec is not None


# ================================================= lifecycle hooks through pluggy's calling


class _Wrapping:
    """Wraps a lifecycle hook the new way (``wrapper=True``)."""

    @hookimpl(wrapper=True)
    def glompo_run_started(self, manager: Any) -> Iterator[None]:
        return (yield)


class _OldWrapping:
    """Wraps a registration hook the old way (``hookwrapper=True``)."""

    @hookimpl(hookwrapper=True)
    def glompo_register_optimizers(self, register: Any) -> Iterator[None]:
        yield


@pytest.mark.parametrize(("plugin", "hook", "marker"), [
    (_Wrapping(), "glompo_run_started", "wrapper=True"),
    (_OldWrapping(), "glompo_register_optimizers", "hookwrapper=True"),
])
def test_hook_wrappers_are_refused_with_the_reason(plugin: Any, hook: str, marker: str) -> None:
    pm = fresh_pm()
    with pytest.warns(RuntimeWarning, match="'wrapping'.*takes no hook wrappers"):
        info = pm.register_plugin(plugin, "wrapping")
    assert info.status == "failed"
    assert f"implements {hook} with @hookimpl({marker})" in info.reason
    assert "implement the hook as a plain @hookimpl function" in info.reason
    assert not pm.hook_manager.has_plugin("wrapping")
    # and as a run-scoped observer: refused, nothing left registered
    with pytest.raises(PluginError, match=rf"implements {hook} with @hookimpl\({marker}\)"):
        pm.add_observer(plugin, "wrapping-observer")
    assert not pm.hook_manager.has_plugin("wrapping-observer")


def test_an_observer_with_a_misspelled_hook_is_refused() -> None:
    class Typo:
        @hookimpl
        def glompo_run_startd(self, manager: Any) -> None:
            pass

    pm = fresh_pm()
    with pytest.raises(PluginError, match="did you mean 'glompo_run_started'"):
        pm.add_observer(Typo(), "typo")
    assert not pm.hook_manager.has_plugin("typo")


def test_lifecycle_calls_go_through_pluggy_monitoring_and_tracing() -> None:
    observer = Observer()
    pm = fresh_pm(("observer-plugin", observer))
    monitored: list[tuple[str, list[str], dict[str, Any]]] = []
    undo = pm.hook_manager.add_hookcall_monitoring(
        lambda name, impls, kwargs: monitored.append(
            (name, [i.plugin_name for i in impls], dict(kwargs))),
        lambda outcome, name, impls, kwargs: None)
    try:
        pm.call_lifecycle("glompo_optimizer_stopped", manager="view", opt_id=4, reason="r")
    finally:
        undo()
    assert monitored == [("glompo_optimizer_stopped", ["observer-plugin"],
                          {"manager": "view", "opt_id": 4, "reason": "r"})]
    assert observer.calls == [{"opt_id": 4}]

    lines: list[str] = []
    pm.hook_manager.trace.root.setwriter(lines.append)
    undo = pm.hook_manager.enable_tracing()
    try:
        pm.call_lifecycle("glompo_run_started", manager="view")
    finally:
        undo()
        pm.hook_manager.trace.root.setwriter(None)
    assert any("glompo_run_started" in line for line in lines), lines


def test_tryfirst_and_trylast_order_the_implementations() -> None:
    order: list[str] = []

    class Last:
        @hookimpl(trylast=True)
        def glompo_run_started(self) -> None:
            order.append("last")

    class First:
        @hookimpl(tryfirst=True)
        def glompo_run_started(self) -> None:
            order.append("first")

    class Plain:
        @hookimpl
        def glompo_run_started(self) -> None:
            order.append("plain")

    pm = fresh_pm(("first", First()), ("plain", Plain()), ("last", Last()))
    pm.call_lifecycle("glompo_run_started", manager=None)
    assert order == ["first", "plain", "last"]


def test_a_plugin_failing_before_the_others_does_not_silence_them(
        plugin_log: pytest.LogCaptureFixture) -> None:
    # pluggy calls the last registered first: 'bad' raises before 'good' is reached
    good, bad = Observer(), Observer(raises=True)
    pm = fresh_pm(("good", good), ("bad", bad))
    pm.call_lifecycle("glompo_run_started", manager=1)
    pm.call_lifecycle("glompo_run_started", manager=2)
    assert good.calls == [{"manager": 1}, {"manager": 2}]
    assert bad.calls == [{"manager": 1}]  # muted after its failure
    errors = [r.getMessage() for r in plugin_log.records if r.levelno >= logging.ERROR]
    assert errors == ["plugin 'bad' raised in glompo_run_started; it is disabled for the rest "
                      "of the run"]


def test_a_missing_or_unknown_argument_is_the_callers_error_not_the_plugins() -> None:
    observer = Observer()
    pm = fresh_pm(("observer-plugin", observer))
    with pytest.raises(TypeError, match=r"glompo_optimizer_stopped called without reason: its "
                                        r"hookspec .* declares manager, opt_id, reason"):
        pm.call_lifecycle("glompo_optimizer_stopped", manager=None, opt_id=1)
    with pytest.raises(TypeError, match="called with unknown cause"):
        pm.call_lifecycle("glompo_optimizer_stopped", manager=None, opt_id=1, reason="r",
                          cause="x")
    with pytest.raises(ValueError, match="'glompo_run_begun' is not a lifecycle hook"):
        pm.call_lifecycle("glompo_run_begun", manager=None)
    assert observer.calls == []
    assert pm.has_listeners("glompo_optimizer_stopped")  # not muted: it did nothing wrong
    pm.call_lifecycle("glompo_optimizer_stopped", manager=None, opt_id=1, reason="r")
    assert observer.calls == [{"opt_id": 1}]


def _every_lifecycle_hook_observer(calls: list[str]) -> Any:
    """An observer implementing every lifecycle hook with every argument of its hookspec."""
    namespace: dict[str, Any] = {}
    for name in hookspecs.LIFECYCLE_HOOKS:
        params = list(inspect.signature(getattr(hookspecs, name)).parameters)
        source = (f"def {name}(self, {', '.join(params)}):\n"
                  f"    calls.append({name!r})\n")
        exec(source, {"calls": calls}, namespace)
        namespace[name] = hookimpl(namespace[name])
    return type("EveryHook", (), namespace)()


def test_the_manager_passes_every_argument_of_every_hookspec(tmp_path: Path) -> None:
    """A run fires its lifecycle events with exactly the arguments their hookspecs declare.

    ``call_lifecycle`` raises TypeError for a call missing an argument (the run would end
    in error); the observer takes every argument, so pluggy would refuse too.
    """
    from glompo_core import GloMPOManager
    from glompo_core.checkpointing import CheckpointingControl
    from glompo_core.exit_conditions import MaxFuncCalls
    from glompo_core.selectors import CycleSelector
    from glompo_core.stoppers import MinFuncCalls
    from tests.helpers import StepOptimizer, StepPlugin, sphere

    class Crashing(StepOptimizer):
        def minimize(self, function: Any, x0: Any, bounds: Any) -> Any:
            function(x0)
            raise RuntimeError("crashing on purpose")

    calls: list[str] = []
    pm = fresh_pm(("step", StepPlugin()), ("every", _every_lifecycle_hook_observer(calls)))
    manager = GloMPOManager.new_manager(
        task=sphere, bounds=[(-2.0, 2.0)] * 2, working_dir=tmp_path / "run", max_jobs=1,
        opt_selector=CycleSelector((StepOptimizer, {"iters": 5}), Crashing, StepOptimizer,
                                   StepOptimizer),
        backend="threads", stoppers=MinFuncCalls(min_pts=30), stopcheck_interval=10,
        apply_stoppers_to_best=True,  # max_jobs=1 and every optimizer is stopped: no race
        exit_conditions=MaxFuncCalls(fmax=300), split_printstreams=False, seed=1,
        checkpoint_control=CheckpointingControl(checkpoint_iter_frequency=50,
                                                checkpointing_dir=str(tmp_path / "chk")),
        plugin_manager=pm)
    result = manager.start_manager()
    assert result.stats["end_state"] == "normal", manager.exit_reason
    expected = set(hookspecs.LIFECYCLE_HOOKS)
    assert set(calls) == expected, f"never fired: {sorted(expected - set(calls))}"


def test_plugins_need_not_be_hashable() -> None:
    @dataclasses.dataclass
    class Unhashable:  # eq=True without frozen: __hash__ is None
        tag: str
        calls: list[str] = dataclasses.field(default_factory=list)

        @hookimpl
        def glompo_register_optimizers(self, register: Any) -> None:
            register("AlphaOptimizer", AlphaOptimizer)

        @hookimpl
        def glompo_run_started(self, manager: Any) -> None:
            self.calls.append(manager)

    first, second = Unhashable("first"), Unhashable("second")  # pluggy compares with ==
    pm = fresh_pm(("first", first))
    pm.add_observer(second, "second")
    assert {p.name: p.status for p in pm.plugins()}["first"] == "active"
    assert pm.get("optimizer", "AlphaOptimizer") is AlphaOptimizer
    pm.call_lifecycle("glompo_run_started", manager="m")
    assert first.calls == second.calls == ["m"]
