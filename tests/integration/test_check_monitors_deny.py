"""VIGIL_PROBE_DENY through the real job path: env var, `python -m app.jobs run`, MariaDB.

A monitor of ``localhost`` (127.0.0.1) with the loopback range denied is recorded
as a failed check that names the denied address, and the HTTP server it names
receives nothing; with ``none`` the same monitor is up. The list is read from
the environment of each run, as a CronJob pod reads it.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, Incident, Monitor
from testkit.jobcli import jobs_cli
from testkit.probing import next_slot

DENIED = "address 127.0.0.1 (localhost) is denied by VIGIL_PROBE_DENY (127.0.0.0/8)"


def test_the_job_entrypoint_refuses_a_denied_address_and_records_why(
        mysql_app, http_server, database_url, redis_urls, tmp_path):
    db.session.add(Monitor(name="internal", url=f"http://localhost:{http_server.server_address[1]}/ok",
                           interval_minutes=1, timeout_seconds=5.0, down_after=1))
    db.session.commit()
    slot = next_slot()
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_urls[0], "REDIS2_URL": redis_urls[1],
           "VIGIL_ENV": "testing", "VIGIL_INSTANCE_PATH": str(tmp_path)}

    def run(minute: int, deny: str):
        at = (slot + timedelta(minutes=minute)).isoformat() + "Z"
        done = jobs_cli("run", "check-monitors", "--slot", at, env={**env, "VIGIL_PROBE_DENY": deny})
        assert done.returncode == 0, done.stderr
        db.session.rollback()
        return done.stderr

    assert "checked 1 monitors: 0 up, 1 down" in run(0, "127.0.0.0/8,::1/128")
    [check] = db.session.scalars(sa.select(CheckResult)).all()
    assert (check.ok, check.status_code, check.latency_ms, check.error) == (False, None, None, DENIED)
    assert db.session.scalar(sa.select(Incident.cause)) == DENIED
    assert http_server.requests == []

    assert "checked 1 monitors: 1 up, 0 down" in run(1, "none")
    assert len(http_server.requests) == 1
    assert db.session.scalar(sa.select(Monitor.is_up)) is True
