"""FileLogger passes GloMPO's logger conformance checks (glompo_core.testing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glompo_hdf5 import FileLogger

from glompo_core.testing import parametrize_with_component_checks


@parametrize_with_component_checks([FileLogger, (FileLogger, {"window": 4})])
def test_filelogger_conforms(component: Any, check: Callable[[Any], None]) -> None:
    check(component)
