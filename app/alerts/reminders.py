"""Reminders while a monitor stays down: every `renotify_minutes`, at most MAX_REMINDERS times.

Each reminder is claimed by a conditional UPDATE of its incident (``reminders`` still
the count this process read), so however many processes sweep at once, one queues it;
the claim and the outbox rows commit together.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from app.alerts import outbox
from app.alerts.outbox import IncidentEvent
from app.alerts.thresholds import MAX_REMINDERS
from app.alerts.windows import monitors_in_maintenance
from app.extensions import db
from app.models import Incident, Monitor


def queue_due_reminders(now: datetime) -> int:
    """Queue the reminders due at `now`; return how many incidents got one."""
    incidents, monitors = Incident.__table__, Monitor.__table__
    candidates = list(db.session.execute(
        sa.select(incidents.c.id, incidents.c.monitor_id, incidents.c.reminders, incidents.c.last_notified_at,
                  monitors.c.name, monitors.c.url, monitors.c.renotify_minutes)
        .join(monitors, monitors.c.id == incidents.c.monitor_id)
        .where(incidents.c.resolved_at.is_(None), incidents.c.in_maintenance.is_(False),
               incidents.c.last_notified_at.is_not(None), incidents.c.reminders < MAX_REMINDERS,
               monitors.c.renotify_minutes.is_not(None), monitors.c.enabled.is_(True))))
    due = [c for c in candidates if c.last_notified_at + timedelta(minutes=c.renotify_minutes) <= now]
    quiet = monitors_in_maintenance([c.monitor_id for c in due], now)
    events = []
    for c in due:
        if c.monitor_id in quiet:
            continue
        claimed = db.session.execute(
            sa.update(incidents).where(incidents.c.id == c.id, incidents.c.reminders == c.reminders,
                                       incidents.c.resolved_at.is_(None))
            .values(reminders=c.reminders + 1, last_notified_at=now))
        if claimed.rowcount == 1:
            events.append(IncidentEvent(monitor_id=c.monitor_id, monitor_name=c.name, monitor_url=c.url,
                                        incident_id=c.id, event="reminder", at=now, detail=None,
                                        sequence=c.reminders + 1))
    outbox.queue(events)
    db.session.commit()
    return len(events)
