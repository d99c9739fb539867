"""Run one job for one slot, exactly once, recorded in JobRun.

Guarantees:
- Exactly one run per (job, slot): the run starts by inserting its JobRun row,
  and the database's unique key (job, slot, shard, attempt) lets only one insert
  win. A loser (a CronJob that started twice, a manual run racing a scheduled one,
  a second timer process) reports ``skipped`` and writes nothing.
- Sharded jobs (check-monitors as an Indexed Job): each shard k of n claims
  (job, slot, k), so shards never block each other. A shard whose last attempt
  ended failed, interrupted or lost may be claimed again, as the next attempt
  (the Job's retry of that index); one that succeeded, or is still running, may
  not. Two retries racing each other insert the same attempt number: one wins.
  So a shard never runs twice at once, and a retry redoes only what the failed
  attempt did not commit (what it recorded is no longer due). Jobs that are not
  sharded keep one attempt per slot, as before.
- Every run ends in a final state: succeeded, failed (exception, retries spent,
  or deadline), or interrupted (SIGTERM). A process that dies without a word
  leaves ``running`` behind; the ``reap-stale-runs`` timer marks it ``lost``
  once its deadline has passed.
- One JSON line per run on the ``vigil.jobs.runs`` logger: job, slot, run id,
  trigger, epoch, duration, outcome, message.
Caller's duty: an app context is pushed (the CLI and the timers do it).
"""
from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import runtime
from app.extensions import db
from app.jobs.registry import Job, JobContext
from app.models import JobRun, utcnow

run_log = logging.getLogger("vigil.jobs.runs")
log = logging.getLogger(__name__)


class Interrupted(BaseException):
    """SIGTERM arrived during a run (BaseException: job code must not swallow it)."""


class DeadlineExceeded(BaseException):
    """The run passed its job's deadline (BaseException: job code must not swallow it)."""


@dataclass(frozen=True)
class RunResult:
    outcome: str  # succeeded | failed | skipped | interrupted
    run_id: int | None
    message: str | None
    duration_s: float

    @property
    def exit_code(self) -> int:
        return {"succeeded": 0, "skipped": 0, "failed": 1, "interrupted": 143}[self.outcome]


def where_am_i() -> str:
    return runtime.process_identity()


RETRYABLE = ("failed", "interrupted", "lost")  # a sharded job's attempt that may be run again


def check_shard(job: Job, shard: int, shards: int) -> None:
    """ValueError unless shard k of n exists for `job` (the CLI says it to users first)."""
    if shards < 1 or not 0 <= shard < shards:
        raise ValueError(f"shard {shard} of {shards} does not exist (shards are 0 to n-1, n >= 1)")
    if shards > 1 and not job.sharded:
        raise ValueError(f"job {job.name} is not sharded; it runs as one shard")


def run_job(job: Job, *, slot: datetime, trigger: str, epoch: int | None = None,
            shard: int = 0, shards: int = 1) -> RunResult:
    check_shard(job, shard, shards)
    started = time.monotonic()
    try:
        claim = _claim(job, slot=slot, trigger=trigger, epoch=epoch, shard=shard, shards=shards)
    except Interrupted:
        # SIGTERM can land after the claim committed and before its id came back (reading
        # the id after the commit is a query): the row is ours if it names this process.
        _finish_mine(job, slot, shard, "interrupted", "interrupted by SIGTERM", time.monotonic() - started)
        raise
    if claim is None:
        what = f"slot {slot.isoformat()}" + (f" shard {shard} of {shards}" if shards > 1 else "")
        result = RunResult("skipped", None, f"{what} already ran or is running",
                           time.monotonic() - started)
        _emit(job, slot, trigger, epoch, result, shard, shards)
        return result
    run_id, attempt = claim
    try:
        context = JobContext(name=job.name, slot=slot, trigger=trigger, run_id=run_id, epoch=epoch,
                             deadline_s=job.deadline_s, log=logging.getLogger(f"vigil.jobs.{job.name}"),
                             shard=shard, shards=shards, attempt=attempt)
        outcome, message = _attempts(job, context)
    except Interrupted:
        _finish(run_id, "interrupted", "interrupted by SIGTERM", time.monotonic() - started)
        _emit(job, slot, trigger, epoch, RunResult("interrupted", run_id, "interrupted by SIGTERM",
                                                   time.monotonic() - started), shard, shards)
        raise
    except DeadlineExceeded:
        outcome, message = "failed", f"deadline of {job.deadline_s:g}s exceeded"
    result = RunResult(outcome, run_id, message, time.monotonic() - started)
    _finish(run_id, outcome, message, result.duration_s)
    _emit(job, slot, trigger, epoch, result, shard, shards)
    return result


