"""The check-monitors job on a real MariaDB, against HTTP servers on 127.0.0.1.

200 monitors in one run: bulk insert of results, the executemany state update,
SELECT ... FOR UPDATE, DATETIME(6) times, incidents opened and resolved; and
the same job through `python -m app.jobs run`, as a CronJob pod runs it.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, Incident, JobRun, Monitor, utcnow
from testkit.jobcli import jobs_cli
from testkit.probing import LocalHTTPServer, closed_port, next_slot, run_check_monitors

MONITORS = 200
FLIPPING = 20  # answer 503 in the first slot, 200 in the second
REFUSED = 10  # a closed loopback port: down in both slots


def _seed(http_server: LocalHTTPServer) -> None:
    refused_url = f"http://127.0.0.1:{closed_port()}/health"
    rows = []
    for i in range(MONITORS):
        if i < FLIPPING:
            url, keyword = http_server.base_url + f"/flip?m={i}", None
        elif i < FLIPPING + REFUSED:
            url, keyword = refused_url, None
        else:
            url, keyword = http_server.base_url + f"/ok?m={i}", ("pong" if i % 2 else None)
        rows.append({"name": f"monitor {i:03d}", "url": url, "method": "HEAD" if i % 7 == 0 else "GET",
                     "interval_minutes": 1, "timeout_seconds": 5.0, "expected_status_min": 200,
                     "expected_status_max": 399, "keyword": keyword, "enabled": True, "down_after": 1,
                     "created_at": utcnow(), "updated_at": utcnow()})
    db.session.execute(sa.insert(Monitor.__table__), rows)
    db.session.commit()


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_two_hundred_monitors_recorded_with_incidents(mysql_app, http_server):
    _seed(http_server)
    slot = next_slot()
    http_server.flip_status = 503

    first = run_check_monitors(slot)
    assert first.outcome == "succeeded", first.message
    down = FLIPPING + REFUSED
    assert first.message == f"checked {MONITORS} monitors: {MONITORS - down} up, {down} down"
    assert _count(CheckResult) == MONITORS
    assert _count(Monitor, Monitor.is_up.is_(True)) == MONITORS - down
    assert _count(Incident, Incident.resolved_at.is_(None)) == down
    causes = dict(db.session.execute(
        sa.select(Incident.cause, sa.func.count()).group_by(Incident.cause)).all())
    assert causes == {"status 503": FLIPPING, "connection refused": REFUSED}
    # DATETIME(6) keeps microseconds: the monitor's time is exactly its check's time.
    mismatched = db.session.scalar(
        sa.select(sa.func.count()).select_from(Monitor).join(CheckResult)
        .where(Monitor.last_checked_at != CheckResult.checked_at))
    assert mismatched == 0
    assert _count(CheckResult, CheckResult.latency_ms.is_(None)) == REFUSED

    http_server.flip_status = 200
    second = run_check_monitors(slot + timedelta(minutes=1))
    assert second.message == f"checked {MONITORS} monitors: {MONITORS - REFUSED} up, {REFUSED} down"
    assert _count(CheckResult) == 2 * MONITORS
    assert _count(Incident) == down  # no new incident for monitors that stayed down
    assert _count(Incident, Incident.resolved_at.is_not(None)) == FLIPPING
    assert _count(Monitor, Monitor.is_up.is_(False)) == REFUSED

    assert db.session.scalars(sa.select(JobRun.status)).all() == ["succeeded"] * 2
    # Every request reached the local server (HEAD for the HEAD monitors).
    methods = [method for method, _, _, _ in http_server.requests]
    assert len(methods) == 2 * (MONITORS - REFUSED)
    assert methods.count("HEAD") == 2 * sum(
        1 for i in range(FLIPPING + REFUSED, MONITORS) if i % 7 == 0) + 2 * sum(
        1 for i in range(FLIPPING) if i % 7 == 0)


def test_the_job_entrypoint_runs_it_on_mariadb(mysql_app, http_server, database_url, redis_urls,
                                               tmp_path):
    db.session.add(Monitor(name="local", url=http_server.base_url + "/ok", interval_minutes=1,
                           timeout_seconds=5.0, keyword="pong"))
    db.session.commit()
    slot = next_slot().isoformat() + "Z"
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_urls[0], "REDIS2_URL": redis_urls[1],
           "VIGIL_ENV": "testing", "VIGIL_INSTANCE_PATH": str(tmp_path)}
    done = jobs_cli("run", "check-monitors", "--slot", slot, env=env)
    assert done.returncode == 0, done.stderr
    assert "checked 1 monitors: 1 up, 0 down" in done.stderr
    again = jobs_cli("run", "check-monitors", "--slot", slot, env=env)
    assert again.returncode == 0 and "skipped" in again.stderr
    db.session.rollback()
    assert _count(CheckResult, CheckResult.ok.is_(True)) == 1
