"""The dashboard summary: every monitor's state, uptime and recent latencies.

Computing it costs a few grouped queries, so it is cached in the shared cache
(Redis in production) under one key. Guarantees:
- every worker and pod reads the same cached summary (one Redis key);
- every summary built carries a ``version`` never used before (random), also
  stored alone under VERSION_KEY, so a page can ask "which summary is current?"
  with one small read and reuse whatever it rendered from that version
  (app/web/dashboard.py): a version names one summary's contents for good;
- any change to monitors calls ``invalidate_summary()``, which advances a
  generation counter and deletes the summary and its version, all at once, so
  the next read, in any worker, recomputes it under a new version; the TTL only
  bounds staleness from check results;
- a summary is stored only if no invalidation happened since its computation
  began (the generation is read first, the rows are read in a transaction of
  their own after that, and the store is a compare-and-set on the generation):
  a reader that began computing before an edit committed cannot put its
  pre-edit summary back after the edit's invalidation (it serves it once, to
  its own request, which ran concurrently with the edit);
- with the cache down, ``get_summary()`` computes the summary directly (a new
  version each time, so nothing rendered from it is reused);
- it reads indexed ranges only, whatever the size of the history: the 7-day uptime
  from hourly rollups plus the raw results after the last rolled-up hour
  (app/rollup_reads.py; its window starts on a whole hour, up to 59 minutes more than
  7 days), the 24-hour uptime and the sparkline from the last day's raw results.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app import rollup_reads
from app.cache import bump_and_delete, set_many_unless_bumped
from app.extensions import cache, db
from app.models import CheckResult, Monitor, failed_checks_sum, iso_utc, utcnow
from app.monitoring.stats import uptime_percent

SUMMARY_KEY = "dashboard-summary"
VERSION_KEY = "dashboard-summary-version"
GENERATION_KEY = "dashboard-summary-generation"  # advanced by every invalidation
SPARKLINE_POINTS = 30


def get_summary() -> dict[str, Any]:
    summary = cache.get(SUMMARY_KEY)
    if summary is None or "version" not in summary:  # (one cached before versions existed)
        summary = _rebuild()
    return summary


def summary_version() -> str | None:
    """The version of the cached summary, or None when none is cached (or the cache is down)."""
    version = cache.get(VERSION_KEY)
    return version if isinstance(version, str) else None


def refresh_summary() -> dict[str, Any]:
    """Recompute and store the summary (the `refresh-summary` timer calls this)."""
    return _rebuild()


def invalidate_summary() -> None:
    bump_and_delete(cache, GENERATION_KEY, SUMMARY_KEY, VERSION_KEY)


def _rebuild() -> dict[str, Any]:
    """Compute the summary and store it unless an invalidation came in meanwhile."""
    seen = cache.get(GENERATION_KEY)  # before any row is read
    # A transaction of its own, begun now: the request's session may hold a snapshot
    # (MariaDB's REPEATABLE READ) older than the generation just read.
    with orm.Session(db.engine) as session:
        summary = build_summary(session=session)
    # The summary first: a reader that sees the new version finds its summary there.
    set_many_unless_bumped(cache, {SUMMARY_KEY: summary, VERSION_KEY: summary["version"]},
                           GENERATION_KEY, seen)
    return summary


def build_summary(now: datetime | None = None, *, session: orm.Session | None = None) -> dict[str, Any]:
    session = session or db.session
    now = now or utcnow()
    monitors = session.scalars(sa.select(Monitor).order_by(Monitor.name)).all()
    day = _window_counts(session, now - timedelta(hours=24))
    # Seven days from hourly rollups and only the hours after them from raw results; the
    # sparkline from the last day's raw results: indexed ranges at any history size.
    week = rollup_reads.window_counts(session, now - timedelta(days=7), now)
    recent = _recent_latencies(session, [m.id for m in monitors], since=now - timedelta(hours=24))
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
    return {"version": secrets.token_hex(8), "generated_at": iso_utc(now), "counts": counts, "monitors": rows}


def _window_counts(session: Any, since: datetime) -> dict[int, tuple[int, int]]:
    """monitor id -> (checks, failures) since `since`, in one grouped query."""
    query = (sa.select(CheckResult.monitor_id, sa.func.count(), failed_checks_sum())
             .where(CheckResult.checked_at >= since)
             .group_by(CheckResult.monitor_id))
    return {mid: (total, failed or 0) for mid, total, failed in session.execute(query)}


def _recent_latencies(session: Any, monitor_ids: list[int], since: datetime) -> dict[int, list[float | None]]:
    """The last SPARKLINE_POINTS latencies per monitor since `since`, oldest first (one query)."""
    if not monitor_ids:
        return {}
    ranked = (sa.select(CheckResult.monitor_id, CheckResult.latency_ms, CheckResult.ok,
                        CheckResult.checked_at,
                        sa.func.row_number().over(partition_by=CheckResult.monitor_id,
                                                  order_by=CheckResult.checked_at.desc()).label("rn"))
              .where(CheckResult.monitor_id.in_(monitor_ids), CheckResult.checked_at >= since)
              .subquery())
    query = (sa.select(ranked.c.monitor_id, ranked.c.latency_ms, ranked.c.ok)
             .where(ranked.c.rn <= SPARKLINE_POINTS)
             .order_by(ranked.c.monitor_id, ranked.c.checked_at))
    result: dict[int, list[float | None]] = {}
    for monitor_id, latency, ok in session.execute(query):
        result.setdefault(monitor_id, []).append(latency if ok else None)
    return result
