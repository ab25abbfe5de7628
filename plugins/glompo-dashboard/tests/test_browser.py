"""The page in a real headless Chromium (Playwright): it loads, shows the optimizers of a
running run and updates, its stop button stops the chosen optimizer (checked in the log),
and it makes the docs' screenshot.

Chromium comes from the system's packages (``scripts/install-test-browser`` installs
Debian's); Playwright's own browser download is never used. Without a Chromium these
tests skip, saying why. ``GLOMPO_UPDATE_SCREENSHOT=1`` copies the screenshot to
``docs/img/dashboard.png``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from glompo_dashboard.server import DashboardServer, bind_socket, make_app
from glompo_dashboard.state import RunState
from glompo_hdf5 import read_log
from helpers import LiveRun

from glompo_core.plugins import PluginManager
from glompo_core.stoppers import BestUnmoving

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="needs playwright (pip install playwright)")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[3]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium found (chromium, chromium-browser): run "
                    "scripts/install-test-browser as root, or apt-get install chromium")
    with playwright_api.sync_playwright() as p, \
            tempfile.TemporaryDirectory(prefix="glompo-chromium-") as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1050})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    page = browser_context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() of Stop / End run
    try:
        yield page
    finally:
        page.close()


def _version(page: Any) -> int:
    return int(page.get_attribute("body", "data-version") or 0)


def test_the_page_shows_a_running_run_updates_and_its_stop_button_stops(
        page: Any, tmp_path: Path) -> None:
    run = LiveRun(tmp_path / "run", delay=0.002, max_jobs=3).start()
    try:
        page.goto(run.dashboard.url)
        page.wait_for_selector("#opt-table tbody tr[data-status=running]", timeout=30_000)
        first = _version(page)
        page.wait_for_function(f"Number(document.body.dataset.version) > {first}",
                               timeout=30_000)  # it updates by itself
        traces = page.evaluate("document.getElementById('plot-trajectories').data"
                               ".filter(t => t.mode === 'lines').length")
        assert traces == page.locator("#opt-table tbody tr").count() >= 1
        assert page.locator("#plot-trajectories .scatterlayer .trace").count() >= traces
        row = page.locator("#opt-table tbody tr[data-status=running]").first
        target = int(row.get_attribute("data-opt-id") or 0)
        page.click(f"button.stop[data-opt-id='{target}']")
        page.wait_for_selector(f"#opt-table tbody tr[data-opt-id='{target}'][data-status=stopped]",
                               timeout=30_000)
        assert "stop optimizer" in page.inner_text("#message")
        page.click("#btn-end")  # the run ends as SIGTERM does
        run.thread.join(120)
        page.wait_for_selector("#status.finished", timeout=30_000)
    finally:
        run.end()
    log = read_log(Path(run.manager.working_dir) / "glompo_log.h5")
    assert "dashboard" in (log.optimizers[target].end_cond or "")
    others = [h.end_cond or "" for oid, h in log.optimizers.items() if oid != target]
    assert not any("dashboard" in text for text in others)  # only the chosen one
    assert run.result.stats["end_state"] == "SIGTERM"


def test_a_page_without_the_token_is_refused(page: Any, live_run: LiveRun) -> None:
    response = page.goto(live_run.base + "/")
    assert response is not None and response.status == 401


def test_screenshot_of_the_live_page(page: Any, tmp_path: Path) -> None:
    """A run of several optimizer types, stoppers and a checkpoint, as the docs show it."""
    pm = PluginManager()  # the installed plugins: CMA-ES and SciPy's optimizers too
    optimizers: list[Any] = ["RandomOptimizer"]
    for name in ("CMAOptimizer", "nelder-mead"):
        if pm.has("optimizer", name):
            optimizers.append(name)
    run = LiveRun(tmp_path / "run", delay=0.003, max_jobs=4, optimizers=optimizers, pm=pm,
                  fmax=60_000,
                  dims=4, stoppers=BestUnmoving(calls=300, tol=0.01)).start()
    shot = tmp_path / "dashboard.png"
    try:
        page.goto(run.dashboard.url)
        page.wait_for_function("document.querySelectorAll('#opt-table tbody tr').length >= 8",
                               timeout=60_000)
        page.wait_for_selector("#opt-table tbody tr[data-status=stopped]", timeout=60_000)
        page.click("#btn-checkpoint")
        page.wait_for_function("document.querySelector('#plot-trajectories .shapelayer path')"
                               " !== null", timeout=60_000)  # the checkpoint's line
        page.wait_for_function("document.querySelectorAll('#opt-table tbody tr').length >= 12",
                               timeout=60_000)
        page.screenshot(path=str(shot), full_page=True)
    finally:
        run.end()
    assert shot.stat().st_size > 20_000
    if os.environ.get("GLOMPO_UPDATE_SCREENSHOT"):
        target = REPO / "docs" / "img" / "dashboard.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


def test_sixty_optimizers_stay_readable_and_the_log_scale_toggles(page: Any) -> None:
    """60 optimizers of 3 types: 3 colours, a legend of types (not of 60 lines)."""
    state = RunState()
    types = ("CMAOptimizer", "NelderMead", "RandomOptimizer")
    for i in range(1, 61):
        state.optimizer_started(i, types[i % 3], {"workers": 1})
        for k in range(20):
            state.batch(i, np.array([i * 100 + k]), np.zeros((1, 3)),
                        np.array([10.0 ** (3 - k / 5) + i]))
        if i % 4 == 0:
            state.optimizer_ended(i, "stopped", "BestUnmoving(calls=300) = True")
    state.mode = "read-only"
    state.update_run(status="finished")
    stopping = threading.Event()
    server = DashboardServer(make_app(state, "t0ken", control=None, stopping=stopping),
                             bind_socket("127.0.0.1", 0), stopping)
    server.start()
    try:
        page.goto(f"http://127.0.0.1:{server.port}/?token=t0ken")
        page.wait_for_function("document.querySelectorAll('#opt-table tbody tr').length == 60",
                               timeout=30_000)
        lines = page.evaluate("document.getElementById('plot-trajectories').data"
                              ".filter(t => t.mode === 'lines')"
                              ".map(t => [t.name, t.line.color, t.showlegend])")
        assert len(lines) == 60
        colours = {name: {colour for n, colour, _ in lines if n == name} for name in types}
        assert all(len(c) == 1 for c in colours.values())  # one colour per type
        assert len({c for cs in colours.values() for c in cs}) == 3
        assert sorted(name for name, _, shown in lines if shown) == sorted(types)
        legend = page.evaluate("Array.from(document.querySelectorAll("
                               "'#plot-trajectories .legend .traces')).map(e => e.textContent)")
        assert sorted(t.strip() for t in legend) == sorted([*types, "stopped"])
        assert page.locator("button.stop").count() == 0  # read-only: no controls
        assert page.evaluate("document.getElementById('plot-trajectories').layout"
                             ".yaxis.type") == "linear"
        page.check("#log-scale")
        assert page.evaluate("document.getElementById('plot-trajectories').layout"
                             ".yaxis.type") == "log"
    finally:
        server.stop()
