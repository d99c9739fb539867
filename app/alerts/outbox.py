"""Queueing notifications: one outbox row per (incident event, channel), in the caller's transaction.

The caller (check-monitors, the reminder sweep) holds the monitor's row lock and commits
the state change, the incident and these rows together: if the transaction rolls back,
no message is queued; if it commits, every message is, exactly once (the unique
idempotency key refuses a second row for the same event and channel).

Nothing is queued for a monitor inside a maintenance window (the caller marks the
incident instead), nor for a monitor without channels.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models.alerting import Notification, monitor_channels
from app.models.base import iso_utc

TITLES = {"down": "DOWN: {name}", "up": "UP again: {name}", "reminder": "Still DOWN: {name}"}


@dataclass(frozen=True)
class IncidentEvent:
    monitor_id: int
    monitor_name: str
    monitor_url: str
    incident_id: int
    event: str          # down, up, reminder
    at: datetime        # when the check that caused it ran (naive UTC)
    detail: str | None  # the failure's cause, or how long it was down
    sequence: int = 0   # reminders: 1, 2, ... (part of the idempotency key)


def idempotency_key(event: IncidentEvent, channel_id: int) -> str:
    kind = f"reminder{event.sequence}" if event.event == "reminder" else event.event
    return f"vigil-{event.incident_id}-{kind}-{channel_id}"


def queue(events: list[IncidentEvent]) -> int:
    """Insert the outbox rows for `events` in the current transaction; return how many."""
    if not events:
        return 0
    monitor_ids = sorted({e.monitor_id for e in events})
    channels: dict[int, list[int]] = {}
    for monitor_id, channel_id in db.session.execute(
            sa.select(monitor_channels.c.monitor_id, monitor_channels.c.channel_id)
            .where(monitor_channels.c.monitor_id.in_(monitor_ids))
            .order_by(monitor_channels.c.channel_id)):
        channels.setdefault(monitor_id, []).append(channel_id)
    rows = [{"monitor_id": e.monitor_id, "incident_id": e.incident_id, "channel_id": channel_id,
             "event": e.event, "idempotency_key": idempotency_key(e, channel_id),
             "title": TITLES[e.event].format(name=e.monitor_name)[:250], "body": message(e),
             "status": "pending", "attempts": 0, "created_at": e.at, "next_attempt_at": e.at}
            for e in events for channel_id in channels.get(e.monitor_id, ())]
    if rows:
        db.session.execute(sa.insert(Notification.__table__), rows)
    return len(rows)


def message(event: IncidentEvent) -> str:
    when = iso_utc(event.at)
    lines = {
        "down": f"{event.monitor_name} is down since {when}.",
        "up": f"{event.monitor_name} is up again at {when}.",
        "reminder": f"{event.monitor_name} is still down at {when} (reminder {event.sequence}).",
    }[event.event]
    detail = f"\n{event.detail}" if event.detail else ""
    return f"{lines}{detail}\nChecked URL: {event.monitor_url}"
