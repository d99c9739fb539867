"""Waiting for asynchronous things in tests: controllers, RBAC caches, timers, servers."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def eventually(fn: Callable[[], T], timeout: float = 10.0, interval: float = 0.2) -> T:
    """Retry `fn` until it stops raising; after `timeout`, its last exception propagates."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


def wait_for(predicate: Callable[[], T], timeout: float, interval: float = 0.2) -> T:
    """Poll `predicate` until it returns something truthy; return its last value either way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
