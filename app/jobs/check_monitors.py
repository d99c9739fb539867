"""The ``check-monitors`` job: probe the monitors that are due, record what was seen.

Every minute (one CronJob slot): select the enabled monitors due for the slot (those of
this shard, when the job runs as n shards), probe them concurrently
(app.monitoring.probe), and, while the rest are still being probed, write the results in
batches: each batch, in one transaction, inserts its check results, advances each
monitor's state by its thresholds (down after N failed checks in a row, up after M good
ones: app.alerts.thresholds), opens an incident when a monitor turns down and resolves it
when it turns up, and queues one outbox row per (event, channel) (app.alerts.outbox).
Then drop the cached dashboard summary, and send what is queued (app.alerts.dispatch) with
the time left, so a state change is announced seconds after the check that saw it.

Due: never checked, or ``last_checked_at + interval <= slot + DUE_TOLERANCE``.
``last_checked_at`` is when the probe really ran (the UI shows it), which is
some seconds after its slot: the pod starts late, and 10,000 probes take a few
seconds. A tolerance below one period (60 s) can never make a check early by a
slot, and one close to it keeps a 1-minute monitor from skipping every other
minute when its probe ran more than a few seconds after the slot.

Concurrency: sized per run from the deadline and the monitors due
(``probe_pool.plan_workers``): the expected time of every due monitor (its last latency; its
timeout if it last failed without an answer; UNKNOWN_PROBE_S if never checked), added
up, over half the probing budget; at least 16 (or one per monitor), at most
VIGIL_CHECK_CONCURRENCY (default 512, the cap on probes and sockets in flight). The pool
grows toward that cap during the run if the probes so far say it would not finish in
time (``probe_pool.ProbeRun``).

Shards (app.jobs.check_shards): shard k of n (JOB_COMPLETION_INDEX of VIGIL_JOB_SHARDS,
set by the Indexed Job the chart renders) selects only the due monitors whose stable id
hash falls in k; n shards together check every due monitor exactly once per slot. Each
shard claims its own run (app/jobs/runner.py), so shards do not block each other, and a
shard the Job retries re-checks only what the failed attempt did not record.

Guarantees:
- The run fits its deadline: probing gets the deadline minus WRITE_RESERVE_S;
  a probe is started only if its timeout fits in what is left, and a timeout
  longer than the whole budget is cut to it. Monitors left unprobed are not
  recorded and stay due; they go first next minute (oldest check first), so a
  shortage of time never reads as "down".
- Each batch (at most WRITE_BATCH results, written at least every WRITE_EVERY_S) is one
  transaction; a run that stops half-way keeps the batches it committed, and the rest
  stay due. Monitor rows are locked (SELECT ... FOR UPDATE on MariaDB) in id order and
  re-read, so a monitor deleted meanwhile is skipped instead of failing the run, and state
  only moves forward: a result older than the monitor's last check (a run of another slot
  that overlapped) is recorded but does not change is_up or incidents. At most one
  incident per monitor is open.
- Each state change is queued for notification exactly once: the monitor's row lock
  serialises the writers of one monitor, the state moves only forward, and the
  outbox rows commit with the change (in the same batch) or not at all. Inside a
  maintenance window the incident is marked and nothing is queued.
- No probe connects to an address in VIGIL_PROBE_DENY: a monitor whose host
  resolves to one is recorded as a failed check that says so (and may open an
  incident like any other failure).
- Queries are set-based: one select of due monitors; per batch one locking select, one
  bulk insert, one executemany update (one UPDATE with a CASE per monitor was tried: its
  compilation cost 5 times the CPU); cost grows with the number of due monitors only.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import OperationalError

from app.alerts import outbox, thresholds
from app.alerts.dispatch import dispatch
from app.alerts.outbox import IncidentEvent
from app.alerts.windows import monitors_in_maintenance
from app.dashboard import invalidate_summary
from app.extensions import db
from app.jobs.check_shards import in_shard
from app.jobs.registry import JobContext, job
from app.models import CheckResult, Incident, Monitor

if TYPE_CHECKING:
    from app.monitoring.probe import ProbeResult

DUE_TOLERANCE = timedelta(seconds=55)
WRITE_RESERVE_S = 10.0  # of the deadline, kept for the database writes after probing
DEFAULT_CONCURRENCY = 512  # VIGIL_CHECK_CONCURRENCY's default: the most probes in flight
WRITE_BATCH = 500  # results per write transaction
WRITE_EVERY_S = 2.0  # a batch is written at least this often while results come in
UNKNOWN_PROBE_S = 1.0  # expected duration of a monitor never checked (at most its timeout)
CONNECT_ALLOWANCE_S = 0.02  # added to a last latency: connecting, and the job's own work
DISPATCH_RESERVE_S = 3.0  # of the deadline, never used for sending notifications
WRITE_ATTEMPTS = 3  # a deadlock with a concurrent delete is retried, not fatal


@job("check-monitors", cron="* * * * *", deadline=40, sharded=True,
     description="Probe the monitors that are due, concurrently; record the results, "
                 "open and resolve incidents.")
def check_monitors(ctx: JobContext) -> str:
    # Imported here, not at the top: the registry loads this module in every job pod,
    # and only this job needs httpx (about 15 ms of start-up; see bench/jobstart).
    from app.monitoring.probe import ProbeTarget
    from app.monitoring.probe_pool import ProbeRun, plan_workers

    started = time.monotonic()
    shard = f" (shard {ctx.shard} of {ctx.shards})" if ctx.shards > 1 else ""
    due = due_monitors(ctx.slot, shard=ctx.shard, shards=ctx.shards)
    if not due:
        return f"checked 0 monitors: 0 up, 0 down (none due){shard}"
    budget = ctx.deadline_s - WRITE_RESERVE_S - (time.monotonic() - started)
    targets = [ProbeTarget(id=m.id, url=m.url, method=m.method,
                           timeout_s=max(0.1, min(float(m.timeout_seconds), budget)),
                           expected_min=m.expected_status_min, expected_max=m.expected_status_max,
                           keyword=m.keyword or None)
               for m in due]
    # Longest timeouts first, so they are never the ones that no longer fit in the budget.
    targets.sort(key=lambda t: -t.timeout_s)
    cap = int(current_app.config.get("VIGIL_CHECK_CONCURRENCY", DEFAULT_CONCURRENCY))
    workers = plan_workers([expected_seconds(m, budget) for m in due], budget, max_workers=cap)
    db.session.rollback()  # end the read transaction: no connection held idle while probing
    # Read on every run, and checked after DNS on every connection (app.monitoring.address_guard).
    deny = current_app.config["VIGIL_PROBE_DENY"]
    recorded = up = 0
    try:
        with ProbeRun(targets, workers=workers, max_workers=cap, budget_s=budget, deny=deny) as run:
            # Written while the rest is still being probed: each batch is one transaction.
            for batch in run.batches(size=WRITE_BATCH, every_s=WRITE_EVERY_S):
                written = record_results(batch)
                recorded += len(written)
                up += sum(1 for r in written if r.ok)
    finally:
        if recorded:
            invalidate_summary()
    ctx.log.info("check-monitors%s: %d due, %d probed at once (planned %d, at most %d), %.1fs",
                 shard, len(due), run.workers, workers, cap, time.monotonic() - started)
    message = f"checked {recorded} monitors: {up} up, {recorded - up} down{shard}"
    # Announce what this run queued now, with what is left of the deadline (the timer
    # sends anything left over: app.alerts.dispatch).
    left = ctx.deadline_s - (time.monotonic() - started) - DISPATCH_RESERVE_S
    if left > 1:
        try:
            sent = dispatch(budget_s=left)
        except Exception:  # the checks are committed; the timer sends what is left
            db.session.rollback()
            ctx.log.exception("check-monitors: sending notifications failed; the timer will retry")
        else:
            if sent.sent or sent.retrying or sent.failed:
                message += f"; notifications: {sent}"
    left = len(due) - recorded
    if left:
        message += f"; {left} left for the next run (time budget)"
        ctx.log.warning("check-monitors: %d of %d due monitors not probed within %.0fs",
                        left, len(due), budget)
    return message


def expected_seconds(monitor: sa.Row, budget_s: float) -> float:
    """What probing `monitor` is expected to take, for sizing the pool: its last latency
    when it answered, its whole timeout when it was checked and did not answer (a hang or a
    refusal: assume the worse), a guess of UNKNOWN_PROBE_S (at most its timeout) when it
    was never checked."""
    timeout = min(float(monitor.timeout_seconds), budget_s)
    if monitor.last_latency_ms is not None:
        return min(timeout, monitor.last_latency_ms / 1000.0 + CONNECT_ALLOWANCE_S)
    if monitor.last_checked_at is not None:
        return timeout
    return min(timeout, UNKNOWN_PROBE_S)


def due_monitors(slot: datetime, *, shard: int = 0, shards: int = 1) -> list[sa.Row]:
    """Enabled monitors due at `slot` (of shard k of n: app.jobs.check_shards), least recently
    checked first (never checked first of all)."""
    intervals = list(db.session.scalars(
        sa.select(Monitor.interval_minutes).where(Monitor.enabled.is_(True)).distinct()))
    if not intervals:
        return []
    # One range condition per interval: portable (no interval arithmetic in SQL) and sargable.
    due = sa.or_(Monitor.last_checked_at.is_(None), *(
        sa.and_(Monitor.interval_minutes == minutes,
                Monitor.last_checked_at <= slot + DUE_TOLERANCE - timedelta(minutes=minutes))
        for minutes in intervals))
    query = (sa.select(Monitor.id, Monitor.url, Monitor.method, Monitor.timeout_seconds,
                       Monitor.expected_status_min, Monitor.expected_status_max, Monitor.keyword,
                       Monitor.last_checked_at, Monitor.last_latency_ms)
             .where(Monitor.enabled.is_(True), due, in_shard(Monitor.id, shard, shards))
             .order_by(Monitor.last_checked_at.is_not(None), Monitor.last_checked_at, Monitor.id))
    return list(db.session.execute(query))


def record_results(results: list[ProbeResult]) -> list[ProbeResult]:
    """Write `results` in one transaction (retried on a deadlock); return those recorded."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            recorded = _write(results)
            db.session.commit()
            return recorded
        except OperationalError as exc:
            db.session.rollback()
            if attempt + 1 == WRITE_ATTEMPTS or not _is_lock_conflict(exc):
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _write(results: list[ProbeResult]) -> list[ProbeResult]:
    if not results:
        return []
    monitors = Monitor.__table__
    ids = sorted({r.target_id for r in results})
    # Lock in id order (a fixed order avoids deadlocks between two writers) and re-read state.
    current = {row.id: row for row in db.session.execute(
        sa.select(monitors.c.id, monitors.c.name, monitors.c.url, monitors.c.is_up, monitors.c.streak,
                  monitors.c.last_checked_at, monitors.c.down_after, monitors.c.up_after,
                  monitors.c.notify_recovery)
        .where(monitors.c.id.in_(ids)).order_by(monitors.c.id).with_for_update())}
    results = [r for r in results if r.target_id in current]  # deleted while probing: skip
    if not results:
        return []
    db.session.execute(sa.insert(CheckResult.__table__), [
        {"monitor_id": r.target_id, "checked_at": r.checked_at, "ok": r.ok,
         "status_code": r.status_code, "latency_ms": r.latency_ms, "error": r.error}
        for r in results])

    newer = [r for r in results if current[r.target_id].last_checked_at is None
             or current[r.target_id].last_checked_at < r.checked_at]
    if not newer:
        return results
    moves = {r.target_id: thresholds.advance(
        is_up=current[r.target_id].is_up, streak=current[r.target_id].streak, ok=r.ok,
        down_after=current[r.target_id].down_after, up_after=current[r.target_id].up_after)
        for r in newer}
    db.session.execute(
        sa.update(monitors).where(monitors.c.id == sa.bindparam("b_id"))
        # updated_at means "edited by a person": a check leaves it as it is.
        .values(is_up=sa.bindparam("b_is_up"), streak=sa.bindparam("b_streak"),
                last_checked_at=sa.bindparam("b_checked_at"), last_latency_ms=sa.bindparam("b_latency"),
                updated_at=monitors.c.updated_at),
        [{"b_id": r.target_id, "b_is_up": moves[r.target_id].is_up, "b_streak": moves[r.target_id].streak,
          "b_checked_at": r.checked_at, "b_latency": r.latency_ms} for r in newer])
    went_down = [r for r in newer if moves[r.target_id].event == "down"]
    came_up = [r for r in newer if moves[r.target_id].changed and moves[r.target_id].is_up]
    if went_down or came_up:
        quiet = monitors_in_maintenance([r.target_id for r in went_down + came_up], newer[0].checked_at)
        events = _open_incidents(went_down, current, quiet) + _resolve_incidents(came_up, current, quiet)
        outbox.queue(events)
    return results


