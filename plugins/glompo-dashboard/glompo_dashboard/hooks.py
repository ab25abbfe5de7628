"""GloMPO hook implementations of glompo-dashboard (the ``dashboard`` entry point).

Only ``@hookimpl`` functions live here; importing this module imports neither starlette
nor uvicorn (the live dashboard and the command import them when they run).

- the run-file key ``dashboard`` and ``glompo run --dashboard [PORT]``
  (``glompo_register_run_options``): a live page served by the run;
- ``glompo dashboard RUN_DIR`` (``glompo_register_commands``): a finished run's page.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from glompo_core import hookimpl

__all__ = ["build_dashboard", "dashboard_from_flag", "glompo_register_commands",
           "glompo_register_run_options"]

#: The settings of ``dashboard: {...}`` in a run file (the arguments of ``Dashboard``).
SETTINGS = ("port", "host", "max_points", "interval", "quiet")


def build_dashboard(value: Any) -> Any:
    """The live dashboard of a run file's ``dashboard:`` value, or None when it is off.

    ``true`` (port 8765), a port number, or ``{port: 8765, host: 127.0.0.1, max_points:
    2000, interval: 0.5, quiet: false}``; ``false`` or null: no dashboard.

    Raises
    ------
    ValueError
        A value of another form or an unknown setting, with what to write instead.
    """
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    elif isinstance(value, int) and not isinstance(value, bool):
        value = {"port": value}
    if not isinstance(value, dict):
        raise ValueError(f"expected true, a port number or a mapping such as {{port: 8765}}, "
                         f"got {value!r}")
    for key in value:
        if key not in SETTINGS:
            close = difflib.get_close_matches(str(key), SETTINGS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"unknown setting '{key}'{hint} (settings: {', '.join(SETTINGS)})")
    from glompo_dashboard.live import Dashboard

    return Dashboard(**value)


def dashboard_from_flag(text: str | None) -> Any:
    """The ``dashboard:`` value of ``glompo run --dashboard [PORT]``."""
    if text is None:
        return True
    try:
        port = int(text)
    except ValueError:
        raise ValueError("give a port number, e.g. --dashboard 8765") from None
    if not 0 <= port <= 65535:
        raise ValueError("give a port number from 0 to 65535")
    return {"port": port}


@hookimpl
def glompo_register_run_options(register: Callable[..., None]) -> None:
    """Register the run-file key ``dashboard`` and ``glompo run --dashboard [PORT]``."""
    register("dashboard", build_dashboard,
             help="serve a live page of the run in a web browser (default port 8765)",
             flag="--dashboard", metavar="PORT", from_flag=dashboard_from_flag)


@hookimpl
def glompo_register_commands(register: Callable[..., None]) -> None:
    """Register ``glompo dashboard RUN_DIR`` (:mod:`glompo_dashboard.cli`)."""
    from glompo_dashboard import cli

    register("dashboard", cli.run, help=cli.HELP, description=cli.DESCRIPTION,
             configure=cli.configure)
