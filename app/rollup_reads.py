"""Reads over all monitors' history by index ranges only, whatever its size.

- ``window_counts`` / ``windows_counts``: checks and failures per monitor over windows
  like the dashboard's 24 hours and 7 days. Rollups for every hour up to the last one
  rollup-stats wrote (it writes all monitors of an hour at once, so one MAX(hour) finds
  it), from the covering index (hour, monitor_id, checks, failures); raw results only
  after it, normally the last hour or two, from the covering index (monitor_id,
  checked_at, ok, latency_ms) with the monitors named (migration 0009). So a window
  reads about one rollup row per monitor and hour plus the last hours' raw results.
- ``recent_latencies``: the last SPARKLINE_POINTS checks of each monitor, read from one
  and a half times the time that many checks take at its own interval (slack for checks
  that ran late), at most a day: under 2 x SPARKLINE_POINTS index entries per monitor,
  not a day of every monitor's results.
- ``monitor_chunks``: monitor ids in IN-lists of IN_LIST_SIZE. A range on the
  (monitor_id, checked_at) index needs the monitors named, and the list must stay below
  MariaDB's in_predicate_conversion_threshold (1,000 by default): from that size on,
  MariaDB turns the list into a subquery joined by monitor_id alone, which reads each
  monitor's whole history (measured at 10 million rows: 1.5 s a thousand monitors
  instead of milliseconds). Short lists also keep the range optimizer within its memory
  and SQLite within its bound-variable limit.

Guarantee: the counts equal the raw results' own for the hour-aligned window
[`since` rounded down to the hour, `now`), as long as every hour up to the last
rolled-up one was rolled up (the same caveat as app/monitor_detail.py).
Caveats: a window starts at a whole hour, so it holds up to 59 minutes more than
`now - since` (for a 24-hour uptime, up to 4 % more checks; for 7 days, 0.6 %). A monitor
whose checks ran more than half their interval late shows fewer than SPARKLINE_POINTS
points.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from itertools import groupby
from typing import Hashable, Iterator, Mapping, Sequence, TypeVar

import sqlalchemy as sa
from sqlalchemy import orm

from app.models import CheckResult, HourlyRollup, Monitor

IN_LIST_SIZE = 500  # below MariaDB's in_predicate_conversion_threshold (see above)
SPARKLINE_POINTS = 30
K = TypeVar("K", bound=Hashable)


def monitor_chunks(monitor_ids: Sequence[int], size: int = IN_LIST_SIZE) -> Iterator[list[int]]:
    ordered = sorted(monitor_ids)
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


def rolled_up_until(session: orm.Session, since: datetime) -> datetime:
    """The end of the last rolled-up hour of any monitor after `since` (`since` if none)."""
    last = session.scalar(sa.select(sa.func.max(HourlyRollup.hour)).where(HourlyRollup.hour >= since))
    return since if last is None else last + timedelta(hours=1)


def window_counts(session: orm.Session, since: datetime, now: datetime,
                  monitor_ids: Sequence[int] | None = None) -> dict[int, tuple[int, int]]:
    """monitor id -> (checks, failures) in [`since` rounded down to the hour, `now`)."""
    return windows_counts(session, {"window": since}, now, monitor_ids)["window"]


def windows_counts(session: orm.Session, starts: Mapping[K, datetime], now: datetime,
                   monitor_ids: Sequence[int] | None = None) -> dict[K, dict[int, tuple[int, int]]]:
    """Several windows ending at `now` at once (one rollup read, one raw read): for each
    key, monitor id -> (checks, failures) since its start rounded down to the hour.
    `monitor_ids`: the monitors to count (default: every monitor)."""
    if monitor_ids is None:
        monitor_ids = list(session.scalars(sa.select(Monitor.id)))
    starts = {key: since.replace(minute=0, second=0, microsecond=0) for key, since in starts.items()}
    counts: dict[K, dict[int, tuple[int, int]]] = {key: {} for key in starts}
    if not starts or not monitor_ids:
        return counts
    first = min(starts.values())
    frontier = min(rolled_up_until(session, first), now)
    rollup_sums = []
    for since in starts.values():
        recent = HourlyRollup.hour >= since
        rollup_sums += [sa.func.sum(sa.case((recent, HourlyRollup.checks), else_=0)),
                        sa.func.sum(sa.case((recent, HourlyRollup.failures), else_=0))]
    _add(counts, session.execute(
        sa.select(HourlyRollup.monitor_id, *rollup_sums)
        .where(HourlyRollup.hour >= first, HourlyRollup.hour < frontier)
        .group_by(HourlyRollup.monitor_id)))
    raw_sums = []
    for since in starts.values():
        recent = CheckResult.checked_at >= since
        raw_sums += [sa.func.sum(sa.case((recent, 1), else_=0)),
                     sa.func.sum(sa.case((sa.and_(recent, CheckResult.ok.is_(False)), 1), else_=0))]
    for chunk in monitor_chunks(monitor_ids):
        _add(counts, session.execute(
            sa.select(CheckResult.monitor_id, *raw_sums)
            .where(CheckResult.monitor_id.in_(chunk), CheckResult.checked_at >= frontier,
                   CheckResult.checked_at < now)
            .group_by(CheckResult.monitor_id)))
    return counts


def _add(counts: dict[K, dict[int, tuple[int, int]]], rows) -> None:
    """Add rows of (monitor id, checks_1, failures_1, checks_2, ...) into `counts`, whose
    keys are in the order of the sums. (SUM is DECIMAL on MariaDB: int() it.)"""
    for monitor_id, *sums in rows:
        for i, key in enumerate(counts):
            checks, failures = int(sums[2 * i] or 0), int(sums[2 * i + 1] or 0)
            if checks:
                before = counts[key].get(monitor_id, (0, 0))
                counts[key][monitor_id] = (before[0] + checks, before[1] + failures)


def recent_latencies(session: orm.Session, monitors: Sequence[tuple[int, int]], now: datetime,
                     ) -> dict[int, list[float | None]]:
    """monitor id -> its last SPARKLINE_POINTS latencies of the last day, oldest first
    (None for a failed check). `monitors`: (id, interval in minutes) pairs."""
    result: dict[int, list[float | None]] = {}
    by_interval = groupby(sorted(monitors, key=lambda m: m[1]), key=lambda m: m[1])
    for interval, group in by_interval:
        since = now - min(timedelta(minutes=interval * SPARKLINE_POINTS * 1.5), timedelta(days=1))
        for chunk in monitor_chunks([monitor_id for monitor_id, _ in group]):
            # Numbered in SQL, so only SPARKLINE_POINTS rows a monitor reach Python even for
            # a monitor checked more often than its interval says (Run now; an interval
            # made longer).
            ranked = (sa.select(CheckResult.monitor_id, CheckResult.latency_ms, CheckResult.ok,
                                CheckResult.checked_at,
                                sa.func.row_number().over(partition_by=CheckResult.monitor_id,
                                                          order_by=CheckResult.checked_at.desc()).label("rn"))
                      .where(CheckResult.monitor_id.in_(chunk), CheckResult.checked_at >= since,
                             CheckResult.checked_at <= now)
                      .subquery())
            for monitor_id, latency, ok in session.execute(
                    sa.select(ranked.c.monitor_id, ranked.c.latency_ms, ranked.c.ok)
                    .where(ranked.c.rn <= SPARKLINE_POINTS)
                    .order_by(ranked.c.monitor_id, ranked.c.checked_at)):
                result.setdefault(monitor_id, []).append(latency if ok else None)
    return result
