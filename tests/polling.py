"""Waiting in tests: poll a condition with a deadline (never sleep-and-hope).

One helper for every suite; the support modules re-export it. The default deadline is
generous because the test machine is shared: nothing asserts on speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
DEFAULT_TIMEOUT = 180.0


def wait_for(
    predicate: Callable[[], T],
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.1,
    *,
    deadline: float | None = None,
) -> T:
    """Call ``predicate`` until it returns something truthy and return that value; fail the
    test (``AssertionError``) after ``timeout`` seconds (``deadline`` is the same, by name)."""
    limit = deadline if deadline is not None else timeout
    end = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {limit}s")
        time.sleep(interval)
