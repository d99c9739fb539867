"""Maintenance windows: is a monitor inside one at a given moment?

A one-off window runs from starts_at to ends_at (UTC). A recurring one starts at each
time its five-field cron expression (croniter) names in its time zone (zoneinfo) and
lasts duration_minutes; the cron fields are read as wall-clock time in that zone, so a
window "0 2 * * *" in Europe/Berlin starts at 02:00 local time on both sides of a DST
change. The two nights of a change are in `starts_between`: once, never twice, never
not at all. `is_active` and `next_start` (what the UI shows) both come from it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from app.extensions import db
from app.models.alerting import MaintenanceWindow, window_monitors

MAX_DURATION_MINUTES = 7 * 24 * 60


def validate_cron(expression: str) -> None:
    from croniter import croniter  # here, not at the top: job pods import this module

    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError("Enter a cron expression of five fields, e.g. 0 2 * * 0 (Sundays at 02:00).")


def validate_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "Europe"
        raise ValueError(f"Unknown time zone {name[:64]!r}: use an IANA name such as Europe/Berlin or UTC.") from None


def is_active(window: MaintenanceWindow, at: datetime) -> bool:
    """Whether `window` covers `at` (naive UTC): a start in (at - duration, at]."""
    if window.cron is None:
        return (window.starts_at is not None and window.ends_at is not None
                and window.starts_at <= at < window.ends_at)
    duration = timedelta(minutes=window.duration_minutes or 0)
    tick = timedelta(microseconds=1)
    return bool(starts_between(window, at - duration + tick, at + tick))


def starts_between(window: MaintenanceWindow, since: datetime, until: datetime) -> list[datetime]:
    """The starts (naive UTC) of recurring `window` in [since, until), in order.

    The cron fields match wall-clock times in the window's zone (croniter on naive times:
    pure wall-clock arithmetic), each turned into UTC the way PEP 495 reads a wall time
    with fold=0: a repeated time (the night the clocks go back) starts the window once,
    at its first occurrence; a skipped time (the night they go forward) starts it that
    much later, as if the clock had not jumped yet (02:30 in Berlin becomes 03:30 CEST).
    """
    from croniter import croniter  # here, not at the top: job pods import this module

    zone = ZoneInfo(window.timezone)
    margin = timedelta(hours=3)  # wider than any DST shift

    def wall(moment: datetime) -> datetime:
        return moment.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)

    found = []
    walls = croniter(window.cron, wall(since) - margin)
    while (local := walls.get_next(datetime)) < wall(until) + margin:
        start = local.replace(tzinfo=zone, fold=0).astimezone(timezone.utc).replace(tzinfo=None)
        if since <= start < until:
            found.append(start)
    return sorted(set(found))


def next_start(window: MaintenanceWindow, after: datetime) -> datetime | None:
    """The first start of `window` after `after` (naive UTC), looking up to a year ahead."""
    if window.cron is None:
        return window.starts_at if window.starts_at and window.starts_at > after else None
    for days in (2, 40, 370):
        starts = starts_between(window, after + timedelta(microseconds=1), after + timedelta(days=days))
        if starts:
            return starts[0]
    return None


def monitors_in_maintenance(monitor_ids: list[int], at: datetime) -> set[int]:
    """Which of `monitor_ids` are inside an active window at `at` (in the current session)."""
    if not monitor_ids:
        return set()
    windows = list(db.session.scalars(sa.select(MaintenanceWindow)))
    active = [w for w in windows if is_active(w, at)]
    if not active:
        return set()
    if any(w.all_monitors for w in active):
        return set(monitor_ids)
    covered = db.session.scalars(
        sa.select(window_monitors.c.monitor_id).where(
            window_monitors.c.window_id.in_([w.id for w in active]),
            window_monitors.c.monitor_id.in_(monitor_ids)))
    return set(covered)