def _open_incidents(results: list[ProbeResult], current: dict, quiet: set[int]) -> list[IncidentEvent]:
    """Open one incident per monitor that went down; the down events to notify."""
    if not results:
        return []
    incidents = Incident.__table__
    already_open = set(db.session.scalars(
        sa.select(incidents.c.monitor_id).where(incidents.c.monitor_id.in_([r.target_id for r in results]),
                                                incidents.c.resolved_at.is_(None))))
    opening = [r for r in results if r.target_id not in already_open]
    if not opening:
        return []
    causes = {r.target_id: r.error or (f"status {r.status_code}" if r.status_code else "check failed")
              for r in opening}
    db.session.execute(sa.insert(incidents), [
        {"monitor_id": r.target_id, "opened_at": r.checked_at, "resolved_at": None,
         "cause": causes[r.target_id], "in_maintenance": r.target_id in quiet,
         "last_notified_at": None if r.target_id in quiet else r.checked_at}
        for r in opening])
    opened = dict(db.session.execute(
        sa.select(incidents.c.monitor_id, incidents.c.id)
        .where(incidents.c.monitor_id.in_(list(causes)), incidents.c.resolved_at.is_(None))).all())
    return [IncidentEvent(monitor_id=r.target_id, monitor_name=current[r.target_id].name,
                          monitor_url=current[r.target_id].url, incident_id=opened[r.target_id],
                          event="down", at=r.checked_at, detail=causes[r.target_id])
            for r in opening if r.target_id not in quiet]


