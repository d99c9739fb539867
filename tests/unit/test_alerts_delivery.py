"""Alerts end to end in one process: check-monitors -> outbox -> Apprise -> real receivers.

The receivers are real servers on loopback (testkit/alerts.py): an SMTP server (aiosmtpd)
and a JSON webhook receiver. The database is SQLite; the same paths on MariaDB with many
processes are in tests/integration/test_alerts_exactly_once.py.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from testkit.alerts import SmtpReceiver, WebhookReceiver, add_channel, add_monitor, notifications
from testkit.probing import next_slot, run_check_monitors


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp():
    receiver = SmtpReceiver()
    yield receiver
    receiver.close()


def test_down_after_two_failures_then_up_reaches_email_and_webhook_once(app, http_server, webhook, smtp):
    slot = next_slot()
    with app.app_context():
        hook = add_channel("ops hook", webhook.url)
        mail = add_channel("ops mail", smtp.url)
        monitor = add_monitor("flip", http_server.base_url + "/flip", [hook, mail], down_after=2, up_after=1)
        http_server.flip_status = 200
        run_check_monitors(slot)
        assert notifications() == []  # pending -> up is not news

        http_server.flip_status = 503
        run_check_monitors(slot + timedelta(minutes=1))
        assert notifications() == [] and webhook.deliveries == []  # one failure is below down_after

        run_check_monitors(slot + timedelta(minutes=2))
        [down_hook] = webhook.deliveries
        [down_mail] = smtp.deliveries
        assert down_hook.title == "DOWN: flip" and "status 503" in down_hook.body
        assert down_mail.title == "DOWN: flip"
        assert down_hook.key.startswith("vigil-") and down_hook.key.endswith(f"-down-{hook.id}")
        assert down_mail.key.endswith(f"-down-{mail.id}")

        run_check_monitors(slot + timedelta(minutes=3))  # still down: nothing new
        assert len(webhook.deliveries) == 1

        http_server.flip_status = 200
        run_check_monitors(slot + timedelta(minutes=4))
        assert [d.title for d in webhook.deliveries] == ["DOWN: flip", "UP again: flip"]
        assert [d.title for d in smtp.deliveries] == ["DOWN: flip", "UP again: flip"]
        assert {n.status for n in notifications()} == {"sent"}
        assert len({n.idempotency_key for n in notifications()}) == 4
        assert monitor.id == notifications()[0].monitor_id


def test_no_recovery_message_when_recovery_notices_are_off(app, http_server, webhook):
    slot = next_slot()
    with app.app_context():
        hook = add_channel("hook", webhook.url)
        add_monitor("flip", http_server.base_url + "/flip", [hook], down_after=1, notify_recovery=False,
                    is_up=True)
        http_server.flip_status = 503
        run_check_monitors(slot)
        http_server.flip_status = 200
        run_check_monitors(slot + timedelta(minutes=1))
        assert [d.title for d in webhook.deliveries] == ["DOWN: flip"]


def test_up_after_needs_that_many_good_checks(app, http_server, webhook):
    slot = next_slot()
    with app.app_context():
        hook = add_channel("hook", webhook.url)
        add_monitor("flip", http_server.base_url + "/flip", [hook], down_after=1, up_after=3, is_up=True)
        http_server.flip_status = 503
        run_check_monitors(slot)
        http_server.flip_status = 200
        for minute in (1, 2):
            run_check_monitors(slot + timedelta(minutes=minute))
            assert [d.title for d in webhook.deliveries] == ["DOWN: flip"]
        run_check_monitors(slot + timedelta(minutes=3))
        assert [d.title for d in webhook.deliveries] == ["DOWN: flip", "UP again: flip"]


def test_a_failing_channel_is_retried_with_backoff_then_marked_failed(app_factory, http_server, webhook):
    from app.alerts.dispatch import dispatch
    from app.extensions import db
    from app.models import Notification

    app = app_factory(VIGIL_NOTIFY_MAX_ATTEMPTS=3, VIGIL_NOTIFY_RETRY_SECONDS=30.0)
    slot = next_slot()
    with app.app_context():
        hook = add_channel("hook", webhook.url)
        add_monitor("flip", http_server.base_url + "/flip", [hook], down_after=1, is_up=True)
        webhook.status = 503
        http_server.flip_status = 503
        run_check_monitors(slot)
        [row] = notifications()
        assert (row.status, row.attempts) == ("pending", 1)
        assert "503" in row.last_error or "error" in row.last_error.lower(), row.last_error
        delay = (row.next_attempt_at - row.created_at).total_seconds()
        assert 15 - 1 <= delay <= 30 + 60, delay  # equal jitter: between half and all of 30 s
        assert dispatch(budget_s=5).sent == 0  # not due yet: nothing is tried
        assert len(webhook.attempts) == 1

        for expected_attempts in (2, 3):
            db.session.execute(sa.update(Notification).values(next_attempt_at=row.created_at))
            db.session.commit()
            dispatch(budget_s=5)
            [row] = notifications()
            assert row.attempts == expected_attempts
        assert row.status == "failed" and len(webhook.attempts) == 3
        assert webhook.deliveries == []


def test_backoff_doubles_with_jitter_and_is_capped():
    import random

    from app.alerts.dispatch import backoff_s

    rng = random.Random(7)
    for attempts in range(1, 60):
        ceiling = min(600, 15 * 2 ** (attempts - 1))
        for _ in range(20):
            assert ceiling / 2 <= backoff_s(attempts, base_s=15, max_s=600, rng=rng) <= ceiling


def test_an_earlier_message_that_keeps_failing_holds_back_the_later_ones(app, http_server, webhook):
    from app.alerts.dispatch import claim
    from app.extensions import db
    from app.models import Notification

    slot = next_slot()
    with app.app_context():
        hook = add_channel("hook", webhook.url)
        add_monitor("flip", http_server.base_url + "/flip", [hook], down_after=1, is_up=True)
        webhook.status = 503
        http_server.flip_status = 503
        run_check_monitors(slot)
        http_server.flip_status = 200
        run_check_monitors(slot + timedelta(minutes=1))
        down, up = notifications()
        assert (down.event, up.event) == ("down", "up")
        assert up.attempts == 0  # never tried while "down" waits for its retry
        db.session.execute(sa.update(Notification).values(next_attempt_at=down.created_at))
        db.session.commit()
        _, claimed = claim(limit=10)
        assert [n.event for n in claimed] == ["down"]


class RootRecords(logging.Handler):
    """What reaches the root logger's handlers, i.e. the app's log output (pytest's caplog
    would also hook loggers that do not propagate, such as Apprise's)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(f"{record.name} {record.getMessage()}")


@pytest.fixture
def root_log():
    handler, root = RootRecords(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def test_channel_urls_are_encrypted_at_rest_and_never_logged(app, http_server, webhook, root_log):
    from app.extensions import db

    secret_url = webhook.url + "?+X-Token=s3cr3t-t0ken-value"
    slot = next_slot()
    with app.app_context():
        hook = add_channel("hook", secret_url)
        add_monitor("flip", http_server.base_url + "/flip", [hook], down_after=1, is_up=True)
        webhook.status = 500
        http_server.flip_status = 503
        run_check_monitors(slot)
        stored = db.session.execute(sa.text("SELECT url_ciphertext FROM channels")).scalar_one()
        assert "s3cr3t" not in stored and "127.0.0.1" not in stored
        row = notifications()[0]
        assert row.last_error and "s3cr3t" not in row.last_error
    assert root_log.lines and not [line for line in root_log.lines if "s3cr3t" in line]


def test_a_bad_url_is_refused_with_a_message(app):
    from app.alerts import channel_service
    from app.models import Channel

    with app.app_context():
        for url in ("", "not a url", "bogus://x", "json://", "x" * 3000):
            with pytest.raises(channel_service.BadChannelUrl) as refused:
                channel_service.save(Channel(), name="bad", url=url, is_default=False)
            assert str(refused.value)
        assert channel_service.list_channels() == []


def test_reminders_every_k_minutes_are_capped_and_stop_at_recovery(app, http_server, webhook):
    from app.alerts.reminders import queue_due_reminders
    from app.alerts.dispatch import dispatch
    from app.alerts.thresholds import MAX_REMINDERS
    from app.extensions import db
    from app.models import Notification, utcnow

    slot = next_slot()
    with app.app_context():
        hook = add_channel("hook", webhook.url)
        add_monitor("flip", http_server.base_url + "/flip", [hook], down_after=1, is_up=True,
                    renotify_minutes=5)
        http_server.flip_status = 503
        run_check_monitors(slot)
        start = utcnow()
        assert queue_due_reminders(start + timedelta(minutes=4)) == 0
        assert queue_due_reminders(start + timedelta(minutes=6)) == 1
        assert queue_due_reminders(start + timedelta(minutes=6)) == 0  # claimed once
        for k in range(2, MAX_REMINDERS + 3):
            queue_due_reminders(start + timedelta(minutes=6 * k))
        # Queued "in the future" of this test's clock: make them due now.
        db.session.execute(sa.update(Notification).values(next_attempt_at=start))
        db.session.commit()
        dispatch(budget_s=10)
        titles = [d.title for d in webhook.deliveries]
        assert titles[0] == "DOWN: flip" and titles.count("Still DOWN: flip") == MAX_REMINDERS
        http_server.flip_status = 200
        run_check_monitors(slot + timedelta(minutes=1))
        assert webhook.deliveries[-1].title == "UP again: flip"


def test_metrics_show_notifications_backlog_and_each_monitors_state(app, http_server, webhook):
    from prometheus_client.parser import text_string_to_metric_families

    from app import metrics

    slot = next_slot()
    with app.app_context():
        hook = add_channel("hook", webhook.url)
        add_monitor("flip", http_server.base_url + "/flip", [hook], down_after=1, is_up=True)
        add_monitor("steady", http_server.base_url + "/ok", [hook])
        http_server.flip_status = 503
        run_check_monitors(slot)
        body, _ = metrics.render()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    assert samples[("vigil_notifications_total", (("channel_type", "json"), ("result", "sent")))] == 1
    assert samples[("vigil_notification_backlog", ())] == 0
    assert samples[("vigil_monitor_up", (("monitor", "flip"),))] == 0
    assert samples[("vigil_monitor_up", (("monitor", "steady"),))] == 1
    assert samples[("vigil_monitor_latency_seconds", (("monitor", "steady"),))] > 0
