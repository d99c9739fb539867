"""Sharding check-monitors: the stable hash, the per-shard run claim and its retries, the CLI's
shard flags, and the jobs page's view of shards (SQLite; the concurrent processes on MariaDB
are in tests/integration/test_check_shards.py)."""
from __future__ import annotations

import collections
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.jobs import cli, runner
from app.jobs.check_shards import MAX_SHARDS, in_shard, shard_of
from app.jobs.registry import load_jobs
from app.models import JobRun

SLOT = datetime(2026, 1, 1, 12, 0)
IDS = [*range(1, 3001), *range(2**31 - 500, 2**31)]  # small ids and the largest INT ids


@pytest.mark.parametrize("shards", [1, 2, 3, 4, 7])
def test_every_id_is_in_exactly_one_shard_and_sql_agrees_with_python(app, shards):
    from app.extensions import db

    ids = sa.table("ids", sa.column("id", sa.BigInteger))
    with app.app_context():
        db.session.execute(sa.text("CREATE TEMPORARY TABLE ids (id BIGINT PRIMARY KEY)"))
        db.session.execute(sa.text("INSERT INTO ids (id) VALUES (:id)"), [{"id": i} for i in IDS])
        seen: collections.Counter[int] = collections.Counter()
        for k in range(shards):
            in_k = set(db.session.scalars(sa.select(ids.c.id).where(in_shard(ids.c.id, k, shards))))
            assert in_k == {i for i in IDS if shard_of(i, shards) == k}
            seen.update(in_k)
        db.session.rollback()
    assert set(seen) == set(IDS) and set(seen.values()) == {1}


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_shards_stay_balanced_whatever_the_id_stride(stride):
    """auto_increment_increment = 3 (a three-node Galera cluster) must not empty two shards of 3."""
    counts = collections.Counter(shard_of(i, 3) for i in range(1, 30_001, stride))
    assert min(counts.values()) > 0.95 * max(counts.values())


def test_impossible_shards_are_refused():
    with pytest.raises(ValueError):
        shard_of(1, 0)
    with pytest.raises(ValueError):
        shard_of(1, MAX_SHARDS + 1)
    with pytest.raises(ValueError):
        in_shard(sa.column("id"), 2, 2)


# --- the run claim, per shard ------------------------------------------------------------------

def _runs(db) -> list[tuple]:
    return [tuple(r) for r in db.session.execute(
        sa.select(JobRun.shard, JobRun.shards, JobRun.attempt, JobRun.status).order_by(JobRun.shard, JobRun.attempt))]


def test_shards_of_one_slot_do_not_block_each_other_but_each_runs_once(app):
    from app.extensions import db

    job = load_jobs()["check-monitors"]
    with app.app_context():
        for shard in range(3):
            result = runner.run_job(job, slot=SLOT, trigger="manual", shard=shard, shards=3)
            assert result.outcome == "succeeded", result.message
            assert result.message.endswith(f"(shard {shard} of 3)")
        again = runner.run_job(job, slot=SLOT, trigger="manual", shard=1, shards=3)
        assert again.outcome == "skipped" and "shard 1 of 3" in again.message
        assert _runs(db) == [(0, 3, 0, "succeeded"), (1, 3, 0, "succeeded"), (2, 3, 0, "succeeded")]


@pytest.mark.parametrize("status, retried", [("failed", True), ("interrupted", True), ("lost", True),
                                             ("running", False), ("succeeded", False)])
def test_a_shard_is_run_again_only_after_its_attempt_ended_without_success(app, status, retried):
    from app.extensions import db

    job = load_jobs()["check-monitors"]
    with app.app_context():
        db.session.add(JobRun(job=job.name, slot=SLOT, shard=1, shards=2, attempt=0, status=status,
                              trigger="schedule"))
        db.session.commit()
        result = runner.run_job(job, slot=SLOT, trigger="schedule", shard=1, shards=2)
        assert result.outcome == ("succeeded" if retried else "skipped")
        expected = [(1, 2, 0, status)] + ([(1, 2, 1, "succeeded")] if retried else [])
        assert _runs(db) == expected
        # The retry is the last attempt: a third pod of the same shard finds it done.
        assert runner.run_job(job, slot=SLOT, trigger="schedule", shard=1, shards=2).outcome == "skipped"


def test_a_job_that_is_not_sharded_keeps_one_attempt_per_slot(app):
    from app.extensions import db

    job = load_jobs()["rollup-stats"]
    with app.app_context():
        db.session.add(JobRun(job=job.name, slot=SLOT, status="failed", trigger="schedule"))
        db.session.commit()
        assert runner.run_job(job, slot=SLOT, trigger="schedule").outcome == "skipped"
        with pytest.raises(ValueError, match="not sharded"):
            runner.run_job(job, slot=SLOT + timedelta(hours=1), trigger="schedule", shard=0, shards=2)


# --- the CLI ------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, env, error", [
    (["--shard", "2", "--shards", "2"], {}, "shard 2 of 2 does not exist"),
    (["--shards", "0"], {}, "shard 0 of 0 does not exist"),
    ([], {"JOB_COMPLETION_INDEX": "3", "VIGIL_JOB_SHARDS": "3"}, "shard 3 of 3 does not exist"),
    ([], {"VIGIL_JOB_SHARDS": "two"}, "VIGIL_JOB_SHARDS must be a whole number"),
])
def test_impossible_shards_are_a_usage_error(monkeypatch, capsys, argv, env, error):
    for name in ("JOB_COMPLETION_INDEX", "VIGIL_JOB_SHARDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["run", "check-monitors", "--slot", "now", *argv]) == cli.EXIT_USAGE
    assert error in capsys.readouterr().err


def test_a_job_that_is_not_sharded_refuses_shards(capsys):
    assert cli.main(["run", "prune-history", "--shards", "2"]) == cli.EXIT_USAGE
    assert "not sharded" in capsys.readouterr().err


def test_the_shard_comes_from_the_indexed_job_and_the_chart(monkeypatch):
    job = load_jobs()["check-monitors"]
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "2")
    monkeypatch.setenv("VIGIL_JOB_SHARDS", "3")
    assert cli.shard_of_process(job, None, None) == (2, 3)
    assert cli.shard_of_process(job, 0, 1) == (0, 1)  # flags win
    monkeypatch.delenv("JOB_COMPLETION_INDEX")
    monkeypatch.delenv("VIGIL_JOB_SHARDS")
    assert cli.shard_of_process(job, None, None) == (0, 1)


# --- the jobs page ------------------------------------------------------------------------------

def test_the_jobs_page_folds_a_slots_shards_into_one_badge(app, admin_client):
    from app.extensions import db

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with app.app_context():
        db.session.add_all([
            JobRun(job="check-monitors", slot=SLOT, shard=0, shards=2, attempt=0, status="succeeded",
                   trigger="schedule", started_at=now, duration_s=1.0),
            JobRun(job="check-monitors", slot=SLOT, shard=1, shards=2, attempt=0, status="failed",
                   trigger="schedule", started_at=now, duration_s=0.5),
            JobRun(job="check-monitors", slot=SLOT, shard=1, shards=2, attempt=1, status="succeeded",
                   trigger="schedule", started_at=now + timedelta(seconds=2), duration_s=2.0)])
        db.session.commit()
    page = admin_client.get("/jobs/").get_data(as_text=True)
    assert "succeeded ×2" in page
    assert "shard 1 of 2: succeeded on retry 1" in page
    history = admin_client.get("/jobs/check-monitors").get_data(as_text=True)
    assert "1 of 2 (retry 1)" in history and "0 of 2" in history