def _resolve_incidents(results: list[ProbeResult], current: dict, quiet: set[int]) -> list[IncidentEvent]:
    """Resolve the open incident of each monitor that came up; the recoveries to notify."""
    if not results:
        return []
    incidents = Incident.__table__
    open_ones = {row.monitor_id: row for row in db.session.execute(
        sa.select(incidents.c.id, incidents.c.monitor_id, incidents.c.opened_at, incidents.c.in_maintenance)
        .where(incidents.c.monitor_id.in_([r.target_id for r in results]), incidents.c.resolved_at.is_(None)))}
    if not open_ones:
        return []
    db.session.execute(
        sa.update(incidents)
        .where(incidents.c.monitor_id == sa.bindparam("b_monitor_id"),
               incidents.c.resolved_at.is_(None))
        .values(resolved_at=sa.bindparam("b_resolved_at")),
        [{"b_monitor_id": r.target_id, "b_resolved_at": r.checked_at} for r in results
         if r.target_id in open_ones])
    return [IncidentEvent(monitor_id=r.target_id, monitor_name=current[r.target_id].name,
                          monitor_url=current[r.target_id].url, incident_id=open_ones[r.target_id].id,
                          event="up", at=r.checked_at,
                          detail=f"Down for {_duration(r.checked_at - open_ones[r.target_id].opened_at)}.")
            for r in results
            if r.target_id in open_ones and current[r.target_id].notify_recovery
            and not open_ones[r.target_id].in_maintenance and r.target_id not in quiet]


def _duration(span: timedelta) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _is_lock_conflict(exc: OperationalError) -> bool:
    code = exc.orig.args[0] if getattr(exc.orig, "args", None) else None
    return code in (1205, 1213) or "database is locked" in str(exc.orig)
