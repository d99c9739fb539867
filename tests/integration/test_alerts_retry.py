"""A receiver that is down for 2 minutes loses nothing, and the retries are spaced as designed.

Real parts: MariaDB, gunicorn (its timer leader runs dispatch-notifications every 5 s), a
check-monitors process, and a JSON webhook on loopback that answers 503 for the first
two minutes after the first attempt, then 200. With VIGIL_NOTIFY_RETRY_SECONDS=2 and
VIGIL_NOTIFY_MAX_BACKOFF_SECONDS=30 the n-th retry waits between half and all of
min(30, 2 * 2^(n-1)) s (app/alerts/dispatch.py), plus at most one timer period until a
dispatcher looks again. With the backoff removed (retry at once) the spacing check fails.
"""
from __future__ import annotations

import time

import sqlalchemy as sa
from cryptography.fernet import Fernet

from testkit.alerts import FlipTargets, WebhookReceiver
from testkit.jobcli import jobs_cli
from testkit.monitors import make_monitor
from testkit.polling import wait_for
from testkit.probing import next_slot

BASE_S = 2.0
MAX_BACKOFF_S = 30.0  # so the first attempt after the outage comes within 30 s, not 2 minutes
DOWN_FOR_S = 120.0
TIMER_PERIOD_S = 5.0
MONITORS = 5


def test_nothing_is_lost_while_the_receiver_is_down_and_retries_back_off(mariadb_app, server_env, gunicorn):
    from app.alerts import channel_service
    from app.extensions import db
    from app.models import Channel, Notification

    webhook, targets = WebhookReceiver(), FlipTargets()
    try:
        env = {**server_env, "VIGIL_CHANNEL_KEYS": Fernet.generate_key().decode(), "VIGIL_TIMER_BACKEND": "host",
               "VIGIL_CRON_IN_PROCESS": "0", "VIGIL_NOTIFY_RETRY_SECONDS": str(BASE_S),
               "VIGIL_NOTIFY_MAX_ATTEMPTS": "20", "VIGIL_NOTIFY_MAX_BACKOFF_SECONDS": str(MAX_BACKOFF_S)}
        mariadb_app.config["VIGIL_CHANNEL_KEYS"] = (env["VIGIL_CHANNEL_KEYS"],)
        with mariadb_app.app_context():
            hook = channel_service.save(Channel(), name="hook", url=webhook.url, is_default=False)
            for i in range(MONITORS):
                monitor = make_monitor(f"m{i}", targets.url(f"m{i}"), is_up=True, streak=1)
                monitor.channels = [hook]
                db.session.add(monitor)
                targets.status[f"m{i}"] = 503
            db.session.commit()
        gunicorn(env, workers=2)

        webhook.status = 503
        result = jobs_cli("run", "check-monitors", "--slot", next_slot(5).isoformat(), env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        assert wait_for(lambda: len(webhook.attempts) >= MONITORS, timeout=30)
        time.sleep(max(0.0, webhook.attempts[0] + DOWN_FOR_S - time.time()))
        webhook.status = 200

        assert wait_for(lambda: len(webhook.deliveries) >= MONITORS, timeout=MAX_BACKOFF_S + 30), \
            f"{len(webhook.deliveries)} of {MONITORS} delivered"
        time.sleep(2 * TIMER_PERIOD_S)
        keys = webhook.keys()
        assert len(keys) == len(set(keys)) == MONITORS

        for key, times in webhook.attempts_by_key.items():
            gaps = [b - a for a, b in zip(times, times[1:])]
            assert len(gaps) >= 4, (key, gaps)  # two minutes of failures: several retries
            for n, gap in enumerate(gaps, 1):
                ceiling = min(MAX_BACKOFF_S, BASE_S * 2 ** (n - 1))
                assert ceiling / 2 - 0.5 <= gap <= ceiling + TIMER_PERIOD_S + 3, (key, n, gaps)

        with mariadb_app.app_context():
            rows = db.session.execute(sa.select(Notification.status, Notification.attempts)).all()
        assert {status for status, _ in rows} == {"sent"}
        assert all(attempts == len(webhook.attempts_by_key[key]) for (_, attempts), key
                   in zip(sorted(rows, key=lambda r: r[1]), sorted(keys, key=lambda k: len(webhook.attempts_by_key[k]))))
    finally:
        webhook.close()
        targets.close()
