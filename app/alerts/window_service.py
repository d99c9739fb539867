"""Maintenance window reads and writes, shared by the pages (app/web/windows.py) and the
JSON API (app/web/api_windows.py).

Guarantees:
- ``save`` is the one validator of a window: it checks every field and raises
  InvalidWindow, with messages per field, before anything is written. So whoever calls
  it, nothing reaches the database that check-monitors could trip over (a cron
  expression that never matches, a time zone that does not load, a start after its end).
- A window is one-off (``kind`` "one_off": starts_at < ends_at, at most 31 days apart) or
  recurring ("recurring": a five-field cron expression and 1 to 10080 minutes), never
  both: only the chosen kind's fields are read and the other kind's are cleared.
- One-off times without a zone (what the form sends) are wall-clock times in the window's
  time zone; times with one (the API's RFC 3339) are absolute. Both are stored as naive
  UTC. A wall-clock time that a DST change skips or repeats is read with fold=0, the
  offset in force before the change.
- A window covers all monitors, or at least one chosen monitor, each of which exists when
  the window is saved (a monitor deleted later simply drops out of it).
- The display helpers (``active_now``, ``upcoming``, ``next_start``, ``current_end``) agree
  with app/alerts/windows.is_active, the rule check-monitors applies: the starts of a
  recurring window come from windows.starts_between (its cron read as wall-clock time in
  its own zone), on the nights of a DST change too.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Mapping
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
# At the top, unlike app/alerts/windows.py (which job pods import): only the web process imports
# this module, and croniter's first import runs a subprocess (platform.architecture), better at
# start-up than inside a request.
from croniter import croniter
from sqlalchemy.exc import IntegrityError

from app import records
from app.alerts import windows
from app.alerts.windows import MAX_DURATION_MINUTES, is_active, validate_cron, validate_timezone
from app.extensions import db
from app.field_errors import FieldErrors
from app.models import MaintenanceWindow, Monitor, utcnow

__all__ = ["ONE_OFF", "RECURRING", "KINDS", "FIELDS_OF", "InvalidWindow", "list_windows", "get_or_none", "get_or_404",
           "kind_of", "values_of", "save", "validate", "delete", "active_now", "upcoming", "next_start",
           "current_end", "known_zones", "local_time"]

ONE_OFF, RECURRING = "one_off", "recurring"
KINDS = (ONE_OFF, RECURRING)
FIELDS_OF = {ONE_OFF: ("starts_at", "ends_at"), RECURRING: ("cron", "duration_minutes")}
MAX_NAME = 100
MAX_CRON = 100  # the column's length
MAX_ONE_OFF = timedelta(days=31)
YEARS = (2000, 9998)  # within every database's DATETIME, with room for any offset


class InvalidWindow(FieldErrors):
    """The values are not a valid window; ``fields`` maps each field to its messages."""


# -- reads ------------------------------------------------------------------------------------

def list_windows() -> list[MaintenanceWindow]:
    return list(db.session.scalars(sa.select(MaintenanceWindow).order_by(MaintenanceWindow.name,
                                                                         MaintenanceWindow.id)))


def get_or_none(window_id: int) -> MaintenanceWindow | None:
    return records.get_or_none(MaintenanceWindow, window_id)


def get_or_404(window_id: int) -> MaintenanceWindow:
    return records.get_or_404(MaintenanceWindow, window_id)


def kind_of(window: MaintenanceWindow) -> str:
    return RECURRING if window.cron is not None else ONE_OFF


def values_of(window: MaintenanceWindow) -> dict[str, Any]:
    """The window as ``save`` takes it (times aware, in UTC): the base of a partial change."""
    def aware(moment: datetime | None) -> datetime | None:
        return moment.replace(tzinfo=timezone.utc) if moment is not None else None

    return {"name": window.name, "kind": kind_of(window), "starts_at": aware(window.starts_at),
            "ends_at": aware(window.ends_at), "cron": window.cron, "duration_minutes": window.duration_minutes,
            "timezone": window.timezone, "all_monitors": window.all_monitors,
            "monitor_ids": sorted(m.id for m in window.monitors)}


# -- writes -----------------------------------------------------------------------------------

def save(window: MaintenanceWindow, values: Mapping[str, Any]) -> MaintenanceWindow:
    """Validate `values` (the keys of ``values_of``) and, only if all are valid, apply and
    commit them; InvalidWindow otherwise, with nothing written."""
    clean = validate(values)
    monitors = clean.pop("monitors")
    for key, value in clean.items():
        setattr(window, key, value)
    window.monitors = monitors
    db.session.add(window)
    try:
        db.session.commit()
    except IntegrityError:  # a chosen monitor was deleted since it was looked up
        db.session.rollback()
        raise InvalidWindow({"monitor_ids": ["A chosen monitor no longer exists."]}) from None
    return window


def delete(window: MaintenanceWindow) -> None:
    db.session.delete(window)  # its rows in maintenance_window_monitors go with it
    db.session.commit()


def validate(values: Mapping[str, Any]) -> dict[str, Any]:
    """The column values (and ``monitors``) of a valid window, or InvalidWindow."""
    errors: dict[str, list[str]] = {}

    def check(field: str, rule, *args):
        try:
            return rule(*args)
        except ValueError as exc:
            errors.setdefault(field, []).append(str(exc))
            return None

    clean: dict[str, Any] = {"name": check("name", _name, values.get("name"))}
    zone = check("timezone", _zone, values.get("timezone"))
    clean["timezone"] = zone.key if zone else None
    kind = values.get("kind")
    clean.update(starts_at=None, ends_at=None, cron=None, duration_minutes=None)
    if kind == ONE_OFF:
        starts = check("starts_at", _moment, values.get("starts_at"), zone, "Enter when the window starts.")
        ends = check("ends_at", _moment, values.get("ends_at"), zone, "Enter when the window ends.")
        if starts is not None and ends is not None:
            check("ends_at", _span, starts, ends)
        clean.update(starts_at=starts, ends_at=ends)
    elif kind == RECURRING:
        clean["cron"] = check("cron", _cron, values.get("cron"), zone)
        clean["duration_minutes"] = check("duration_minutes", _duration, values.get("duration_minutes"))
    else:
        errors["kind"] = ['Choose "one_off" (from a start to an end) or "recurring" (a cron schedule).']
    clean["all_monitors"] = values.get("all_monitors") is True
    clean["monitors"] = check("monitor_ids", _monitors, clean["all_monitors"], values.get("monitor_ids"))
    if errors:
        raise InvalidWindow(errors)
    return clean


def _name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise ValueError("Give the window a name.")
    if len(name) > MAX_NAME:
        raise ValueError(f"Use at most {MAX_NAME} characters.")
    if _has_control(name):
        raise ValueError("Control characters are not allowed.")
    return name


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    """The IANA time zone names this machine has (the form offers them as suggestions)."""
    return frozenset(available_timezones())


def _zone(value: Any) -> ZoneInfo:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("Enter a time zone, such as UTC or Europe/Berlin.")
    # Only the names the zone database lists: ZoneInfo itself raises OSError on some
    # other keys ("Europe" is a directory; a very long name is too long for a file name).
    if value not in known_zones():
        raise ValueError(f"Unknown time zone {value[:64]!r}: use an IANA name such as Europe/Berlin or UTC.")
    return validate_timezone(value)


def _moment(value: Any, zone: ZoneInfo | None, missing: str) -> datetime:
    """`value` as naive UTC: a naive datetime is wall-clock time in `zone`."""
    if value is None:
        raise ValueError(missing)
    if not isinstance(value, datetime):
        raise ValueError("Enter a date and time.")
    try:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone or timezone.utc)
        moment = aware.astimezone(timezone.utc).replace(tzinfo=None)
    except (OverflowError, ValueError):
        moment = None
    if moment is None or not YEARS[0] <= moment.year <= YEARS[1]:
        raise ValueError(f"Enter a date between the years {YEARS[0]} and {YEARS[1]}.")
    return moment


def _span(starts: datetime, ends: datetime) -> None:
    if ends <= starts:
        raise ValueError("The end must be after the start.")
    if ends - starts > MAX_ONE_OFF:
        raise ValueError(f"A one-off window lasts at most {MAX_ONE_OFF.days} days; "
                         "use a recurring one for regular work.")


def _cron(value: Any, zone: ZoneInfo | None) -> str:
    expression = " ".join(value.split()) if isinstance(value, str) else ""
    if not expression:
        raise ValueError("Enter a cron expression of five fields, e.g. 0 2 * * 0 (Sundays at 02:00).")
    if len(expression) > MAX_CRON or _has_control(expression):
        raise ValueError(f"Use at most {MAX_CRON} printable characters.")
    validate_cron(expression)
    now = local_time(utcnow(), zone or timezone.utc)
    try:  # is_active looks back (get_prev), the list looks ahead (get_next): both must work
        croniter(expression, now).get_prev(datetime)
        croniter(expression, now).get_next(datetime)
    except ValueError:  # CroniterBadDateError: "0 0 30 2 *" names no date that exists
        raise ValueError("This expression never matches a date (such as 30 February).") from None
    return expression


def _duration(value: Any) -> int:
    if value is None:
        raise ValueError("Enter how long each occurrence lasts, in minutes.")
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DURATION_MINUTES:
        raise ValueError(f"Choose between 1 and {MAX_DURATION_MINUTES} minutes (a week).")
    return value


def _monitors(all_monitors: bool, ids: Any) -> list[Monitor]:
    if all_monitors:
        return []  # "all" covers every monitor, present and future: no list to keep
    if not isinstance(ids, (list, tuple)) or any(not isinstance(i, int) or isinstance(i, bool) for i in ids):
        raise ValueError("Give monitors by their numeric ids.")
    wanted = sorted(set(ids))
    if not wanted:
        raise ValueError("Choose the monitors this window covers, or all monitors.")
    in_range = [i for i in wanted if records.in_range(i)]
    found = list(db.session.scalars(sa.select(Monitor).where(Monitor.id.in_(in_range)))) if in_range else []
    missing = sorted(set(wanted) - {m.id for m in found})
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise ValueError(f"There is no monitor with the id {shown}." if len(missing) == 1
                         else f"There are no monitors with the ids {shown}.")
    return found


# -- display ----------------------------------------------------------------------------------

def local_time(moment: datetime, zone) -> datetime:
    """Naive UTC `moment` as an aware time in `zone`."""
    return moment.replace(tzinfo=timezone.utc).astimezone(zone)


def next_start(window: MaintenanceWindow, now: datetime | None = None) -> datetime | None:
    """The next time (naive UTC) after `now` that `window` starts, or None if it never will
    (windows.next_start: the starts is_active itself counts, on DST nights too)."""
    try:
        return windows.next_start(window, now or utcnow())
    except (ValueError, KeyError):  # a row no longer valid (not written by save): show no date
        return None


def current_end(window: MaintenanceWindow, now: datetime | None = None) -> datetime | None:
    """When the occurrence of `window` that covers `now` ends (naive UTC); None outside one."""
    now = now or utcnow()
    if not is_active(window, now):
        return None
    if window.cron is None:
        return window.ends_at
    duration, tick = timedelta(minutes=window.duration_minutes or 0), timedelta(microseconds=1)
    return windows.starts_between(window, now - duration + tick, now + tick)[-1] + duration


def active_now(now: datetime | None = None) -> list[MaintenanceWindow]:
    """The windows in force at `now` (by name)."""
    now = now or utcnow()
    return [window for window in list_windows() if is_active(window, now)]


def upcoming(limit: int = 5, now: datetime | None = None) -> list[tuple[MaintenanceWindow, datetime]]:
    """The next `limit` starts (naive UTC) of windows not in force at `now`, soonest first."""
    now = now or utcnow()
    starts = [(window, next_start(window, now)) for window in list_windows() if not is_active(window, now)]
    return sorted(((w, s) for w, s in starts if s is not None), key=lambda pair: (pair[1], pair[0].name))[:limit]
