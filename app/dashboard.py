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
- it reads indexed ranges only, whatever the size of the history: the 24-hour and
  7-day uptimes from hourly rollups plus the raw results after the last rolled-up hour
  (app/rollup_reads.py; each window starts on a whole hour, so it holds up to 59 minutes
  more), the sparkline from each monitor's last SPARKLINE_POINTS checks.
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
from app.models import Monitor, iso_utc, utcnow
from app.monitoring.stats import uptime_percent

SUMMARY_KEY = "dashboard-summary"
VERSION_KEY = "dashboard-summary-version"
GENERATION_KEY = "dashboard-summary-generation"  # advanced by every invalidation


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
    # Indexed ranges at any history size (app/rollup_reads.py): both uptimes from hourly
    # rollups and only the hours after them from raw results; the sparkline from each
    # monitor's last checks.
    uptime = rollup_reads.windows_counts(
        session, {"24h": now - timedelta(hours=24), "7d": now - timedelta(days=7)}, now,
        [m.id for m in monitors])
    recent = rollup_reads.recent_latencies(session, [(m.id, m.interval_minutes) for m in monitors], now)
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
            "uptime_24h": uptime_percent(*uptime["24h"].get(monitor.id, (0, 0))),
            "uptime_7d": uptime_percent(*uptime["7d"].get(monitor.id, (0, 0))),
            "last_latency_ms": next((v for v in reversed(latencies) if v is not None), None),
            "sparkline": latencies,
            "last_checked_at": iso_utc(monitor.last_checked_at),
        })
    return {"version": secrets.token_hex(8), "generated_at": iso_utc(now), "counts": counts, "monitors": rows}