def _claim(job: Job, *, slot: datetime, trigger: str, epoch: int | None, shard: int = 0,
           shards: int = 1) -> tuple[int, int] | None:
    """Insert this run's row; (its id, its attempt), or None when another run holds the slot."""
    attempt = 0
    while True:
        now = utcnow()
        row = JobRun(job=job.name, slot=slot, shard=shard, shards=shards, attempt=attempt, trigger=trigger,
                     status="running", started_at=now, deadline_at=now + timedelta(seconds=job.deadline_s),
                     host=where_am_i(), epoch=epoch)
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
        else:
            return row.id, attempt
        if not job.sharded:
            return None
        # The shard ran or runs: retry it only if its last attempt ended without success.
        last = db.session.execute(
            sa.select(JobRun.attempt, JobRun.status)
            .where(JobRun.job == job.name, JobRun.slot == slot, JobRun.shard == shard)
            .order_by(JobRun.attempt.desc()).limit(1)).first()
        db.session.rollback()
        if last is None or last.status not in RETRYABLE or last.attempt < attempt:
            return None
        attempt = last.attempt + 1


def _attempts(job: Job, context: JobContext) -> tuple[str, str | None]:
    delay = job.retry.backoff_s
    for attempt in range(job.retry.retries + 1):
        try:
            message = job.func(context)
            db.session.commit()
            return "succeeded", message
        except Exception as exc:  # a job failure of any kind is recorded, never raised
            db.session.rollback()
            last = f"{type(exc).__name__}: {exc}"
            # One line for people; the traceback only for those who ask (DEBUG).
            context.log.warning("job %s attempt %d failed: %s", job.name, attempt + 1, last)
            context.log.debug("traceback of %s attempt %d:\n%s", job.name, attempt + 1,
                              traceback.format_exc())
            if attempt < job.retry.retries:
                time.sleep(delay)
                delay *= 2
    attempts = job.retry.retries + 1
    return "failed", (last if attempts == 1 else f"{last} (after {attempts} attempts)")[:2000]


def _finish(run_id: int, status: str, message: str | None, duration_s: float) -> None:
    db.session.rollback()  # whatever the job left half-done is not ours to commit
    db.session.execute(sa.update(JobRun).where(JobRun.id == run_id).values(
        status=status, finished_at=utcnow(), duration_s=duration_s, message=message))
    db.session.commit()


def _finish_mine(job: Job, slot: datetime, shard: int, status: str, message: str, duration_s: float) -> None:
    """Finish this process's run of (job, slot, shard) when its id is not known."""
    db.session.rollback()
    db.session.execute(sa.update(JobRun).where(
        JobRun.job == job.name, JobRun.slot == slot, JobRun.shard == shard, JobRun.status == "running",
        JobRun.host == where_am_i())
        .values(status=status, finished_at=utcnow(), duration_s=duration_s, message=message))
    db.session.commit()


def _emit(job: Job, slot: datetime, trigger: str, epoch: int | None, result: RunResult,
          shard: int = 0, shards: int = 1) -> None:
    line = {
        "event": "job_run", "job": job.name, "slot": slot.isoformat(), "run_id": result.run_id,
        "trigger": trigger, "epoch": epoch, "duration_s": round(result.duration_s, 4),
        "outcome": result.outcome, "message": result.message, "where": where_am_i(),
    }
    if job.sharded:
        line |= {"shard": shard, "shards": shards}
    run_log.info(json.dumps(line, sort_keys=True))


def reap_stale_runs(*, grace_s: float = 30.0, now: datetime | None = None) -> int:
    """Mark runs still 'running' past their deadline (plus grace) as lost; return how many."""
    cutoff = (now or utcnow()) - timedelta(seconds=grace_s)
    result = db.session.execute(
        sa.update(JobRun).where(JobRun.status == "running", JobRun.deadline_at < cutoff)
        .values(status="lost", finished_at=utcnow(),
                message="the process running it stopped without finishing (reaped)"))
    db.session.commit()
    return result.rowcount or 0
