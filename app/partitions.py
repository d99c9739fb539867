"""Day partitions of the raw results table (``check_results``) on MariaDB.

Layout: ``PARTITION BY RANGE (TO_DAYS(checked_at))``, one partition per UTC day named
``pYYYYMMDD`` after the last day it holds (``VALUES LESS THAN (TO_DAYS(next day))``),
and a catch-all ``pmax VALUES LESS THAN MAXVALUE`` at the end. Migration 0008 builds it;
this module keeps it: ``ensure_ahead`` splits the (normally empty) catch-all into the
next days' partitions (REORGANIZE PARTITION), ``drop_before`` drops whole old days
(DROP PARTITION: a metadata operation, no row is read or logged).

Guarantees:
- inserts never fail for want of a partition: any time beyond the last day partition
  lands in the catch-all, and the next ``ensure_ahead`` moves those rows into their
  day partitions (only the catch-all's rows are copied). rollup-stats calls it every
  hour and prune-history every day, each making ``AHEAD_DAYS`` days exist, so a day
  boundary is reached without its partition only if both jobs were down for that long;
  even then inserts succeed (into the catch-all);
- pruning never blocks inserts for long: each DDL runs with ``lock_wait_timeout`` of
  ``LOCK_WAIT_S`` seconds, so it waits at most that long for the table's metadata lock
  (held by open transactions that read or wrote the table) and the inserts queued behind
  it wait no longer; on timeout it is retried a few times, then left for the next run;
- idempotent: partitions are read from information_schema before every change, so a
  second run finds nothing to do;
- safe when two run at once: the changes run under the named lock ``LOCK_NAME``
  (GET_LOCK); the second caller waits for it, then re-reads the partitions.

Caveats:
- pruning is per day: rows of the day that holds the cutoff stay until that whole day
  is older than the cutoff, so MariaDB keeps VIGIL_HISTORY_DAYS to VIGIL_HISTORY_DAYS + 1
  days of raw results (SQLite, with row deletes, keeps exactly VIGIL_HISTORY_DAYS);
- a table that is not partitioned (SQLite, or a MariaDB table someone rebuilt) is
  reported by ``is_partitioned`` and the callers fall back to batched DELETEs;
- rows dated far in the future (a wrong clock) stay in the catch-all and are copied by
  every split until their day comes; harmless but not free;
- DDL commits implicitly: these functions use their own connection, never the session's.
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

TABLE = "check_results"
CATCH_ALL = "pmax"
AHEAD_DAYS = 7
LOCK_NAME = "vigil.check_results.partitions"
LOCK_WAIT_S = 2
MAX_NEW_PARTITIONS = 400  # one split never creates more (MariaDB allows 8192 in all)
_LOCK_TIMEOUT_ERRORS = {1205}  # ER_LOCK_WAIT_TIMEOUT: the metadata lock was not granted in time
_TO_DAYS_OFFSET = 365  # MariaDB TO_DAYS(d) == d.toordinal() + 365


def supported(bind: Engine | Connection) -> bool:
    return bind.dialect.name in ("mysql", "mariadb")


def to_days(day: date) -> int:
    return day.toordinal() + _TO_DAYS_OFFSET


def from_days(days: int) -> date:
    return date.fromordinal(days - _TO_DAYS_OFFSET)


def partition_name(last_day: date) -> str:
    return f"p{last_day:%Y%m%d}"


def partition_sql(last_day: date) -> str:
    """``PARTITION pYYYYMMDD VALUES LESS THAN (...)`` for the partition holding `last_day`."""
    return f"PARTITION {partition_name(last_day)} VALUES LESS THAN ({to_days(last_day + timedelta(days=1))})"


def partitions(conn: Connection) -> list[tuple[str, int | None]]:
    """(name, upper bound in TO_DAYS, None for MAXVALUE) of the table's partitions, in order."""
    rows = conn.execute(sa.text(
        "SELECT PARTITION_NAME, PARTITION_DESCRIPTION FROM information_schema.PARTITIONS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table AND PARTITION_NAME IS NOT NULL "
        "ORDER BY PARTITION_ORDINAL_POSITION"), {"table": TABLE})
    return [(name, None if bound == "MAXVALUE" else int(bound)) for name, bound in rows]


