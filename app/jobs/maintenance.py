"""Housekeeping jobs: hourly rollups, history pruning, the dashboard summary, the reaper."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.dashboard import refresh_summary
from app.extensions import db
from app.jobs.registry import JobContext, job
from app.jobs.runner import reap_stale_runs
from app.models import CheckResult, HourlyRollup, JobRun
from app.monitoring.stats import percentile

PRUNE_BATCH = 5000


@job("rollup-stats", cron="5 * * * *", deadline=900, retries=2, backoff=5,
     description="Aggregate the previous hour's checks per monitor: count, failures, latency percentiles.")
def rollup_stats(ctx: JobContext) -> str:
    hour = ctx.slot.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    rows = db.session.execute(
        sa.select(CheckResult.monitor_id, CheckResult.ok, CheckResult.latency_ms)
        .where(CheckResult.checked_at >= hour, CheckResult.checked_at < hour + timedelta(hours=1)))
    per_monitor: dict[int, list[tuple[bool, float | None]]] = {}
    for monitor_id, ok, latency in rows:
        per_monitor.setdefault(monitor_id, []).append((ok, latency))
    # Re-running a slot recomputes the same hour: replace, never add twice.
    db.session.execute(sa.delete(HourlyRollup).where(HourlyRollup.hour == hour))
    for monitor_id, checks in per_monitor.items():
        latencies = [lat for ok, lat in checks if ok and lat is not None]
        db.session.add(HourlyRollup(
            monitor_id=monitor_id, hour=hour, checks=len(checks),
            failures=sum(1 for ok, _ in checks if not ok), p50_ms=percentile(latencies, 50),
            p95_ms=percentile(latencies, 95), p99_ms=percentile(latencies, 99)))
    return f"rolled up {len(per_monitor)} monitors for {hour.isoformat()}"


@job("prune-history", cron="17 3 * * *", deadline=3000, retries=1, backoff=30,
     description="Delete raw check results and job runs older than VIGIL_HISTORY_DAYS.")
def prune_history(ctx: JobContext) -> str:
    from app import login_sessions

    cutoff = ctx.slot - timedelta(days=current_app.config["VIGIL_HISTORY_DAYS"])
    checks = _delete_in_batches(CheckResult, CheckResult.checked_at < cutoff)
    runs = _delete_in_batches(JobRun, sa.and_(JobRun.started_at < cutoff, JobRun.status != "running"))
    sessions = login_sessions.prune_idle()
    return (f"pruned {checks} check results and {runs} job runs older than {cutoff.isoformat()}, "
            f"and {sessions} idle sign-ins")


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


