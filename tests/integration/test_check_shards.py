"""check-monitors sharded over concurrent processes on MariaDB, as the Indexed Job's pods run it.

n = 1, 2 and 3 shards: n real `python -m app.jobs run check-monitors` processes started
together for one slot, each told its shard as Kubernetes and the chart tell a pod
(JOB_COMPLETION_INDEX, VIGIL_JOB_SHARDS). Every due monitor gets exactly one result for the
slot, monitors not due or disabled get none, and each shard records one run of its own.
(Broken on purpose once: shard k also taking the first tenth of shard k+1's hash range made
the overlapping monitors get two results, and this test failed.)
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.jobs import runner
from app.jobs.check_shards import in_shard, shard_of
from app.jobs.registry import load_jobs
from app.models import CheckResult, JobRun, Monitor, utcnow
from testkit.jobcli import start_jobs_cli
from testkit.probing import next_slot

DUE = 45
NOT_DUE = 6  # checked a moment ago, 5-minute interval
DISABLED = 4


def _seed(http_server) -> dict[str, set[int]]:
    now = utcnow()
    rows = []
    for i in range(DUE + NOT_DUE + DISABLED):
        kind = "due" if i < DUE else "not_due" if i < DUE + NOT_DUE else "disabled"
        rows.append({"name": f"monitor {i:03d}", "url": http_server.base_url + f"/slow?s=0.3&m={i}",
                     "method": "GET", "interval_minutes": 1 if kind == "due" else 5, "timeout_seconds": 5.0,
                     "expected_status_min": 200, "expected_status_max": 399, "keyword": None,
                     "enabled": kind != "disabled", "last_checked_at": now if kind == "not_due" else None,
                     "created_at": now, "updated_at": now})
    db.session.execute(sa.insert(Monitor.__table__), rows)
    db.session.commit()
    by_name = dict(db.session.execute(sa.select(Monitor.name, Monitor.id)).all())
    return {"due": {by_name[f"monitor {i:03d}"] for i in range(DUE)},
            "other": {by_name[f"monitor {i:03d}"] for i in range(DUE, DUE + NOT_DUE + DISABLED)}}


@pytest.mark.parametrize("shards", [1, 2, 3])
def test_concurrent_shards_check_every_due_monitor_exactly_once(mysql_app, http_server, database_url,
                                                                 redis_urls, tmp_path, shards):
    monitors = _seed(http_server)
    slot = next_slot()
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_urls[0], "REDIS2_URL": redis_urls[1],
           "VIGIL_ENV": "testing", "VIGIL_INSTANCE_PATH": str(tmp_path), "VIGIL_JOB_SHARDS": str(shards)}
    processes = [start_jobs_cli("run", "check-monitors", "--slot", slot.isoformat() + "Z",
                                env={**env, "JOB_COMPLETION_INDEX": str(k)}) for k in range(shards)]
    outputs = [process.communicate(timeout=90) for process in processes]
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err
    db.session.rollback()

    per_monitor = dict(db.session.execute(
        sa.select(CheckResult.monitor_id, sa.func.count()).group_by(CheckResult.monitor_id)).all())
    assert set(per_monitor) == monitors["due"], "every due monitor checked, nothing else"
    assert set(per_monitor.values()) == {1}, {m: n for m, n in per_monitor.items() if n != 1}
    runs = db.session.execute(sa.select(JobRun.shard, JobRun.shards, JobRun.attempt, JobRun.status)
                              .where(JobRun.job == "check-monitors").order_by(JobRun.shard)).all()
    assert [tuple(r) for r in runs] == [(k, shards, 0, "succeeded") for k in range(shards)]
    # Each shard checked exactly its own monitors, by the stable hash.
    for k, (_, err) in enumerate(outputs):
        mine = {m for m in monitors["due"] if shard_of(m, shards) == k}
        assert f"checked {len(mine)} monitors: {len(mine)} up, 0 down" in err, err
    if shards > 1:  # the runs really overlapped: otherwise this would not test concurrency
        spans = db.session.execute(sa.select(JobRun.started_at, JobRun.finished_at)).all()
        assert max(s for s, _ in spans) < min(f for _, f in spans)

    # The same slot again: every shard finds its run done.
    again = [start_jobs_cli("run", "check-monitors", "--slot", slot.isoformat() + "Z",
                            env={**env, "JOB_COMPLETION_INDEX": str(k)}) for k in range(shards)]
    for process in again:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0 and "skipped" in err, err
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckResult)) == DUE


def test_a_retried_shard_checks_only_what_its_failed_attempt_did_not_record(mysql_app, http_server):
    """Attempt 0 of shard 1 recorded part of its monitors, then failed; the retry (attempt 1)
    checks the rest, and nothing of shard 0's."""
    monitors = _seed(http_server)
    slot = next_slot()
    mine = sorted(m for m in monitors["due"] if shard_of(m, 2) == 1)
    done_before = mine[: len(mine) // 2]
    db.session.execute(sa.insert(CheckResult.__table__), [
        {"monitor_id": m, "checked_at": slot + timedelta(seconds=2), "ok": True, "status_code": 200,
         "latency_ms": 1.0, "error": None} for m in done_before])
    db.session.execute(sa.update(Monitor).where(Monitor.id.in_(done_before))
                       .values(last_checked_at=slot + timedelta(seconds=2), is_up=True))
    db.session.add(JobRun(job="check-monitors", slot=slot, shard=1, shards=2, attempt=0, status="failed",
                          trigger="schedule", message="OperationalError: the database went away"))
    db.session.commit()

    result = runner.run_job(load_jobs()["check-monitors"], slot=slot, trigger="schedule", shard=1, shards=2)
    assert result.outcome == "succeeded", result.message
    left = len(mine) - len(done_before)
    assert result.message == f"checked {left} monitors: {left} up, 0 down (shard 1 of 2)"
    per_monitor = dict(db.session.execute(
        sa.select(CheckResult.monitor_id, sa.func.count()).group_by(CheckResult.monitor_id)).all())
    assert set(per_monitor) == set(mine) and set(per_monitor.values()) == {1}


def test_two_retries_of_one_shard_racing_each_other_run_once(mysql_app, mariadb_app):
    """The retry claim is an insert of the next attempt: on MariaDB's unique key one wins."""
    slot = next_slot()
    db.session.add(JobRun(job="check-monitors", slot=slot, shard=0, shards=2, attempt=0, status="failed",
                          trigger="schedule"))
    db.session.commit()
    job = load_jobs()["check-monitors"]
    claims: list = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        with mariadb_app.app_context():
            barrier.wait()
            claims.append(runner._claim(job, slot=slot, trigger="schedule", epoch=None, shard=0, shards=2))
            db.session.remove()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    won = [c for c in claims if c is not None]
    assert len(claims) == 4 and len(won) == 1 and won[0][1] == 1


def test_sql_and_python_put_every_id_in_the_same_shard_on_mariadb(mysql_app):
    ids = [*range(1, 2001), *range(2**31 - 300, 2**31)]
    table = sa.table("shard_ids", sa.column("id", sa.BigInteger))
    db.session.execute(sa.text("CREATE TEMPORARY TABLE shard_ids (id BIGINT PRIMARY KEY)"))
    db.session.execute(sa.text("INSERT INTO shard_ids (id) VALUES (:id)"), [{"id": i} for i in ids])
    for shards in (2, 3, 5):
        seen: list[int] = []
        for k in range(shards):
            in_k = list(db.session.scalars(sa.select(table.c.id).where(in_shard(table.c.id, k, shards))))
            assert set(in_k) == {i for i in ids if shard_of(i, shards) == k}
            seen += in_k
        assert sorted(seen) == sorted(ids)
    db.session.rollback()
