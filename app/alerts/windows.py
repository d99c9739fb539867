"""Maintenance windows: is a monitor inside one at a given moment?

A one-off window runs from starts_at to ends_at (UTC). A recurring one starts at each
time its five-field cron expression (croniter) names in its time zone (zoneinfo) and
lasts duration_minutes; the cron fields are read as wall-clock time in that zone, so a
window "0 2 * * *" in Europe/Berlin starts at 02:00 local time on both sides of a DST
change (on the night the clocks skip 02:00, croniter moves it to the next existing time).
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
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time zone {name[:64]!r}: use an IANA name such as Europe/Berlin or UTC.") from None


def is_active(window: MaintenanceWindow, at: datetime) -> bool:
    """Whether `window` covers `at` (naive UTC)."""
    if window.cron is None:
        return (window.starts_at is not None and window.ends_at is not None
                and window.starts_at <= at < window.ends_at)
    from croniter import croniter

    zone = ZoneInfo(window.timezone)
    moment = at.replace(tzinfo=timezone.utc).astimezone(zone)
    # The latest start at or before `at`: croniter.get_prev from just after `at`.
    last_start = croniter(window.cron, moment + timedelta(microseconds=1)).get_prev(datetime)
    # In UTC: two times of one zone subtract as wall-clock times, wrong across a DST change.
    elapsed = at.replace(tzinfo=timezone.utc) - last_start.astimezone(timezone.utc)
    return elapsed < timedelta(minutes=window.duration_minutes or 0)


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
