"""Helpers for testing GloMPO components and plugins: the test harness and the conformance kit.

Test harness
------------
:class:`FakeManagerView` stands in for a running manager; :func:`wired` builds an
optimizer connected as the manager connects it (:class:`Wired`: the manager's end of its
pipe, an :class:`Inbox` for its messages, its pause event, ``start``/``join``/``stop``);
:class:`RecordingTask` and :class:`BatchRecordingTask` record every point evaluated;
:class:`HookRecorder` is a plugin that records every lifecycle hook call of a run.
Plugin tests use them instead of copies of their own (see :mod:`glompo_core.testing._harness`
for an example).

Fake manager view
-----------------
:class:`FakeManagerView` stands in for a running manager, so a stopper, exit
condition, generator or selector can be tested without starting a run::

    >>> import numpy as np
    >>> from glompo_core.testing import FakeManagerView
    >>> from glompo_core.exit_conditions import MaxFuncCalls
    >>> MaxFuncCalls(fmax=10)(FakeManagerView(f_counter=12))
    True

Conformance kit for optimizers
------------------------------
Each ``check_*`` function takes an optimizer class and its initialisation arguments,
drives the optimizer the way the manager does (a :class:`ThreadPipe` pair, a results
queue and a pause event, the optimizer's loop in a thread of its own) and raises
:class:`AssertionError` with a message saying what to fix. A check that does not apply
raises :class:`unittest.SkipTest` (pytest reports it as skipped).

================================  =========================================================
check                             what it asserts
================================  =========================================================
``check_registered``              found by name in a given ``PluginManager`` (else skipped)
``check_minimizes_sphere``        minimizes a 3-D sphere stand-alone; the result is its best
``check_respects_bounds``         never evaluates a point outside the bounds it was given
``check_pause``                   acknowledges a pause (key 1) and evaluates nothing paused
``check_callstop``                ``Signal.STOP`` from another thread ends it within 2 s
``check_inject``                  ``Signal.INJECT`` updates the incumbent
``check_workers_population``      with ``workers`` > 1 it uses ``function.evaluate_population``
``check_scaling``                 a short real GloMPOManager run maps bounds per ``scaling``
``check_convergence_message``     it reports its own convergence with message key 0
``check_checkpoint``              ``checkpoint_save``/``checkpoint_load`` round trip continues
``check_nan_and_raise``           failed evaluations (NaN, +inf, raising) never crash or
                                  hang it
================================  =========================================================

Every check ends within a bounded time, whatever the optimizer does: its waits have
timeouts, the report of a failure is built without waiting on anything the optimizer
may hold, and the check itself runs in a daemon thread that is given up (with the
stack of the optimizer's thread in the report) if it does not end within
``4 * timeout + 30`` seconds. Every check also verifies that the optimizer's
``__init__`` calls ``super().__init__(...)`` with the manager's runtime arguments.

Use it in the tests of a plugin (opt-in: nothing is registered with pytest unless a
test module calls :func:`parametrize_with_checks`)::

    from glompo_core.testing import parametrize_with_checks
    from glompo_core.plugins import PluginManager
    import my_plugin.hooks
    from my_plugin import MyOptimizer

    PM = PluginManager(load_entrypoints=False, plugins=[("mine", my_plugin.hooks)])

    @parametrize_with_checks(
        [(MyOptimizer, {"seed": 1}, {"maxiter": 20})],   # class, init kwargs, converge kwargs
        plugin_manager=PM)
    def test_conformance(optimizer, check):
        check(optimizer)

Each entry is a class, ``(class, init_kwargs)`` or ``(class, init_kwargs,
converge_kwargs)``; ``converge_kwargs`` are added to ``init_kwargs`` by
:func:`check_convergence_message` only, for optimizers that never converge by
themselves with their usual settings (e.g. ``{"iters": 5}``). Put a ``seed`` in
``init_kwargs`` so that the checks are reproducible. ``skip=("check_checkpoint",)``
leaves checks out. Without pytest, :func:`check_optimizer` runs every check and
raises the first failure.

Conformance kit for the other components
----------------------------------------
:func:`parametrize_with_component_checks` (pytest) and :func:`check_component` (without
pytest) run the checks of each kind a third party can publish. Stoppers, exit
conditions, generators and selectors are given as *instances* (the checks work on fresh
copies); backends and loggers as *classes* or ``(class, init_kwargs)``::

    from glompo_core.testing import parametrize_with_component_checks

    @parametrize_with_component_checks([MyStopper(calls=20), MyGenerator(),
                                        MyBackend, (MyLogger, {"compress": False})])
    def test_components(component, check):
        check(component)

==================  ===========================================================================
kind                checks (what a user relies on)
==================  ===========================================================================
stopper,            ``check_condition_protocol`` (called as the manager calls it, answers a
exit condition      bool in a growing run with NaN/+inf rows, subclasses the base);
                    ``check_combinable`` (``&``/``|`` answer and print right);
                    ``check_expression_round_trip`` (``str()`` parses back, equal);
                    ``check_condition_reset`` (``last_result``, ``reset()``);
                    ``check_condition_seeded`` (equal seeds, equal answers);
                    ``check_condition_pickles`` (a checkpoint goes on answering alike);
                    ``check_condition_progress`` (exit conditions: ``progress`` None
                    or in [0, 1], 1 when met, read-only);
                    ``check_stopper_history_window`` (stoppers: ``history_needed`` rows
                    are enough)
generator           ``check_generator_protocol`` (1-D finite points of ``n_parms``);
                    ``check_generator_points_in_bounds``; ``check_generator_seeded``;
                    ``check_generator_pickles``
selector            ``check_selector_protocol`` (``(cls, init, call)``, None or False, and
                    False for good); ``check_selector_returns_copies``;
                    ``check_selector_seeded``; ``check_selector_pickles``
backend             ``check_backend_protocol``; ``check_backend_order`` (results in row
                    order, also from two threads at once); ``check_backend_task_errors``
                    (the task's exception type, then it goes on);
                    ``check_backend_detailed``; ``check_backend_shutdown`` (no process
                    left)
logger              ``check_logger_rows`` (rows read == rows put, NaN/+inf kept, after
                    ``close()`` too); ``check_logger_extras``;
                    ``check_logger_messages_and_metadata``; ``check_logger_checkpoint``
==================  ===========================================================================

The scenarios have 2 parameters: a generator built with its own bounds takes
:data:`GENERATOR_BOUNDS`; a stopper or exit condition taking bounds takes
:data:`SCENARIO_BOUNDS`.
"""

