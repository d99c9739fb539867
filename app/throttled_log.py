"""A logger wrapper that says a repeated warning at most once per interval.

During an outage (Redis, the apiserver) the same failure happens on every
request or retry; logging each one floods the logs and hides the first, useful
line. This keeps the first, then one line per interval with a count of what it
held back. The standard library has no such filter.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any


class ThrottledLog:
    """Logs a message at most once per `interval` seconds (monotonic clock)."""

    def __init__(self, logger: logging.Logger, interval: float = 60.0) -> None:
        self._logger = logger
        self._interval = interval
        self._last = -float("inf")
        self._suppressed = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: Any) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self._interval:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        suffix = f" ({suppressed} similar suppressed)" if suppressed else ""
        self._logger.warning(message + suffix, *args)
