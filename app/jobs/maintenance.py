"""Housekeeping jobs: hourly rollups, history pruning, the dashboard summary, the reaper.

History on MariaDB: check_results is partitioned by day (app/partitions.py).
prune-history drops whole days older than VIGIL_HISTORY_DAYS (a metadata operation that
never reads the rows, so inserts are not held up), and both prune-history (daily) and
rollup-stats (hourly) make the next AHEAD_DAYS days' partitions exist; the catch-all
partition takes any insert beyond them, so a missed run never fails an insert. On SQLite
(and on a MariaDB table that is not partitioned) prune-history deletes rows in batches
of PRUNE_BATCH, each its own short transaction.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from itertools import groupby
from operator import itemgetter

import sqlalchemy as sa
from flask import current_app

from app import partitions, rollup_reads
from app.dashboard import refresh_summary
from app.extensions import db
from app.jobs.registry import JobContext, job
from app.jobs.runner import reap_stale_runs
from app.models import CheckResult, HourlyRollup, JobRun, Monitor
from app.monitoring.stats import percentile

PRUNE_BATCH = 5000
log = logging.getLogger(__name__)


def _partitions_ahead(ctx: JobContext) -> str:
    """Make the next days' partitions exist (MariaDB); a failure is logged, never raised:
    the catch-all partition keeps inserts working until the next run succeeds."""
    if not partitions.supported(db.engine):
        return ""
    try:
        created = partitions.ensure_ahead(db.engine, ctx.slot.date())
    except Exception as error:  # noqa: BLE001 - the rollup or prune must still run
        log.warning("could not create check_results partitions ahead: %s", error)
        return f"; partitions ahead NOT made ({error.__class__.__name__})"
    return f"; created partitions {', '.join(created)}" if created else ""


@job("rollup-stats", cron="5 * * * *", deadline=900, retries=2, backoff=5,
     description="Aggregate the previous hour's checks per monitor: count, failures, latency percentiles.")
def rollup_stats(ctx: JobContext) -> str:
    hour = ctx.slot.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    # Re-running a slot recomputes the same hour: replace, never add twice. One
    # transaction: readers see every monitor's rollup of the hour or none
    # (app/rollup_reads.py takes the last rolled-up hour of all monitors).
    db.session.execute(sa.delete(HourlyRollup).where(HourlyRollup.hour == hour))
    rolled = 0
    monitor_ids = list(db.session.scalars(sa.select(Monitor.id)))
    # Monitors a chunk at a time (rollup_reads.IN_LIST_SIZE), each an index range of the
    # hour: memory is one chunk's results, and no read scans the day partition around it.
    for chunk in rollup_reads.monitor_chunks(monitor_ids):
        rows = db.session.execute(
            sa.select(CheckResult.monitor_id, CheckResult.ok, CheckResult.latency_ms)
            .where(CheckResult.monitor_id.in_(chunk), CheckResult.checked_at >= hour,
                   CheckResult.checked_at < hour + timedelta(hours=1))
            .order_by(CheckResult.monitor_id))
        rollups = [_rollup(monitor_id, hour, [(ok, latency) for _, ok, latency in checks])
                   for monitor_id, checks in groupby(rows, key=itemgetter(0))]
        if rollups:
            db.session.execute(sa.insert(HourlyRollup), rollups)
        rolled += len(rollups)
    db.session.commit()
    return f"rolled up {rolled} monitors for {hour.isoformat()}{_partitions_ahead(ctx)}"


def _rollup(monitor_id: int, hour, checks: list[tuple[bool, float | None]]) -> dict:
    latencies = [latency for ok, latency in checks if ok and latency is not None]
    return {"monitor_id": monitor_id, "hour": hour, "checks": len(checks),
            "failures": sum(1 for ok, _ in checks if not ok), "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95), "p99_ms": percentile(latencies, 99)}


@job("prune-history", cron="17 3 * * *", deadline=3000, retries=1, backoff=30,
     # The description is exported to the chart and manifests (python -m app.jobs export):
     # on MariaDB the results are deleted by dropping whole day partitions.
     description="Delete raw check results and job runs older than VIGIL_HISTORY_DAYS, "
                 "hourly rollups older than VIGIL_ROLLUP_DAYS.")
def prune_history(ctx: JobContext) -> str:
    from app import login_sessions

    cutoff = ctx.slot - timedelta(days=current_app.config["VIGIL_HISTORY_DAYS"])
    checks = prune_check_results(cutoff)
    ahead = _partitions_ahead(ctx)
    runs = _delete_in_batches(JobRun, sa.and_(JobRun.started_at < cutoff, JobRun.status != "running"))
    # Small next to raw results (one row per monitor and hour): batched deletes over the
    # hour index suffice.
    rollup_cutoff = ctx.slot - timedelta(days=current_app.config["VIGIL_ROLLUP_DAYS"])
    rollups = _delete_in_batches(HourlyRollup, HourlyRollup.hour < rollup_cutoff)
    sessions = login_sessions.prune_idle()
    return (f"pruned {checks} older than {cutoff.isoformat()}, {runs} job runs, "
            f"{rollups} hourly rollups older than {rollup_cutoff.isoformat()}, "
            f"and {sessions} idle sign-ins{ahead}")


def prune_check_results(cutoff) -> str:
    """Drop the whole days older than `cutoff` (partitioned MariaDB), else delete rows."""
    if partitions.supported(db.engine):
        # The DDL runs on its own connection: a transaction of the session's that read the
        # table would hold the metadata lock it needs.
        db.session.commit()
        with db.engine.connect() as conn:
            partitioned = partitions.is_partitioned(conn)
        if partitioned:
            dropped = partitions.drop_before(db.engine, cutoff)
            return f"{len(dropped)} day partitions of check results"
    return f"{_delete_in_batches(CheckResult, CheckResult.checked_at < cutoff)} check results"


def _delete_in_batches(model, condition) -> int:
    """Short transactions, so pruning a large table never holds long locks."""
    total = 0
    while True:
        ids = list(db.session.scalars(sa.select(model.id).where(condition).limit(PRUNE_BATCH)))
        if not ids:
            return total
        db.session.execute(sa.delete(model).where(model.id.in_(ids)))
        db.session.commit()
        total += len(ids)


@job("refresh-summary", every=15, deadline=30,
     description="Recompute the dashboard summary into the shared cache.")
def refresh_summary_job(ctx: JobContext) -> str:
    summary = refresh_summary()
    return f"summary of {len(summary['monitors'])} monitors cached"


@job("reap-stale-runs", every=60, deadline=30,
     description="Mark runs left 'running' past their deadline as lost.")
def reap_stale_runs_job(ctx: JobContext) -> str:
    return f"marked {reap_stale_runs()} runs lost"


