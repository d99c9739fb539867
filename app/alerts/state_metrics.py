"""Metrics read from the database at scrape time: notifications, the outbox, each monitor's state.

Why from the database and not from counters in memory: notifications are sent by job
pods and by whichever web process leads, and monitor state is written by job pods; no
one process's counters see all of it, and a job pod is gone before any scrape. The
database does, so every web pod answers the same numbers.

- ``vigil_notifications_total{channel_type,result}``: notifications that ended sent or
  failed, by channel kind (the Apprise scheme). It is a count of rows, so pruning old
  notifications lowers it; Prometheus reads a drop as a counter reset.
- ``vigil_notification_backlog``: rows pending or being sent.
- ``vigil_monitor_up{monitor}`` (1, 0; absent while pending or paused) and
  ``vigil_monitor_latency_seconds{monitor}`` (the last check's), for at most
  MAX_MONITOR_SERIES monitors (the first by name): the label set stays bounded.
A database that does not answer makes these series absent, never the scrape fail.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from app.extensions import db
from app.models import Channel, Monitor, Notification

log = logging.getLogger(__name__)

MAX_MONITOR_SERIES = 1000


class StateCollector:
    def collect(self):
        try:
            families = self._families()
        except Exception as exc:  # an outage shows as missing series, not as a failed scrape
            db.session.rollback()
            log.warning("metrics: the database did not answer: %s", type(exc).__name__)
            return
        yield from families

    def _families(self) -> list:
        sent = CounterMetricFamily("vigil_notifications", "Notifications that ended sent or failed",
                                   labels=["channel_type", "result"])
        for kind, status, count in db.session.execute(
                sa.select(Channel.kind, Notification.status, sa.func.count())
                .join(Channel, Channel.id == Notification.channel_id)
                .where(Notification.status.in_(("sent", "failed")))
                .group_by(Channel.kind, Notification.status)):
            sent.add_metric([kind, status], count)
        backlog = GaugeMetricFamily("vigil_notification_backlog", "Notifications pending or being sent")
        backlog.add_metric([], db.session.scalar(
            sa.select(sa.func.count()).select_from(Notification)
            .where(Notification.status.in_(("pending", "sending")))) or 0)
        up = GaugeMetricFamily("vigil_monitor_up", "1 if the monitor is up, 0 if down", labels=["monitor"])
        latency = GaugeMetricFamily("vigil_monitor_latency_seconds", "Latency of the monitor's last check",
                                    labels=["monitor"])
        for name, is_up, latency_ms in db.session.execute(
                sa.select(Monitor.name, Monitor.is_up, Monitor.last_latency_ms)
                .where(Monitor.enabled.is_(True)).order_by(Monitor.name).limit(MAX_MONITOR_SERIES)):
            if is_up is not None:
                up.add_metric([name], 1.0 if is_up else 0.0)
            if latency_ms is not None:
                latency.add_metric([name], latency_ms / 1000.0)
        db.session.rollback()
        return [sent, backlog, up, latency]
