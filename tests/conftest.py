"""Test-suite wide settings (helpers live in tests/helpers.py)."""

import os

import glompo_core._decisions

# Every method documented as "needs the manager's lock" asserts that it holds it, in this
# process and in the runs the tests start in subprocesses.
os.environ["GLOMPO_CHECK_LOCKS"] = "1"
glompo_core._decisions.CHECK_LOCKS = True
