"""The dashboard's web server: a Starlette app served by uvicorn from a thread.

Routes (every one but the static files needs the session's token, as ``?token=...``, an
``Authorization: Bearer ...`` header or an ``X-GloMPO-Token`` header; none: 401, a wrong
one: 403):

- ``GET /`` the page; ``GET /static/...`` its script, style and plotly.js (from the
  installed ``plotly`` package: no CDN);
- ``GET /api/state`` the whole :meth:`~glompo_dashboard.state.RunState.snapshot`;
- ``GET /api/events?since=V`` server-sent events, one ``data:`` line of JSON (a
  :meth:`~glompo_dashboard.state.RunState.delta`) per change, at most one per
  ``interval``; ``limit=N`` closes the stream after N events;
- ``POST /api/stop/{opt_id}``, ``POST /api/checkpoint``, ``POST /api/end``: the run's
  controls (409 in a read-only view, 503 when the run gave no control).
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import json
import logging
import socket
import threading
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from glompo_core.errors import GloMPOError
from glompo_dashboard.state import RunState

__all__ = ["DashboardServer", "PortInUseError", "bind_socket", "make_app", "plotly_js"]

_log = logging.getLogger("glompo.dashboard")
STATIC = Path(str(resources.files("glompo_dashboard") / "static"))


class PortInUseError(GloMPOError, OSError):
    """The port asked for is taken (and no free one was to be searched for)."""


def plotly_js() -> Path:
    """The plotly.js bundled in the installed ``plotly`` Python package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise GloMPOError(f"the plotly package at {path.parent.parent} has no bundled "
                          "plotly.min.js: reinstall it (pip install --force-reinstall plotly)")
    return path


def bind_socket(host: str, port: int, *, search: int = 20,
                say: Callable[[str], None] | None = None) -> socket.socket:
    """A listening TCP socket on ``host:port``, or on the next free port above it.

    Parameters
    ----------
    host, port
        Where to listen; port 0 takes any free port.
    search
        How many ports above ``port`` to try when it is taken (0: none).
    say
        Told, in one line, when the port is taken and which one is used instead.

    Raises
    ------
    PortInUseError
        ``port`` (and the ``search`` next ones) are taken.
    """
    for candidate in range(port, port + search + 1) if port else [0]:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise GloMPOError(f"the dashboard cannot listen on {host}:{candidate}: "
                                  f"{exc.strerror}") from None
            continue
        sock.listen(64)
        if candidate != port and say is not None:
            say(f"port {port} is in use: the dashboard takes port {candidate} instead")
        return sock
    if search:
        raise PortInUseError(f"ports {port} to {port + search} on {host} are all in use: give "
                             "another port (--port PORT, or dashboard: {port: PORT})")
    raise PortInUseError(f"port {port} on {host} is in use: give another port (--port PORT)")


def _token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-glompo-token") or request.query_params.get("token")


