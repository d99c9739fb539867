"""The dashboard summary: every monitor's state, uptime and recent latencies.

Computing it costs a few grouped queries, so it is cached in the shared cache
(Redis in production) under one key. Guarantees:
- every worker and pod reads the same cached summary (one Redis key);
- any change to monitors calls ``invalidate_summary()``, so the next read, in
  any worker, recomputes it; the TTL only bounds staleness from check results;
- with the cache down, ``get_summary()`` computes the summary directly.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.extensions import cache, db
from app.models import CheckResult, Monitor, failed_checks_sum, iso_utc, utcnow
from app.monitoring.stats import uptime_percent

SUMMARY_KEY = "dashboard-summary"
SPARKLINE_POINTS = 30


def get_summary() -> dict[str, Any]:
    summary = cache.get(SUMMARY_KEY)
    if summary is None:
        summary = build_summary()
        cache.set(SUMMARY_KEY, summary)
    return summary


def refresh_summary() -> dict[str, Any]:
    """Recompute and store the summary (the `refresh-summary` timer calls this)."""
    summary = build_summary()
    cache.set(SUMMARY_KEY, summary)
    return summary


def invalidate_summary() -> None:
    cache.delete(SUMMARY_KEY)


def build_summary(now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    monitors = db.session.scalars(sa.select(Monitor).order_by(Monitor.name)).all()
    day = _window_counts(now - timedelta(hours=24))
    week = _window_counts(now - timedelta(days=7))
    recent = _recent_latencies([m.id for m in monitors])
    rows = []
    counts = {"up": 0, "down": 0, "pending": 0, "paused": 0}
    for monitor in monitors:
        counts[monitor.state] += 1
        latencies = recent.get(monitor.id, [])
        rows.append({
            "id": monitor.id,
            "name": monitor.name,
            "url": monitor.url,
            "state": monitor.state,
            "interval_minutes": monitor.interval_minutes,
            "uptime_24h": uptime_percent(*day.get(monitor.id, (0, 0))),
            "uptime_7d": uptime_percent(*week.get(monitor.id, (0, 0))),
            "last_latency_ms": next((v for v in reversed(latencies) if v is not None), None),
            "sparkline": latencies,
            "last_checked_at": iso_utc(monitor.last_checked_at),
        })
    return {"generated_at": iso_utc(now), "counts": counts, "monitors": rows}


def _window_counts(since: datetime) -> dict[int, tuple[int, int]]:
    """monitor id -> (checks, failures) since `since`, in one grouped query."""
    query = (sa.select(CheckResult.monitor_id, sa.func.count(), failed_checks_sum())
             .where(CheckResult.checked_at >= since)
             .group_by(CheckResult.monitor_id))
    return {mid: (total, failed or 0) for mid, total, failed in db.session.execute(query)}


def _recent_latencies(monitor_ids: list[int]) -> dict[int, list[float | None]]:
    """The last SPARKLINE_POINTS latencies per monitor, oldest first (one query)."""
    if not monitor_ids:
        return {}
    ranked = (sa.select(CheckResult.monitor_id, CheckResult.latency_ms, CheckResult.ok,
                        CheckResult.checked_at,
                        sa.func.row_number().over(partition_by=CheckResult.monitor_id,
                                                  order_by=CheckResult.checked_at.desc()).label("rn"))
              .where(CheckResult.monitor_id.in_(monitor_ids))
              .subquery())
    query = (sa.select(ranked.c.monitor_id, ranked.c.latency_ms, ranked.c.ok)
             .where(ranked.c.rn <= SPARKLINE_POINTS)
             .order_by(ranked.c.monitor_id, ranked.c.checked_at))
    result: dict[int, list[float | None]] = {}
    for monitor_id, latency, ok in db.session.execute(query):
        result.setdefault(monitor_id, []).append(latency if ok else None)
    return result
