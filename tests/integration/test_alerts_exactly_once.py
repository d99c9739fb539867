"""Each state change reaches each channel exactly once, in order, however many processes send.

Set-up, on the real MariaDB: 3 gunicorn instances with 4 workers each, each its own
"host" (its own timer lock directory), so three timer leaders run the
dispatch-notifications timer; and for every round 2 concurrent check-monitors
processes, which probe the same 50 monitors, write with row locks and then dispatch
what they queued. The targets flip between rounds: 4 rounds, 200 state changes.
Receivers are real: a JSON webhook and an SMTP server on loopback.

Break the claim in app/alerts/dispatch.py (claim rows without the `claimable`
condition) and this test fails with duplicate keys.
"""
from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from testkit.alerts import FlipTargets, SmtpReceiver, WebhookReceiver
from testkit.jobcli import start_jobs_cli
from testkit.monitors import make_monitor
from testkit.polling import wait_for
from testkit.probing import next_slot

MONITORS = 50
ROUNDS = 4  # down, up, down, up: 4 state changes per monitor


@pytest.fixture
def receivers():
    webhook, smtp, targets = WebhookReceiver(), SmtpReceiver(), FlipTargets()
    yield webhook, smtp, targets
    webhook.close()
    smtp.close()
    targets.close()


def test_two_hundred_state_changes_reach_each_channel_once_in_order(
        mariadb_app, server_env, gunicorn, receivers, tmp_path):
    from app.alerts import channel_service
    from app.extensions import db
    from app.models import Channel, Notification

    webhook, smtp, targets = receivers
    env = {**server_env, "VIGIL_CHANNEL_KEYS": Fernet.generate_key().decode(),
           "VIGIL_TIMER_BACKEND": "host", "VIGIL_CRON_IN_PROCESS": "0", "VIGIL_NOTIFY_RETRY_SECONDS": "1"}
    mariadb_app.config["VIGIL_CHANNEL_KEYS"] = (env["VIGIL_CHANNEL_KEYS"],)
    names = [f"m{i:02d}" for i in range(MONITORS)]
    with mariadb_app.app_context():
        hook = channel_service.save(Channel(), name="hook", url=webhook.url, is_default=True)
        mail = channel_service.save(Channel(), name="mail", url=smtp.url, is_default=False)
        for name in names:
            monitor = make_monitor(name, targets.url(name), down_after=1, up_after=1, is_up=True, streak=1)
            monitor.channels = [hook, mail]
            db.session.add(monitor)
        db.session.commit()

    for host in range(3):
        gunicorn({**env, "VIGIL_LOCK_DIR": str(tmp_path / f"host{host}")}, workers=4)

    slot = next_slot(5)
    for round_ in range(ROUNDS):
        for name in names:
            targets.status[name] = 503 if round_ % 2 == 0 else 200
        checkers = [start_jobs_cli("run", "check-monitors", "--slot",
                                   (slot + timedelta(minutes=2 * round_ + k)).isoformat(), env=env)
                    for k in range(2)]
        for checker in checkers:
            out, err = checker.communicate(timeout=120)
            assert checker.returncode == 0, err[-2000:]

    expected = MONITORS * ROUNDS
    assert wait_for(lambda: len(webhook.deliveries) >= expected and len(smtp.deliveries) >= expected,
                    timeout=90), (len(webhook.deliveries), len(smtp.deliveries))
    time.sleep(8)  # longer than the dispatch timer's period: a duplicate would have come by now

    for receiver in (webhook, smtp):
        keys = [d.key for d in receiver.deliveries]
        assert len(keys) == len(set(keys)) == expected, (len(keys), len(set(keys)))
        per_monitor = defaultdict(list)
        for delivery in sorted(receiver.deliveries, key=lambda d: d.at):
            per_monitor[delivery.title.split(": ", 1)[1]].append(delivery.title.split(":")[0])
        assert set(per_monitor) == set(names)
        for name, events in per_monitor.items():
            assert events == ["DOWN", "UP again", "DOWN", "UP again"], (name, events)

    with mariadb_app.app_context():
        statuses = db.session.execute(sa.select(Notification.status, sa.func.count())
                                      .group_by(Notification.status)).all()
    assert dict(statuses) == {"sent": 2 * expected}
