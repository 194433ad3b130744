"""Tool requirements of tests: skip on a developer machine without the tool, fail in CI.

CI installs every tool the suite needs (the Makefile and the machine image), so a test that
would skip there is a test that never runs: with ``CI`` set, a missing tool is a failure.
"""

from __future__ import annotations

import os

import pytest


def require(ok: bool, reason: str) -> None:
    """Skip (developer machine) or fail (``CI`` set) unless ``ok``."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must install it)", pytrace=False)
    pytest.skip(reason)