from glompo_core.testing._backends import BackendTaskError
from glompo_core.testing._components import (
    COMPONENT_CHECKS,
    check_component,
    component_kind,
    parametrize_with_component_checks,
)
from glompo_core.testing._conditions import SCENARIO_BOUNDS
from glompo_core.testing._harness import (
    BatchRecordingTask,
    FakeManagerView,
    HookRecorder,
    Inbox,
    RecordingTask,
    Wired,
    wired,
    wires,
)
from glompo_core.testing._optimizers import (
    ALL_CHECKS,
    check_callstop,
    check_checkpoint,
    check_convergence_message,
    check_inject,
    check_minimizes_sphere,
    check_nan_and_raise,
    check_optimizer,
    check_pause,
    check_registered,
    check_respects_bounds,
    check_scaling,
    check_workers_population,
    parametrize_with_checks,
)
from glompo_core.testing._spawning import GENERATOR_BOUNDS

__all__ = [
    "ALL_CHECKS",
    "COMPONENT_CHECKS",
    "GENERATOR_BOUNDS",
    "SCENARIO_BOUNDS",
    "BackendTaskError",
    "BatchRecordingTask",
    "FakeManagerView",
    "HookRecorder",
    "Inbox",
    "RecordingTask",
    "Wired",
    "check_callstop",
    "check_checkpoint",
    "check_component",
    "check_convergence_message",
    "check_inject",
    "check_minimizes_sphere",
    "check_nan_and_raise",
    "check_optimizer",
    "check_pause",
    "check_registered",
    "check_respects_bounds",
    "check_scaling",
    "check_workers_population",
    "component_kind",
    "parametrize_with_checks",
    "parametrize_with_component_checks",
    "wired",
    "wires",
]
