"""``glompo dashboard RUN_DIR``: the page of a finished run, served read-only.

:func:`configure` and :func:`run` are what the hook ``glompo_register_commands`` in
:mod:`glompo_dashboard.hooks` registers. The server runs until Ctrl-C (or ``--once``:
until the first page has loaded its state, for scripts and tests).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import threading

from glompo_core.errors import GloMPOError

__all__ = ["DESCRIPTION", "HELP", "configure", "run"]

HELP = "serve the dashboard of a finished run (read-only)"
DESCRIPTION = ("Serve the dashboard page of a finished run from its HDF5 log "
               "(glompo_log.h5, read with glompo-hdf5) and YAML summary "
               "(glompo_manager_log.yml), read-only; from the summary alone when there is no "
               "log. Needs the glompo-dashboard plugin.")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``glompo dashboard`` to its parser.

    Parameters
    ----------
    parser
        The parser of ``glompo dashboard``, made by the ``glompo`` command.
    """
    parser.add_argument("run_dir", help="the run's working directory")
    parser.add_argument("--port", type=int, default=8765,
                        help="TCP port (default 8765; a taken port: the next free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--strict-port", action="store_true",
                        help="fail if the port is taken instead of taking the next free one")


def run(args: argparse.Namespace, *, ready: threading.Event | None = None,
        stop: threading.Event | None = None) -> int:
    """Serve the run's page until Ctrl-C (or until ``stop`` is set).

    Parameters
    ----------
    args
        The parsed command line (``run_dir``, ``port``, ``host``, ``strict_port``).
    ready
        Set once the server listens (tests); its URL is then in ``args.url``.
    stop
        Ends the serving when set (tests); default: Ctrl-C.

    Returns
    -------
    int
        0; bad input raises :class:`~glompo_core.errors.GloMPOError` (one line, exit 2).
    """
    from glompo_dashboard.offline import load_run_dir
    from glompo_dashboard.server import DashboardServer, bind_socket, make_app

    if not 0 <= args.port <= 65535:
        raise GloMPOError(f"--port {args.port}: give a TCP port number, 0 to 65535")
    state = load_run_dir(args.run_dir)
    token = secrets.token_urlsafe(24)
    sock = bind_socket(args.host, args.port, search=0 if args.strict_port else 20,
                       say=lambda text: print(text, file=sys.stderr, flush=True))
    stopping = threading.Event()
    server = DashboardServer(make_app(state, token, control=None, stopping=stopping), sock,
                             stopping)
    server.start()
    args.url = f"http://{args.host}:{server.port}/?token={token}"
    print(f"GloMPO dashboard ({state.note}): {args.url}", file=sys.stderr, flush=True)
    print("press Ctrl-C to stop", file=sys.stderr, flush=True)
    if ready is not None:
        ready.set()
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
