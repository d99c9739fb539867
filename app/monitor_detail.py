"""Numbers for a monitor's detail page, read from indexed ranges only.

- The last 24 hours (latency series, p50/p95, uptime) come from raw results: one range
  of the (monitor_id, checked_at) index, which on MariaDB touches the last one or two
  day partitions only.
- The 14-day daily uptime reads hourly rollups (rollup-stats) for every hour up to the
  monitor's last rolled-up hour, and raw results only after it: normally the current
  hour and the previous one, at most the whole window when rollup-stats has not run.
  So the numbers are the raw results' own, whatever has been rolled up.
- Recent checks: the last 25 results of the last 24 hours (the newest partitions);
  only a monitor with fewer results than that in a day looks further back.

Guarantee: daily uptime equals what the raw results of each day say, as long as every
hour up to the last rolled-up one was rolled up after it ended (rollup-stats runs at
minute 5 for the previous hour and a re-run replaces the hour).
Caveat: an hour that rollup-stats never managed to roll up (all its retries failed)
while later hours were rolled up counts as having no checks on the chart; re-running
rollup-stats for that slot (`python -m app.jobs run rollup-stats --slot ...`) repairs it.
Days are UTC days, as the partitions are.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, HourlyRollup, Incident, Monitor, utcnow
from app.monitoring.stats import percentile, uptime_percent

DAYS = 14
RECENT = 25


def rolled_up_until(monitor_id: int, since: datetime) -> datetime:
    """The end of the monitor's last rolled-up hour after `since` (`since` if none)."""
    last = db.session.scalar(sa.select(sa.func.max(HourlyRollup.hour))
                             .where(HourlyRollup.monitor_id == monitor_id, HourlyRollup.hour >= since))
    return since if last is None else last + timedelta(hours=1)


def daily_uptime(monitor_id: int, now: datetime, days: int = DAYS) -> list[dict[str, Any]]:
    """Per UTC day, oldest first: {"day", "uptime" (percent or None), "checks"}."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    totals: dict[str, list[int]] = {}
    frontier = min(rolled_up_until(monitor_id, start), now)
    for hour, checks, failures in db.session.execute(
            sa.select(HourlyRollup.hour, HourlyRollup.checks, HourlyRollup.failures)
            .where(HourlyRollup.monitor_id == monitor_id, HourlyRollup.hour >= start,
                   HourlyRollup.hour < frontier)):
        day = totals.setdefault(hour.date().isoformat(), [0, 0])
        day[0] += checks
        day[1] += failures
    for checked_at, ok in db.session.execute(
            sa.select(CheckResult.checked_at, CheckResult.ok)
            .where(CheckResult.monitor_id == monitor_id, CheckResult.checked_at >= frontier,
                   CheckResult.checked_at < start + timedelta(days=days))):
        day = totals.setdefault(checked_at.date().isoformat(), [0, 0])
        day[0] += 1
        day[1] += 0 if ok else 1
    out = []
    for offset in range(days):
        name = (start + timedelta(days=offset)).date().isoformat()
        total, failed = totals.get(name, (0, 0))
        out.append({"day": name, "uptime": uptime_percent(total, failed), "checks": total})
    return out


def recent_checks(monitor_id: int, now: datetime, limit: int = RECENT) -> list[CheckResult]:
    newest = sa.select(CheckResult).where(CheckResult.monitor_id == monitor_id) \
        .order_by(CheckResult.checked_at.desc()).limit(limit)
    found = list(db.session.scalars(newest.where(CheckResult.checked_at >= now - timedelta(hours=24))))
    return found if len(found) == limit else list(db.session.scalars(newest))


def detail(monitor: Monitor, now: datetime | None = None) -> dict[str, Any]:
    """Numbers for the detail page: latency series, daily uptime, incidents, recent checks."""
    now = now or utcnow()
    checks_24h = list(db.session.execute(
        sa.select(CheckResult.checked_at, CheckResult.latency_ms, CheckResult.ok)
        .where(CheckResult.monitor_id == monitor.id, CheckResult.checked_at >= now - timedelta(hours=24))
        .order_by(CheckResult.checked_at)))
    latencies = [lat for _, lat, ok in checks_24h if ok and lat is not None]
    return {
        "latency_series": [lat if ok else None for _, lat, ok in checks_24h],
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "uptime_24h": uptime_percent(len(checks_24h), sum(1 for *_, ok in checks_24h if not ok)),
        "daily_uptime": daily_uptime(monitor.id, now),
        "incidents": list(db.session.scalars(
            sa.select(Incident).where(Incident.monitor_id == monitor.id)
            .order_by(Incident.opened_at.desc()).limit(20))),
        "recent_checks": recent_checks(monitor.id, now),
    }
