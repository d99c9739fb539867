"""What a maintenance window does to alerts, end to end on SQLite with a real receiver.

Windows are made through app/alerts/window_service (as the pages and the API make them);
a monitor with a JSON webhook channel (testkit/alerts.WebhookReceiver on loopback) checks
a real local server (the http_server fixture, /flip) and check-monitors runs as its
runner would (testkit.probing.run_check_monitors), dispatch included. Inside a window in
force the check is still made and recorded and the incident opens, marked in_maintenance,
but nothing is queued and nothing reaches the receiver; under a window that has ended, a
down is delivered. Both for a one-off window and for a recurring one (a daily cron that
started ten minutes ago in Europe/Berlin).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from testkit.alerts import WebhookReceiver
from testkit.probing import next_slot, run_check_monitors
from testkit.alerts import add_channel, add_monitor, notifications

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def one_off(now: datetime, *, active: bool) -> dict:
    """In force from an hour ago for three hours, or ended an hour ago (times aware, as the API gives them)."""
    start = now - timedelta(hours=1 if active else 3)
    return {"kind": "one_off", "starts_at": start, "ends_at": start + timedelta(hours=3 if active else 2)}


def recurring(now: datetime, *, active: bool) -> dict:
    """Daily at a Berlin wall-clock time: ten minutes ago (lasting an hour), or three hours ago
    (lasting an hour, so over two hours ago)."""
    started = (now - timedelta(minutes=10 if active else 180)).astimezone(BERLIN)
    return {"kind": "recurring", "cron": f"{started.minute} {started.hour} * * *", "duration_minutes": 60}


def add_window(monitor_ids: list[int], schedule: dict):
    from app.alerts import window_service
    from app.models import MaintenanceWindow

    return window_service.save(MaintenanceWindow(), {
        "name": "planned work", "timezone": "Europe/Berlin", "all_monitors": False, "monitor_ids": monitor_ids,
        **schedule})


def monitor_under_window(http_server, webhook, schedule, *, active: bool):
    """A monitor of /flip notifying the webhook, up so far, and a window over it; (channel, monitor, window)."""
    hook = add_channel("ops hook", webhook.url)
    monitor = add_monitor("flip", http_server.base_url + "/flip", [hook], down_after=1, is_up=True)
    return hook, monitor, add_window([monitor.id], schedule(datetime.now(timezone.utc), active=active))


def incidents(monitor_id: int):
    from app.extensions import db
    from app.models import Incident

    db.session.expire_all()
    return list(db.session.scalars(sa.select(Incident).where(Incident.monitor_id == monitor_id)
                                   .order_by(Incident.id)))


def check_count(monitor_id: int) -> int:
    from app.extensions import db
    from app.models import CheckResult

    return db.session.scalar(sa.select(sa.func.count()).select_from(CheckResult)
                             .where(CheckResult.monitor_id == monitor_id))


@pytest.mark.parametrize("schedule", [one_off, recurring], ids=["one-off", "recurring"])
def test_inside_a_window_a_down_is_recorded_but_not_sent(app, http_server, webhook, schedule):
    from app.alerts import window_service
    from app.alerts.windows import is_active

    slot = next_slot()
    with app.app_context():
        hook, monitor, window = monitor_under_window(http_server, webhook, schedule, active=True)
        bystander = add_monitor("bystander", http_server.base_url + "/flip", [hook], down_after=1, is_up=True)
        assert is_active(window, slot) and window_service.active_now(slot) == [window]

        http_server.flip_status = 503
        run_check_monitors(slot)

        [incident] = incidents(monitor.id)
        assert incident.in_maintenance and incident.resolved_at is None and "503" in incident.cause
        assert check_count(monitor.id) == 1  # the check was made and recorded
        # The monitor outside the window is alerted as usual: the window is per monitor.
        assert not incidents(bystander.id)[0].in_maintenance
        assert [n.monitor_id for n in notifications()] == [bystander.id]
        assert [d.title for d in webhook.deliveries] == ["DOWN: bystander"]

        # Its recovery is not sent either (the incident opened in maintenance).
        http_server.flip_status = 200
        run_check_monitors(slot + timedelta(minutes=1))
        assert incidents(monitor.id)[0].resolved_at is not None
        assert [d.title for d in webhook.deliveries] == ["DOWN: bystander", "UP again: bystander"]
        assert all(n.monitor_id == bystander.id for n in notifications())


@pytest.mark.parametrize("schedule", [one_off, recurring], ids=["one-off", "recurring"])
def test_after_a_window_has_ended_a_down_is_delivered(app, http_server, webhook, schedule):
    from app.alerts import window_service
    from app.alerts.windows import is_active

    slot = next_slot()
    with app.app_context():
        _, monitor, window = monitor_under_window(http_server, webhook, schedule, active=False)
        assert not is_active(window, slot) and window_service.active_now(slot) == []

        http_server.flip_status = 503
        run_check_monitors(slot)

        [incident] = incidents(monitor.id)
        assert not incident.in_maintenance
        [delivery] = webhook.deliveries
        assert delivery.title == "DOWN: flip" and "503" in delivery.body
        assert [(n.event, n.status) for n in notifications()] == [("down", "sent")]


def test_a_window_edited_to_end_lets_the_next_down_through(app, http_server, webhook):
    """One monitor through a window: quiet while it is in force; after it is cut short
    (edited through window_service, as the pages do), the next down is delivered."""
    from app.alerts import window_service

    now = datetime.now(timezone.utc)
    slot = next_slot()
    with app.app_context():
        _, monitor, window = monitor_under_window(http_server, webhook, one_off, active=True)
        http_server.flip_status = 503
        run_check_monitors(slot)
        http_server.flip_status = 200
        run_check_monitors(slot + timedelta(minutes=1))
        assert webhook.deliveries == [] and notifications() == []

        values = window_service.values_of(window)
        window_service.save(window, {**values, "ends_at": now - timedelta(minutes=1)})
        assert window_service.active_now(slot + timedelta(minutes=2)) == []
        http_server.flip_status = 503
        run_check_monitors(slot + timedelta(minutes=2))
        assert [d.title for d in webhook.deliveries] == ["DOWN: flip"]
        assert [i.in_maintenance for i in incidents(monitor.id)] == [True, False]


@pytest.mark.parametrize("night", ["2026-03-29", "2026-10-25"], ids=["spring-forward", "fall-back"])
def test_the_shown_next_start_and_end_agree_with_the_rule_across_a_dst_change(app, night):
    """What the list shows (next start, "until") is what check-monitors applies (is_active),
    minute by minute over two days around a Berlin DST change, for a daily 02:30 window: the
    skipped 02:30 still opens the window once, and the repeated one opens it once, not twice."""
    from app.alerts import window_service
    from app.alerts.windows import is_active
    from app.models import MaintenanceWindow

    with app.app_context():
        window = window_service.save(MaintenanceWindow(), {
            "name": "nightly", "kind": "recurring", "cron": "30 2 * * *", "duration_minutes": 60,
            "timezone": "Europe/Berlin", "all_monitors": True})
        first = datetime.fromisoformat(night) - timedelta(days=1)
        minutes = [first + timedelta(minutes=m) for m in range(3 * 24 * 60)]
        active = {m: is_active(window, m) for m in minutes}
        starts = [m for m in minutes[1:] if active[m] and not active[m - timedelta(minutes=1)]]
        assert len(starts) == 3  # one a day, the night of the change included
        for start in starts:
            assert window_service.next_start(window, start - timedelta(minutes=1)) == start
            assert window_service.current_end(window, start) == start + timedelta(minutes=60)
        for moment in minutes[::7]:
            upcoming = [s for s in starts if s > moment]
            if upcoming:
                assert window_service.next_start(window, moment) == upcoming[0], moment
            end = window_service.current_end(window, moment)
            assert (end is not None) == active[moment], moment
            assert end is None or all(active[m] for m in minutes if moment <= m < end), moment
