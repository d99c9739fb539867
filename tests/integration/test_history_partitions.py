"""History at scale on a real MariaDB: day partitions of check_results (app/partitions.py,
migration 0008) and prune-history dropping whole days while a writer inserts.

Guarantees checked:
- the migration partitions by day, with today, the days ahead and a catch-all, no
  foreign key and the primary key (id, checked_at);
- prune-history drops the old days' partitions (not their rows one by one) while a
  writer thread inserts one result per transaction; the writer's longest single insert
  stays under a second (generous: a drop takes milliseconds; the bound is the design's
  lock_wait_timeout, not a tuning number); kept days' rows are untouched and every
  row the writer wrote is there; a second prune changes nothing;
- an insert dated beyond the last day partition lands in the catch-all and the next
  maintenance moves it into its own day partition, with no day missing;
- two maintenances at once end in the same layout, without an error.
The daily uptime across a day boundary is in test_history_rollups.py.
"""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import partitions
from app.extensions import db
from app.models import utcnow
from testkit.history import Writer
from testkit.monitors import make_monitor

DAYS_BACK = 40
ROWS_PER_DAY = 500


def _names(conn) -> list[str]:
    return [name for name, _ in partitions.partitions(conn)]


def _day_names(first: date, last: date) -> list[str]:
    return [partitions.partition_name(first + timedelta(days=i)) for i in range((last - first).days + 1)]


def _per_day() -> dict[str, int]:
    rows = db.session.execute(sa.text(
        "SELECT DATE(checked_at), COUNT(*) FROM check_results GROUP BY DATE(checked_at)"))
    return {day.isoformat(): count for day, count in rows}


def _monitor() -> int:
    monitor = make_monitor("history", "http://127.0.0.1:9/")
    db.session.add(monitor)
    db.session.commit()
    return monitor.id


def _fill_past_days(monitor_id: int, today: date) -> None:
    """Re-partition from DAYS_BACK days ago and put ROWS_PER_DAY rows in each day (fast:
    INSERT ... SELECT from MariaDB's sequence engine)."""
    first = today - timedelta(days=DAYS_BACK)
    db.session.execute(sa.text(f"ALTER TABLE check_results {partitions.create_sql(first, today + timedelta(days=2))}"))
    db.session.execute(sa.text(
        f"INSERT INTO check_results (monitor_id, checked_at, ok, latency_ms) "
        f"SELECT :m, TIMESTAMP(:first) + INTERVAL (seq DIV {ROWS_PER_DAY}) DAY "
        f"+ INTERVAL (seq MOD {ROWS_PER_DAY}) * 86 SECOND, seq MOD 7 <> 0, 10 "
        f"FROM seq_0_to_{DAYS_BACK * ROWS_PER_DAY - 1}"), {"m": monitor_id, "first": first})
    db.session.commit()


def test_migration_partitions_by_day_without_foreign_key(mysql_app):
    today = utcnow().date()
    inspector = sa.inspect(db.engine)
    assert inspector.get_foreign_keys("check_results") == []
    assert inspector.get_pk_constraint("check_results")["constrained_columns"] == ["id", "checked_at"]
    with db.engine.connect() as conn:
        names = _names(conn)
    assert names[-1] == partitions.CATCH_ALL
    assert _day_names(today, today + timedelta(days=partitions.AHEAD_DAYS)) == names[-9:-1]


def test_prune_drops_old_days_while_a_writer_inserts(mysql_app):
    from app.jobs.maintenance import prune_check_results

    today = utcnow().date()
    monitor_id = _monitor()
    _fill_past_days(monitor_id, today)
    history_days = 30
    cutoff = datetime.combine(today, datetime.min.time()) - timedelta(days=history_days) + timedelta(hours=5)
    before = _per_day()
    kept = {day: n for day, n in before.items() if day >= cutoff.date().isoformat()}
    writer = Writer(db.engine, monitor_id)
    writer.start()
    try:
        time.sleep(0.5)  # the writer is inserting before the prune starts
        message = prune_check_results(cutoff)
        time.sleep(0.5)
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert len(writer.latencies) > 20, "the writer hardly ran"
    assert max(writer.latencies) < 1.0, f"longest insert {max(writer.latencies):.3f} s"
    assert message == f"{DAYS_BACK - history_days} day partitions of check results"

    with db.engine.connect() as conn:
        names = _names(conn)
    assert names[0] == partitions.partition_name(cutoff.date()), names[:3]
    db.session.commit()
    after = _per_day()
    today_key = today.isoformat()
    assert after.pop(today_key, 0) == before.get(today_key, 0) + len(writer.latencies)
    kept.pop(today_key, None)
    assert after == kept  # every kept day untouched, every older day gone

    assert prune_check_results(cutoff) == "0 day partitions of check results"  # twice: harmless
    with db.engine.connect() as conn:
        assert _names(conn) == names
    db.session.commit()
    assert {day: n for day, n in _per_day().items() if day != today_key} == kept


def test_insert_beyond_the_last_day_lands_in_the_catch_all_and_is_split(mysql_app):
    today = utcnow().date()
    monitor_id = _monitor()
    far = today + timedelta(days=partitions.AHEAD_DAYS + 3)
    db.session.execute(sa.text("INSERT INTO check_results (monitor_id, checked_at, ok) VALUES (:m, :t, 1)"),
                       {"m": monitor_id, "t": datetime.combine(far, datetime.min.time()) + timedelta(hours=13)})
    db.session.commit()

    def in_partition(name: str) -> int:
        count = db.session.execute(sa.text(f"SELECT COUNT(*) FROM check_results PARTITION ({name})")).scalar()
        db.session.commit()  # an open transaction on the table would hold off the DDL
        return count

    assert in_partition(partitions.CATCH_ALL) == 1
    created = partitions.ensure_ahead(db.engine, far)
    first_new = today + timedelta(days=partitions.AHEAD_DAYS + 1)
    assert created == _day_names(first_new, far + timedelta(days=partitions.AHEAD_DAYS))
    db.session.commit()
    assert in_partition(partitions.CATCH_ALL) == 0
    assert in_partition(partitions.partition_name(far)) == 1
    with db.engine.connect() as conn:
        names = _names(conn)
    assert names == _day_names(today, far + timedelta(days=partitions.AHEAD_DAYS)) + [partitions.CATCH_ALL]
    assert partitions.ensure_ahead(db.engine, far) == []  # idempotent


def test_two_maintenances_at_once_agree(mysql_app):
    today = utcnow().date()
    monitor_id = _monitor()
    _fill_past_days(monitor_id, today)
    cutoff = datetime.combine(today, datetime.min.time()) - timedelta(days=10)
    errors: list[BaseException] = []
    dropped: list[list[str]] = []
    engine = db.engine

    def maintain() -> None:
        try:
            dropped.append(partitions.drop_before(engine, cutoff))
            partitions.ensure_ahead(engine, today + timedelta(days=3))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=maintain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(map(len, dropped)) == [0, DAYS_BACK - 10]
    with db.engine.connect() as conn:
        names = _names(conn)
    last = today + timedelta(days=3 + partitions.AHEAD_DAYS)
    assert names == _day_names(cutoff.date(), last) + [partitions.CATCH_ALL]


@pytest.fixture(autouse=True)
def _fresh_session(mysql_app):
    yield
    db.session.rollback()