def is_partitioned(conn: Connection) -> bool:
    return supported(conn) and any(bound is None for _, bound in partitions(conn))


def create_sql(first_day: date, last_day: date) -> str:
    """The PARTITION BY clause for a table whose rows start at `first_day` (anything older
    goes into the first partition), with day partitions up to `last_day` and the catch-all."""
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    parts = ", ".join([partition_sql(day) for day in days] + [f"PARTITION {CATCH_ALL} VALUES LESS THAN MAXVALUE"])
    return f"PARTITION BY RANGE (TO_DAYS(checked_at)) ({parts})"


def _ddl(conn: Connection, statement: str, attempts: int = 3) -> None:
    """Run one DDL with a short metadata-lock wait; retry a few times on a lock timeout."""
    conn.execute(sa.text(f"SET SESSION lock_wait_timeout = {LOCK_WAIT_S}"))
    for attempt in range(attempts):
        try:
            conn.execute(sa.text(statement))
            return
        except OperationalError as error:
            code = error.orig.args[0] if error.orig is not None and error.orig.args else None
            if code not in _LOCK_TIMEOUT_ERRORS or attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))  # let the queued inserts through, then try again


class _NamedLock:
    """GET_LOCK on `conn` for the duration of a with block (one changer at a time)."""

    def __init__(self, conn: Connection, timeout_s: int = 60) -> None:
        self.conn, self.timeout_s = conn, timeout_s

    def __enter__(self) -> Connection:
        got = self.conn.execute(sa.text("SELECT GET_LOCK(:name, :timeout)"),
                                {"name": LOCK_NAME, "timeout": self.timeout_s}).scalar()
        if got != 1:
            raise RuntimeError(f"another process holds {LOCK_NAME} for more than {self.timeout_s} s")
        return self.conn

    def __exit__(self, *exc_info) -> None:
        self.conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})


def ensure_ahead(engine: Engine, today: date, days: int = AHEAD_DAYS) -> list[str]:
    """Make day partitions exist up to and including `today` + `days`; the names created.

    Starts right after the last day partition (or at `today` if there is none), so days
    missed while nothing ran get their own partitions and the rows the catch-all took
    for them move there."""
    with engine.connect() as conn, _NamedLock(conn):
        parts = partitions(conn)
        if not parts:
            return []
        bounds = [bound for _, bound in parts if bound is not None]
        first = from_days(max(bounds)) if bounds else today
        last = today + timedelta(days=days)
        new_days = [first + timedelta(days=i) for i in range((last - first).days + 1)][:MAX_NEW_PARTITIONS]
        if not new_days:
            return []
        parts_sql = ", ".join([partition_sql(day) for day in new_days]
                              + [f"PARTITION {CATCH_ALL} VALUES LESS THAN MAXVALUE"])
        _ddl(conn, f"ALTER TABLE {TABLE} REORGANIZE PARTITION {CATCH_ALL} INTO ({parts_sql})")
        conn.commit()
        return [partition_name(day) for day in new_days]


def drop_before(engine: Engine, cutoff: datetime) -> list[str]:
    """Drop the day partitions whose every row is older than `cutoff`; the names dropped.

    Never drops the catch-all, nor the day that holds `cutoff` (see the caveat above)."""
    limit = to_days(cutoff.date())
    with engine.connect() as conn, _NamedLock(conn):
        old = [name for name, bound in partitions(conn) if bound is not None and bound <= limit]
        if old:
            _ddl(conn, f"ALTER TABLE {TABLE} DROP PARTITION {', '.join(old)}")
            conn.commit()
        return old
