"""The dashboard summary and rollup-stats read index ranges only, on a real MariaDB with
check_results partitioned by day: what they read grows with the monitors, the checks
shown and the hours not yet rolled up, not with the history kept.

Measured with MariaDB's handler counters (testkit.history.rows_read: every row and index
entry a table handed to the server, whatever plan was chosen, on any connection: the
server is the test's own) around the call, less what reading them itself counts, against
a budget of what the reads need:
- summary: every rollup row of the week, plus each monitor's raw results after the last
  rolled-up hour and the 1.5 x SPARKLINE_POINTS intervals its sparkline reads;
- rollup-stats: the hour's raw results.
The budget counts each entry the reads need once (plus a few lookups per monitor that
start each range); it is below what the summary read before migration 0009 and app/rollup_reads.py (every
raw result of the last day, twice: its 24-hour count and its sparkline), and far below
what rollup-stats read selecting an hour by time alone (the day partition around it).
MONITORS is above MariaDB's in_predicate_conversion_threshold (1,000): a list of that
many monitors becomes a subquery joined by monitor_id alone, which reads each monitor's
whole history (app/rollup_reads.py keeps its lists shorter; with lists of 1,000 both tests
fail).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa

from app import partitions
from app.dashboard import build_summary
from app.extensions import db
from app.models import CheckResult, HourlyRollup, Monitor, utcnow
from app.rollup_reads import SPARKLINE_POINTS
from testkit.history import roll_up, rows_read
from testkit.monitors import make_monitor

MONITORS = 1100
EVERY_MIN = 10
DAYS = 2
SLACK = 5 * MONITORS  # index dives: a few per monitor and partition


def _delta(call) -> int:
    before = rows_read(db.engine)
    call()
    return rows_read(db.engine) - before


def _read_by(call) -> int:
    return _delta(call) - _delta(lambda: None)


def _history(now) -> None:
    """MONITORS monitors checked every EVERY_MIN minutes for DAYS days up to `now` (2 % failed)."""
    today = now.date()
    db.session.execute(sa.text(
        f"ALTER TABLE check_results {partitions.create_sql(today - timedelta(days=DAYS + 1), today + timedelta(days=2))}"))
    for i in range(MONITORS):
        db.session.add(make_monitor(f"m{i:04d}", "http://127.0.0.1:9/", interval_minutes=EVERY_MIN))
    db.session.commit()
    start = now - timedelta(days=DAYS)
    db.session.execute(sa.text(
        "INSERT INTO check_results (monitor_id, checked_at, ok, latency_ms) "
        f"SELECT m.id, TIMESTAMP(:start) + INTERVAL s.seq * {EVERY_MIN} MINUTE, (s.seq + m.id) MOD 50 <> 0, "
        f"10 + s.seq MOD 90 FROM monitors m JOIN seq_0_to_{DAYS * 1440 // EVERY_MIN} s"), {"start": start})
    db.session.commit()


def test_summary_reads_rollups_and_recent_raw_results_only(mysql_app):
    now = utcnow().replace(microsecond=0)
    _history(now)
    hour = now.replace(minute=0, second=0)
    roll_up(hour - timedelta(days=DAYS + 1), hour - timedelta(hours=1))  # the last hour and more stay raw
    frontier = db.session.scalar(sa.select(sa.func.max(HourlyRollup.hour))) + timedelta(hours=1)
    week_rollups = db.session.scalar(sa.select(sa.func.count()).select_from(HourlyRollup)
                                     .where(HourlyRollup.hour >= (now - timedelta(days=7)).replace(minute=0, second=0)))
    raw_after = db.session.scalar(sa.select(sa.func.count()).select_from(CheckResult)
                                  .where(CheckResult.checked_at >= frontier))
    needed = week_rollups + raw_after + MONITORS * int(1.5 * SPARKLINE_POINTS + 1) + MONITORS
    summary = {}
    read = _read_by(lambda: summary.update(build_summary(now, session=db.session)))
    assert len(summary["monitors"]) == MONITORS
    assert all(len(row["sparkline"]) == SPARKLINE_POINTS for row in summary["monitors"])
    assert all(row["uptime_24h"] is not None for row in summary["monitors"])
    assert read <= needed + SLACK, (read, needed)
    assert needed + SLACK < 2 * MONITORS * 1440 // EVERY_MIN  # below a day of raw results, twice


def test_rollup_stats_reads_the_hour_only(mysql_app):
    now = utcnow().replace(microsecond=0)
    _history(now)
    # Noon yesterday: its day partition is whole at any time of day, so a read by time alone
    # (the whole partition) is always far over the budget; the last hour's partition may hold
    # little else just after midnight.
    day = datetime.combine(now.date() - timedelta(days=1), time())
    hour = day + timedelta(hours=12)

    def results_in(start, end) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(CheckResult).where(
            CheckResult.checked_at >= start, CheckResult.checked_at < end))

    in_hour = results_in(hour, hour + timedelta(hours=1))
    assert in_hour + MONITORS + SLACK < results_in(day, day + timedelta(days=1)) / 2
    read = _read_by(lambda: roll_up(hour, hour + timedelta(hours=1)))
    rolled = db.session.execute(sa.select(sa.func.count(), sa.func.sum(HourlyRollup.checks))
                                .where(HourlyRollup.hour == hour)).one()
    assert tuple(rolled) == (MONITORS, in_hour)
    # The runner's own bookkeeping (its job_runs claim, the monitors' ids) is in the slack.
    assert read <= in_hour + MONITORS + SLACK, (read, in_hour)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Monitor)) == MONITORS
