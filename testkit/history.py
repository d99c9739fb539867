"""Check history for tests of rollups and the detail page (SQLite and MariaDB alike).

``seed_results`` writes a monitor's raw results every STEP_MIN minutes over the last
`days` days before `now`, with failures in a pattern that differs per day and per hour;
``roll_up`` runs the real rollup-stats job (through the runner) for every hour before a
given one; ``raw_daily`` is what the raw results say per UTC day, the expected value.
``Writer`` is a thread inserting one result per transaction, timing each insert (the
writer that prune-history must not hold up; also used by bench/history.py).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

STEP_MIN = 10


def seed_results(monitor_id: int, now: datetime, days: int = 3) -> list[tuple[datetime, bool]]:
    from app.extensions import db
    from app.models import CheckResult

    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    rows, at, i = [], start, 0
    while at <= now:
        ok = not (i % (3 + at.day % 4) == 0 or at.hour in (5, 23) and i % 2 == 0)
        rows.append((at, ok))
        at, i = at + timedelta(minutes=STEP_MIN, seconds=7), i + 1
    db.session.execute(sa.insert(CheckResult.__table__), [
        {"monitor_id": monitor_id, "checked_at": at, "ok": ok, "latency_ms": 20.0 + n % 50,
         "status_code": 200 if ok else 500} for n, (at, ok) in enumerate(rows)])
    db.session.commit()
    return rows


def roll_up(first_hour: datetime, until: datetime) -> int:
    """Run rollup-stats for every hour in [first_hour, until) (slot = the next hour + 5 min)."""
    from app.jobs import runner
    from app.jobs.registry import load_jobs

    job = load_jobs()["rollup-stats"]
    hour, runs = first_hour, 0
    while hour < until:
        slot = hour + timedelta(hours=1, minutes=5)
        assert runner.run_job(job, slot=slot, trigger="manual").outcome == "succeeded"
        hour, runs = hour + timedelta(hours=1), runs + 1
    return runs


def raw_daily(rows: list[tuple[datetime, bool]], now: datetime, days: int = 14) -> list[dict]:
    from app.monitoring.stats import uptime_percent

    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    out = []
    for offset in range(days):
        day = (start + timedelta(days=offset)).date()
        mine = [ok for at, ok in rows if at.date() == day and at <= now]
        failed = sum(1 for ok in mine if not ok)
        out.append({"day": day.isoformat(), "uptime": uptime_percent(len(mine), failed), "checks": len(mine)})
    return out


class Writer(threading.Thread):
    """Inserts one result per transaction (own connection) until `stop` is set; records
    each insert's latency in seconds and id, and the error that stopped it, if any."""

    def __init__(self, engine, monitor_id: int) -> None:
        super().__init__(daemon=True)
        self.engine, self.monitor_id = engine, monitor_id
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.ids: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.engine.connect() as conn:
                while not self.stop.is_set():
                    started = time.monotonic()
                    inserted = conn.execute(sa.text("INSERT INTO check_results (monitor_id, checked_at, ok) "
                                            "VALUES (:m, UTC_TIMESTAMP(6), 1)"), {"m": self.monitor_id})
                    conn.commit()
                    self.latencies.append(time.monotonic() - started)
                    self.ids.append(inserted.lastrowid)
        except BaseException as error:  # reported by the caller
            self.error = error


def rows_read(engine) -> int:
    """Rows and index entries MariaDB's tables handed to the server so far, on every
    connection: the sum of the Handler_read_* counters (each range start, each next entry,
    each row of a scan), less Rows_tmp_read, the part of them that came from temporary
    tables (GROUP BY, window functions, sorts). Rows_read alone is no measure: it counts a
    range's first entry, not the ones after it."""
    with engine.connect() as conn:
        status = dict(conn.execute(sa.text(
            "SHOW GLOBAL STATUS WHERE Variable_name LIKE 'Handler_read%' OR Variable_name = 'Rows_tmp_read'")).all())
    return sum(int(value) for name, value in status.items() if name.startswith("Handler_read")) \
        - int(status["Rows_tmp_read"])


def insert_monitors(executor, count: int, at: datetime) -> None:
    """`count` enabled one-minute monitors m1..m<count> created at `at`, in one statement
    (MariaDB's sequence engine): for data sets of thousands of monitors, where one ORM
    object each would cost more than the test. `executor`: a Connection or Session."""
    executor.execute(sa.text(
        "INSERT INTO monitors (name, name_key, url, method, interval_minutes, timeout_seconds, "
        "expected_status_min, expected_status_max, enabled, down_after, up_after, notify_recovery, "
        "is_up, streak, created_at, updated_at) SELECT CONCAT('m', seq), CONCAT('m', seq), "
        "'http://127.0.0.1:9/', 'GET', 1, 5, 200, 399, 1, 2, 1, 1, 1, 1, :at, :at "
        f"FROM seq_1_to_{count}"), {"at": at})
