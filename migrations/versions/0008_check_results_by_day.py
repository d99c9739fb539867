"""check results by day: on MariaDB, check_results is partitioned by day (app/partitions.py),
so prune-history drops whole days instead of deleting rows

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:45:00

On every database: an index on hourly_rollups.hour (rollup-stats replaces an hour by
``hour = ?``, and the last rolled-up hour is MAX(hour)).

MariaDB only (SQLite is otherwise unchanged). A partitioned InnoDB table can have no foreign key
and its primary key must hold the partition column, so the new check_results has:
- no foreign key to monitors: deleting a monitor deletes its results explicitly
  first (app/monitor_service.py delete()), so its ON DELETE CASCADE is not needed;
- the primary key (id, checked_at); id stays AUTO_INCREMENT and unique in practice;
- day partitions covering the existing rows (one per day from the oldest row, at most
  KEEP_DAYS back: anything older shares the first partition), today and AHEAD_DAYS days
  ahead, then the catch-all.

Online: inserts keep flowing while it runs (``partition_online``, also run by
``python -m bench history``). It builds the partitioned table empty as check_results_new
(CREATE TABLE ... LIKE, then an ALTER of the empty copy: instant), copies the rows in
committed batches of BATCH ids (READ COMMITTED: the copy reads without locking the rows
the writers need), catches up with the rows inserted meanwhile, sets the new table's
AUTO_INCREMENT ID_GAP above the old one's, and swaps the two with one atomic
``RENAME TABLE``. After the swap the old table (check_results_old) takes no more writes,
and every range of BATCH ids is compared between the two (count, sum and XOR of the ids'
CRC32); a range that differs is made equal to the old table: rows committed late (an
insert whose transaction was still open when its range was copied) are copied, rows
deleted from the old table after their copy (a monitor deleted, a prune) are deleted.
Then results of monitors that no longer exist are deleted and check_results_old is dropped.

Guarantees: every row the old table held at the swap is in the new one with its id, and no
row it no longer held; rows inserted after the swap get ids above every old one. Writers
wait only for the RENAME's metadata lock: it waits at most LOCK_WAIT_S for transactions
that have the table open (and the inserts queued behind it wait no longer), then the copy
catches up and it tries again, RENAME_ATTEMPTS times in all, then drops the copy and fails
(nothing changed; a transaction left open on the table, even an idle one, causes that).

Caveats: it needs disk for a second copy of the table while it runs; the comparison is a
checksum of the ids: missing and extra rows in one range whose counts, sums and XORs of
CRC32 all cancel out would go unnoticed; it looks at ids only, so an UPDATE of a row after
its copy would be lost (Vigil never updates a result); a transaction open on the table
longer than LOCK_WAIT_S at the swap makes the inserts behind the RENAME wait that long;
more than ID_GAP inserts between reading the old AUTO_INCREMENT and the RENAME
(milliseconds) would give two rows one id. It can run again after a crash: a
leftover check_results_new (crash before the swap) is dropped and the copy starts over; a
leftover check_results_old (crash after it) resumes at the comparison; the hourly_rollups
index is created only if missing.

Downgrade removes the partitioning and restores the primary key and the foreign key
(results of monitors that no longer exist are deleted first, or the key would refuse);
it is blocking ALTER TABLEs, which hold the table while they copy it: on a large table run
the downgrade in a quiet hour.
"""
from datetime import date, datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

KEEP_DAYS = 400
AHEAD_DAYS = 7  # app.partitions.AHEAD_DAYS, copied: a migration must not change with the app
FK_NAME = 'fk_check_results_monitor_id_monitors'
TABLE, NEW, OLD = 'check_results', 'check_results_new', 'check_results_old'
BATCH = 20_000  # ids per copying statement: each a short transaction of its own
ID_GAP = 1_000_000  # new ids start this far above the old table's AUTO_INCREMENT
LOCK_WAIT_S = 1  # how long the RENAME (and the inserts queued behind it) may wait: whole seconds
RENAME_ATTEMPTS = 5
_LOCK_WAIT_TIMEOUT = 1205


def _mariadb() -> bool:
    return op.get_bind().dialect.name in ('mysql', 'mariadb')


def _partition_clause(first_day, last_day) -> str:
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    parts = [f"PARTITION p{day:%Y%m%d} VALUES LESS THAN ({(day + timedelta(days=1)).toordinal() + 365})"
             for day in days]
    parts.append("PARTITION pmax VALUES LESS THAN MAXVALUE")
    return f"PARTITION BY RANGE (TO_DAYS(checked_at)) ({', '.join(parts)})"


def upgrade():
    op.create_index('ix_hourly_rollups_hour', 'hourly_rollups', ['hour'], unique=False, if_not_exists=True)
    if _mariadb():
        # Alembic's connection stays out of check_results: an open transaction of its
        # that had read the table would hold the metadata lock the RENAME needs.
        partition_online(op.get_bind().engine)


