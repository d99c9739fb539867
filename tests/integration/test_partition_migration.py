"""Migration 0008 on a real MariaDB, run as the migration Job runs it (``flask db upgrade``
in its own process) while this process inserts.

Guarantees checked:
- online: a writer inserting one result per transaction keeps going during the upgrade
  of a table of ROWS rows over DAYS days; its longest single insert stays under a second
  (the blocking ALTER it replaces held it for the whole copy: > 1 s at this size);
- nothing lost or changed: every pre-existing row (id and values, by checksum), every row
  the writer inserted (by id), also rows that a second writer commits late (its transaction
  stays open a while after the insert); the results of a monitor deleted during the copy
  are gone; ids stay unique;
- the end state of the blocking version: a day partition per day from the oldest row to
  today + AHEAD_DAYS, the catch-all last, primary key (id, checked_at), no foreign key, no
  leftover table; downgrade to 0007 (blocking) restores the key and foreign key, and the
  upgrade runs again;
- an empty table, and a check_results_new left by a crash, are upgraded too.
"""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from testkit.history import Writer, insert_monitors
from testkit.servers import create_database, migrate

ROWS = 300_000
DAYS = 40
AHEAD_DAYS = 7
WRITER, LATE, DELETED = 6, 5, 1  # monitor ids: the writers' (no rows before) and the deleted one
ROW_DIGEST = ("SELECT COUNT(*), SUM(id), BIT_XOR(CRC32(CONCAT_WS(',', id, monitor_id, checked_at, ok, "
              "status_code, latency_ms))) FROM check_results WHERE monitor_id NOT IN (:w, :l, :d)")


@pytest.fixture
def engine_at_0007(mariadb_url):
    url = create_database(mariadb_url)
    migrate(url, "0007")
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        insert_monitors(conn, 6, datetime.now(timezone.utc).replace(tzinfo=None))
    yield url, engine
    engine.dispose()


def _fill(conn, first: date) -> None:
    """ROWS rows spread over DAYS days from `first` for monitors 1 to 4 (sequence engine)."""
    step_s = DAYS * 86400 // ROWS
    conn.execute(sa.text(
        "INSERT INTO check_results (monitor_id, checked_at, ok, status_code, latency_ms) "
        f"SELECT 1 + seq MOD 4, TIMESTAMP(:first) + INTERVAL (seq * {step_s}) SECOND, seq MOD 7 <> 0, "
        f"IF(seq MOD 7 = 0, 500, 200), seq MOD 300 FROM seq_0_to_{ROWS - 1}"), {"first": first})


def _assert_end_state(engine, first: date) -> None:
    today = datetime.now(timezone.utc).date()
    inspector = sa.inspect(engine)
    assert inspector.get_foreign_keys("check_results") == []
    assert inspector.get_pk_constraint("check_results")["constrained_columns"] == ["id", "checked_at"]
    assert [i["name"] for i in inspector.get_indexes("check_results")] == ["ix_check_results_monitor_time"]
    assert not {"check_results_new", "check_results_old"} & set(inspector.get_table_names())
    with engine.connect() as conn:
        names = conn.execute(sa.text(
            "SELECT PARTITION_NAME FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = 'check_results' ORDER BY PARTITION_ORDINAL_POSITION")).scalars().all()
    days = (today + timedelta(days=AHEAD_DAYS) - first).days + 1
    assert names == [f"p{first + timedelta(days=i):%Y%m%d}" for i in range(days)] + ["pmax"]


def _late_committer(engine, stop: threading.Event, ids: list[int]) -> None:
    """Inserts, then commits 0.2 s later: its row may be skipped by the range copy that passes it."""
    with engine.connect() as conn:
        while not stop.is_set():
            ids.append(conn.execute(sa.text("INSERT INTO check_results (monitor_id, checked_at, ok) "
                                            "VALUES (:m, UTC_TIMESTAMP(6), 0)"), {"m": LATE}).lastrowid)
            time.sleep(0.2)
            conn.commit()


def _delete_monitor_during_copy(engine, stop: threading.Event) -> None:
    """Once the copy has started, delete monitor DELETED's results, then the monitor (in
    short transactions: one longer than the RENAME's LOCK_WAIT_S would hold the writer)."""
    with engine.connect() as conn:
        while not stop.is_set() and not sa.inspect(conn).has_table("check_results_new"):
            time.sleep(0.05)
        time.sleep(0.3)
        while conn.execute(sa.text("DELETE FROM check_results WHERE monitor_id = :d LIMIT 5000"),
                           {"d": DELETED}).rowcount:
            conn.commit()
        conn.execute(sa.text("DELETE FROM monitors WHERE id = :d"), {"d": DELETED})
        conn.commit()