def make_app(state: RunState, token: str, *, control: Callable[[], Any] | None = None,
             interval: float = 0.5, stopping: threading.Event | None = None,
             tick: Callable[[], None] | None = None) -> Starlette:
    """The dashboard's ASGI app.

    Parameters
    ----------
    state
        What the page shows.
    token
        The session's access token.
    control
        Returns the run's :class:`~glompo_core.control.RunControl` (or None while there is
        none); None for a read-only view.
    interval
        Seconds between two events of a stream (events are batched in between).
    stopping
        Set when the server shuts down: open streams end.
    tick
        Called before each event is made (refreshes the run panel's facts).
    """
    stop_event = stopping or threading.Event()

    def check(request: Request) -> Response | None:
        given = _token_of(request)
        if not given:
            return JSONResponse({"error": "this dashboard needs its access token: open the "
                                          "URL it printed (…/?token=...)"}, status_code=401)
        if not hmac.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"error": "wrong access token: open the URL the dashboard "
                                          "printed for this session"}, status_code=403)
        return None

    async def page(request: Request) -> Response:
        return check(request) or FileResponse(STATIC / "index.html")

    async def plotly(request: Request) -> Response:
        return FileResponse(plotly_js(), media_type="text/javascript")

    async def snapshot(request: Request) -> Response:
        if (refused := check(request)) is not None:
            return refused
        if tick is not None:
            tick()
        return JSONResponse(state.snapshot())

    async def events(request: Request) -> Response:
        if (refused := check(request)) is not None:
            return refused
        try:
            since = int(request.query_params.get("since", "0"))
            limit = int(request.query_params.get("limit", "0"))
        except ValueError:
            return JSONResponse({"error": "since and limit are integers"}, status_code=400)

        async def stream() -> AsyncIterator[str]:
            seen, sent = since, 0
            yield "retry: 2000\n\n"
            while not stop_event.is_set():
                if tick is not None:
                    tick()
                if state.version > seen or sent == 0:
                    delta = state.delta(seen)
                    seen = delta["version"]
                    sent += 1
                    yield f"data: {json.dumps(delta, separators=(',', ':'))}\n\n"
                    if limit and sent >= limit:
                        return
                else:
                    yield ": idle\n\n"  # a comment: keeps proxies from closing the stream
                for _ in range(max(1, round(interval / 0.05))):  # ends soon after a stop
                    if stop_event.is_set():
                        break
                    await asyncio.sleep(min(interval, 0.05))
            if state.version > seen:  # the last changes (the run's end) before closing
                yield f"data: {json.dumps(state.delta(seen), separators=(',', ':'))}\n\n"
            yield "event: closed\ndata: {}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    def control_call(request: Request, action: Callable[[Any], Response]) -> Response:
        if (refused := check(request)) is not None:
            return refused
        if control is None:
            return JSONResponse({"error": "this is a read-only view of a finished run"},
                                status_code=409)
        handle = control()
        if handle is None:
            return JSONResponse({"error": "the run gave the dashboard no control (a GloMPO "
                                          "without RunControl)"}, status_code=503)
        return action(handle)

    async def stop(request: Request) -> Response:
        try:
            opt_id = int(request.path_params["opt_id"])
        except ValueError:
            return JSONResponse({"error": "the optimizer id is an integer"}, status_code=400)

        def act(handle: Any) -> Response:
            done = handle.stop_optimizer(opt_id, "user request (dashboard)")
            if not done:
                return JSONResponse({"error": f"optimizer {opt_id} is not running"},
                                    status_code=409)
            return JSONResponse({"ok": True, "stopping": opt_id})

        return control_call(request, act)

    async def checkpoint(request: Request) -> Response:
        def act(handle: Any) -> Response:
            handle.checkpoint()
            return JSONResponse({"ok": True, "checkpoint": "requested"})

        return control_call(request, act)

    async def end(request: Request) -> Response:
        def act(handle: Any) -> Response:
            handle.end_run("dashboard")
            return JSONResponse({"ok": True, "end": "requested"})

        return control_call(request, act)

    routes = [
        Route("/", page),
        Route("/static/plotly.min.js", plotly),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        Route("/api/state", snapshot),
        Route("/api/events", events),
        Route("/api/stop/{opt_id}", stop, methods=["POST"]),
        Route("/api/checkpoint", checkpoint, methods=["POST"]),
        Route("/api/end", end, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.stopping = stop_event
    return app


def _server_class() -> type:
    """uvicorn's Server, told to stop at once rather than at its next 0.1 s tick."""
    import uvicorn

    class _Server(uvicorn.Server):
        _wake: asyncio.Event | None = None
        _loop: asyncio.AbstractEventLoop | None = None

        async def main_loop(self) -> None:
            self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
            counter = 0
            while not await self.on_tick(counter):
                counter = (counter + 1) % 864000
                try:
                    await asyncio.wait_for(self._wake.wait(), 0.1)
                except asyncio.TimeoutError:
                    pass

        def wake(self) -> None:
            """From any thread: look at should_exit now."""
            if self._loop is not None and self._wake is not None:
                try:
                    self._loop.call_soon_threadsafe(self._wake.set)
                except RuntimeError:  # the loop has already closed
                    pass

    return _Server


class DashboardServer:
    """Serves an app with uvicorn in a daemon thread until :meth:`stop`.

    Parameters
    ----------
    app
        The ASGI app (:func:`make_app`).
    sock
        A bound, listening socket (:func:`bind_socket`).
    stopping
        The event the app's streams watch; set by :meth:`stop`.
    """

    def __init__(self, app: Starlette, sock: socket.socket,
                 stopping: threading.Event) -> None:
        import uvicorn

        self.sock = sock
        self.host, self.port = sock.getsockname()[:2]
        self._stopping = stopping
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=3)
        self._server = _server_class()(config)
        self._thread = threading.Thread(target=self._serve, name="glompo-dashboard",
                                        daemon=True)
        self.error: BaseException | None = None

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self.sock])
        except BaseException as exc:  # reported by start()/stop(), never lost
            self.error = exc
            _log.exception("the dashboard's server failed")

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        waited = threading.Event()
        while not self._server.started and self._thread.is_alive():
            waited.wait(0.02)
            timeout -= 0.02
            if timeout <= 0:
                break
        if not self._server.started:
            self.stop()
            raise GloMPOError(f"the dashboard's server did not start: {self.error!r}")

    def stop(self, timeout: float = 10.0) -> None:
        """Close the streams, shut the server down and join its thread; the port is free."""
        self._stopping.set()
        self._server.should_exit = True
        self._server.wake()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.sock.close()

    @property
    def running(self) -> bool:
        """True while the server's thread runs."""
        return self._thread.is_alive()
