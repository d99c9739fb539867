"""A monitor's numbers: sizes, ranges, choices and defaults, as plain values.

The declaration (app/monitor_schema.py) builds its fields from these, and the table
(app/models/monitor.py) its column sizes and defaults. They live apart from the
declaration only so that importing the models, which every job pod does, does not
import pydantic (about 80 ms of start-up; see bench/jobstart).
"""
from __future__ import annotations

from app.alerts.thresholds import DEFAULT_DOWN_AFTER, DEFAULT_UP_AFTER, MAX_CHECKS_IN_A_ROW, REMINDER_MINUTES_RANGE

METHODS = ("GET", "HEAD", "POST")
INTERVALS_MINUTES = (1, 5, 15, 60)
STATES = ("up", "down", "pending", "paused")
NAME_MAX = 100
URL_MAX = 2048
KEYWORD_MAX = 200
TIMEOUT_RANGE = (1, 60)
STATUS_RANGE = (100, 599)
CHECKS_IN_A_ROW_RANGE = (1, MAX_CHECKS_IN_A_ROW)

DEFAULTS = {
    "method": "GET",
    "interval_minutes": 5,
    "timeout_seconds": 10.0,
    "expected_status": (200, 399),
    "keyword": None,
    "enabled": True,
    "down_after": DEFAULT_DOWN_AFTER,
    "up_after": DEFAULT_UP_AFTER,
    "notify_recovery": True,
    "renotify_minutes": None,
}

__all__ = ["METHODS", "INTERVALS_MINUTES", "STATES", "NAME_MAX", "URL_MAX", "KEYWORD_MAX", "TIMEOUT_RANGE",
           "STATUS_RANGE", "CHECKS_IN_A_ROW_RANGE", "REMINDER_MINUTES_RANGE", "DEFAULTS"]