def _migrate_while(url: str, revision: str, writer: Writer, helpers: list[threading.Thread] = (),
                   stop: threading.Event | None = None) -> float:
    """Upgrade to `revision` while `writer` (and `helpers`, stopped by `stop`) run, from half a
    second before to half a second after; the seconds the upgrade took."""
    for thread in [writer, *helpers]:
        thread.start()
    try:
        time.sleep(0.5)  # the writers are inserting before the migration starts
        started = time.monotonic()
        migrate(url, revision)
        seconds = time.monotonic() - started
        time.sleep(0.5)
    finally:
        writer.stop.set()
        if stop is not None:
            stop.set()
        for thread in [writer, *helpers]:
            thread.join(30)
    return seconds


def test_upgrade_keeps_inserts_flowing_and_keeps_every_row(engine_at_0007):
    url, engine = engine_at_0007
    first = datetime.now(timezone.utc).date() - timedelta(days=DAYS - 1)
    with engine.begin() as conn:
        _fill(conn, first)
        rows_before = conn.execute(sa.text(ROW_DIGEST), {"w": WRITER, "l": LATE, "d": DELETED}).one()
    assert rows_before[0] == ROWS * 3 // 4

    writer, stop, late_ids = Writer(engine, WRITER), threading.Event(), []
    helpers = [threading.Thread(target=_late_committer, args=(engine, stop, late_ids)),
               threading.Thread(target=_delete_monitor_during_copy, args=(engine, stop))]
    seconds = _migrate_while(url, "0008", writer, helpers, stop)
    longest = max(writer.latencies)
    print(f"upgrade {seconds:.2f} s, {len(writer.latencies)} inserts, longest {longest * 1000:.0f} ms")
    assert writer.error is None, writer.error
    assert len(writer.latencies) > 20, "the writer hardly ran"
    assert longest < 1.0, f"longest insert {longest:.3f} s (upgrade {seconds:.1f} s)"

    with engine.connect() as conn:
        def ids_of(monitor_id: int) -> list[int]:
            return conn.execute(sa.text("SELECT id FROM check_results WHERE monitor_id = :m ORDER BY id"),
                                {"m": monitor_id}).scalars().all()

        assert conn.execute(sa.text(ROW_DIGEST), {"w": WRITER, "l": LATE, "d": DELETED}).one() == rows_before
        assert ids_of(WRITER) == writer.ids
        assert ids_of(LATE) == late_ids[:-1] or ids_of(LATE) == late_ids  # the last one may be rolled back
        assert ids_of(DELETED) == []
        count, distinct = conn.execute(sa.text("SELECT COUNT(*), COUNT(DISTINCT id) FROM check_results")).one()
        assert count == distinct
    _assert_end_state(engine, first)

    migrate(url, "0007", command="downgrade")
    inspector = sa.inspect(engine)
    assert inspector.get_pk_constraint("check_results")["constrained_columns"] == ["id"]
    assert [fk["referred_table"] for fk in inspector.get_foreign_keys("check_results")] == ["monitors"]
    migrate(url, "0008")
    _assert_end_state(engine, first)
    with engine.connect() as conn:
        assert conn.execute(sa.text(ROW_DIGEST), {"w": WRITER, "l": LATE, "d": DELETED}).one() == rows_before
        assert conn.execute(sa.text("SELECT COUNT(*) FROM check_results")).scalar() == count


def test_empty_table_and_a_leftover_copy(engine_at_0007):
    url, engine = engine_at_0007
    with engine.begin() as conn:  # as a crash during an earlier run would leave it
        conn.execute(sa.text("CREATE TABLE check_results_new LIKE check_results"))
    migrate(url, "0008")
    today = datetime.now(timezone.utc).date()
    _assert_end_state(engine, today)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO check_results (monitor_id, checked_at, ok) "
                             "VALUES (1, UTC_TIMESTAMP(6), 1)"))
    migrate(url, "0007", command="downgrade")
    migrate(url, "0008")
    _assert_end_state(engine, today)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM check_results")).scalar() == 1


def test_0009_builds_its_covering_indexes_while_inserts_go_on(engine_at_0007):
    url, engine = engine_at_0007
    with engine.begin() as conn:
        _fill(conn, datetime.now(timezone.utc).date() - timedelta(days=DAYS - 1))
    migrate(url, "0008")
    writer = Writer(engine, WRITER)
    seconds = _migrate_while(url, "0009", writer)
    longest = max(writer.latencies)
    print(f"0009: {seconds:.2f} s, {len(writer.latencies)} inserts, longest {longest * 1000:.0f} ms")
    assert writer.error is None, writer.error
    assert longest < 1.0, f"longest insert {longest:.3f} s (upgrade {seconds:.1f} s)"
    indexes = {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes("check_results")}
    assert indexes == {"ix_check_results_monitor_time_ok_latency": ["monitor_id", "checked_at", "ok", "latency_ms"]}