def partition_online(engine: sa.engine.Engine, today: date | None = None) -> None:
    """Replace check_results by its partitioned copy while inserts go on (the docstring above)."""
    # A connection of its own, discarded afterwards: every statement commits at once (no
    # transaction left open on the table) and reads what is committed, without row locks.
    copier = sa.create_engine(engine.url, poolclass=sa.pool.NullPool, isolation_level='AUTOCOMMIT',
                              connect_args={'init_command': 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'})
    try:
        with copier.connect() as conn:
            if not sa.inspect(conn).has_table(OLD):  # else a crash after the swap: finish it
                _build_and_swap(conn, today or datetime.now(timezone.utc).date())
            _reconcile(conn)
            _delete_orphans(conn)
            conn.execute(sa.text(f"DROP TABLE {OLD}"))
    finally:
        copier.dispose()


def _build_and_swap(conn, today: date) -> None:
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {NEW}"))  # a crash before the swap left it
    oldest = conn.execute(sa.text(f"SELECT MIN(checked_at) FROM {TABLE}")).scalar()
    first = min(max(oldest.date() if oldest else today, today - timedelta(days=KEEP_DAYS)), today)
    conn.execute(sa.text(f"CREATE TABLE {NEW} LIKE {TABLE}"))  # columns and indexes; no foreign key
    conn.execute(sa.text(f"ALTER TABLE {NEW} DROP PRIMARY KEY, ADD PRIMARY KEY (id, checked_at) "
                         f"{_partition_clause(first, today + timedelta(days=AHEAD_DAYS))}"))
    next_id = _copy(conn, None)
    for attempt in range(RENAME_ATTEMPTS):
        next_id = _copy(conn, next_id)  # what was inserted meanwhile; the rest after the swap
        auto_increment = conn.execute(sa.text(
            "SELECT AUTO_INCREMENT FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t"), {'t': TABLE}).scalar() or 1
        conn.execute(sa.text(f"ALTER TABLE {NEW} AUTO_INCREMENT = {auto_increment + ID_GAP}"))
        try:
            conn.execute(sa.text(f"SET STATEMENT lock_wait_timeout = {LOCK_WAIT_S} FOR "
                                 f"RENAME TABLE {TABLE} TO {OLD}, {NEW} TO {TABLE}"))
            return
        except OperationalError as error:
            if error.orig.args[0] != _LOCK_WAIT_TIMEOUT:
                raise
    conn.execute(sa.text(f"DROP TABLE {NEW}"))  # nothing changed: leave no second copy on disk
    raise RuntimeError(f"a transaction kept {TABLE} open through {RENAME_ATTEMPTS} waits of "
                       f"{LOCK_WAIT_S} s for the RENAME; nothing changed: run the migration again")


def _copy(conn, start: int | None) -> int:
    """Copy the rows of check_results with start <= id <= its MAX(id) now into the new
    table, BATCH ids a statement; returns where the next copy starts."""
    start = start or _next_id(conn, TABLE, 0)
    top = conn.execute(sa.text(f"SELECT MAX(id) FROM {TABLE}")).scalar()
    while start is not None and top is not None and start <= top:
        copied = conn.execute(sa.text(f"INSERT INTO {NEW} SELECT * FROM {TABLE} WHERE id >= :lo AND id < :hi"),
                              {'lo': start, 'hi': start + BATCH}).rowcount
        start += BATCH
        if not copied:  # a gap in the ids (pruned history): jump over it
            start = _next_id(conn, TABLE, start) or top + 1
    return start


def _next_id(conn, table: str, start: int) -> int | None:
    return conn.execute(sa.text(f"SELECT MIN(id) FROM {table} WHERE id >= :s"), {'s': start}).scalar()


def _reconcile(conn) -> None:
    """Make check_results hold exactly check_results_old's ids (no longer written to)
    below its end, range by range; ranges that already agree are only read."""
    top = conn.execute(sa.text(f"SELECT MAX(id) FROM {OLD}")).scalar()
    start = _next_id(conn, OLD, 0)
    while start is not None and start <= top:
        bounds = {'lo': start, 'hi': start + BATCH}
        summary = ("SELECT COUNT(*), SUM(id), BIT_XOR(CRC32(id)) FROM {} WHERE id >= :lo AND id < :hi")
        if (conn.execute(sa.text(summary.format(OLD)), bounds).one()
                != conn.execute(sa.text(summary.format(TABLE)), bounds).one()):
            in_range = "id >= :lo AND id < :hi AND id NOT IN (SELECT id FROM {} WHERE id >= :lo AND id < :hi)"
            conn.execute(sa.text(f"DELETE FROM {TABLE} WHERE {in_range.format(OLD)}"), bounds)
            conn.execute(sa.text(f"INSERT INTO {TABLE} SELECT * FROM {OLD} WHERE {in_range.format(TABLE)}"), bounds)
        nexts = [n for n in (_next_id(conn, OLD, start + BATCH), _next_id(conn, TABLE, start + BATCH)) if n]
        start = min(nexts, default=None)


def _delete_orphans(conn) -> None:
    """Results of monitors deleted meanwhile (the new table has no foreign key to refuse them)."""
    gone = conn.execute(sa.text(f"SELECT DISTINCT monitor_id FROM {TABLE} "
                                "WHERE monitor_id NOT IN (SELECT id FROM monitors)")).scalars().all()
    for monitor_id in gone:
        conn.execute(sa.text(f"DELETE FROM {TABLE} WHERE monitor_id = :m"), {'m': monitor_id})


def downgrade():
    if _mariadb():
        op.execute("ALTER TABLE check_results REMOVE PARTITIONING")
        op.execute("ALTER TABLE check_results DROP PRIMARY KEY, ADD PRIMARY KEY (id)")
        op.execute("DELETE FROM check_results WHERE monitor_id NOT IN (SELECT id FROM monitors)")
        op.create_foreign_key(FK_NAME, 'check_results', 'monitors', ['monitor_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('hourly_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_hourly_rollups_hour')
