"""Monitor reads and writes shared by the UI and the JSON API.

Writes go through here so that every change invalidates the shared dashboard
cache, and a duplicate name is reported as a field error instead of surfacing
as an IntegrityError (two racing creates are caught by the unique index too).
A monitor that starts being checked (created enabled, resumed, or re-enabled by
an edit) gets its first check within seconds (app/first_check.py), not at the
next minute. The detail page's numbers are in app/monitor_detail.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import first_check, records
from app.dashboard import invalidate_summary
from app.extensions import db
from app.field_errors import FieldErrors, NameTaken, on_field
from app.models import Channel, CheckResult, Notification, Incident, Monitor
from app.models.alerting import window_monitors
from app.models.monitor import name_key
from app.monitor_schema import MonitorSettings

class DuplicateName(NameTaken):
    def __init__(self) -> None:
        super().__init__("monitor")


def get_or_none(monitor_id: int) -> Monitor | None:
    return records.get_or_none(Monitor, monitor_id)


def get_or_404(monitor_id: int) -> Monitor:
    return records.get_or_404(Monitor, monitor_id)


def list_monitors() -> list[Monitor]:
    return list(db.session.scalars(sa.select(Monitor).order_by(Monitor.name)))


def save(monitor: Monitor, settings: MonitorSettings) -> Monitor:
    """Apply `settings` and commit; DuplicateName on a taken name, UnknownChannel on a
    channel id that does not exist (any more)."""
    clash = db.session.scalar(sa.select(Monitor.id).where(Monitor.name_key == name_key(settings.name)))
    if clash is not None and clash != monitor.id:
        raise DuplicateName()
    was_checked = monitor.id is not None and monitor.enabled
    for column, value in settings.columns().items():
        setattr(monitor, column, value)
    if settings.channel_ids is not None:
        monitor.channels = _channels(settings.channel_ids)
    elif monitor.id is None:  # a new monitor starts with the default channels
        monitor.channels = list(db.session.scalars(sa.select(Channel).where(Channel.is_default.is_(True))))
    db.session.add(monitor)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DuplicateName() from None
    invalidate_summary()
    if monitor.enabled and not was_checked:
        first_check.request_check()
    return monitor


class UnknownChannel(FieldErrors):
    """Chosen channels that do not exist (deleted since the form was shown, or made up)."""

    def __init__(self, ids: list[int]) -> None:
        listed = ", ".join(map(str, ids))
        super().__init__(on_field("channel_ids", f"There is no channel with the id {listed}." if len(ids) == 1
                                  else f"There are no channels with the ids {listed}."))
        self.ids = ids


def _channels(ids) -> list[Channel]:
    wanted = sorted({int(i) for i in ids or ()})
    found = list(db.session.scalars(sa.select(Channel).where(Channel.id.in_(wanted)))) if wanted else []
    if len(found) != len(wanted):
        raise UnknownChannel(sorted(set(wanted) - {c.id for c in found}))
    return found


def set_enabled(monitor: Monitor, enabled: bool) -> Monitor:
    """Pause (False) or resume (True) the checks of `monitor`; a resumed one is checked at once."""
    resumed = enabled and not monitor.enabled
    monitor.enabled = enabled
    db.session.commit()
    invalidate_summary()
    if resumed:
        first_check.request_check()
    return monitor


NOTIFICATION_LOG_LIMIT = 50


def notification_log(monitor: Monitor, limit: int = NOTIFICATION_LOG_LIMIT) -> list[Notification]:
    """The monitor's notifications (queued, sent or failed), newest first, with their channels."""
    return list(db.session.scalars(
        sa.select(Notification).where(Notification.monitor_id == monitor.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def delete(monitor: Monitor) -> None:
    # Bulk deletes first: SQLite cascades only with a pragma, and on MariaDB check_results
    # has no foreign key at all (it is partitioned by day, migration 0008), so this delete
    # is what removes a monitor's results there.
    db.session.execute(sa.delete(CheckResult).where(CheckResult.monitor_id == monitor.id))
    db.session.execute(sa.delete(Notification).where(Notification.monitor_id == monitor.id))
    db.session.execute(sa.delete(window_monitors).where(window_monitors.c.monitor_id == monitor.id))
    db.session.execute(sa.delete(Incident).where(Incident.monitor_id == monitor.id))
    db.session.delete(monitor)
    db.session.commit()
    invalidate_summary()
