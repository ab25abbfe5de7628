"""Fixtures of glompo-dashboard's tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import LiveRun


@pytest.fixture
def live_run(tmp_path: Path) -> Iterator[LiveRun]:
    """A running run with a live dashboard; ended (through the page's API) afterwards."""
    run = LiveRun(tmp_path / "run").start()
    try:
        yield run
    finally:
        run.end()
