"""covering history indexes: the dashboard, the detail page and rollup-stats read raw
results and rollups from index ranges alone, never a whole day partition

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 11:30:00

- check_results: (monitor_id, checked_at) becomes (monitor_id, checked_at, ok, latency_ms).
  Every read of raw results is "these monitors, this time range, ok and latency"; with the
  two columns in the index InnoDB answers from the index without visiting the rows. It
  replaces the old index (same leading columns, so every query that used it still can):
  one index per insert as before, each entry about 9 bytes wider.
- hourly_rollups: (hour) becomes (hour, monitor_id, checks, failures), so the dashboard's
  week of rollups is one index range too; MAX(hour) and rollup-stats' "DELETE ... WHERE
  hour = ?" use it as they used the old one.

The new index is built before the old one is dropped, so no query runs without one. On
MariaDB both are built in place while inserts go on (LOCK=NONE): InnoDB logs concurrent
changes and applies them at the end, so a writer is not held up for the build.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# (table, old index, old columns, new index, new columns)
CHANGES = (
    ('check_results', 'ix_check_results_monitor_time', ['monitor_id', 'checked_at'],
     'ix_check_results_monitor_time_ok_latency', ['monitor_id', 'checked_at', 'ok', 'latency_ms']),
    ('hourly_rollups', 'ix_hourly_rollups_hour', ['hour'],
     'ix_hourly_rollups_hour_counts', ['hour', 'monitor_id', 'checks', 'failures']),
)


def _mariadb() -> bool:
    return op.get_bind().dialect.name in ('mysql', 'mariadb')


def _swap(table: str, drop: str, create: str, columns: list[str]) -> None:
    if _mariadb():
        # In place, concurrent DML allowed: MariaDB refuses (rather than blocks) if it cannot.
        op.execute(f"ALTER TABLE {table} ADD INDEX {create} ({', '.join(columns)}), "
                   f"ALGORITHM=INPLACE, LOCK=NONE")
        op.execute(f"ALTER TABLE {table} DROP INDEX {drop}, ALGORITHM=INPLACE, LOCK=NONE")
        return
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(create, columns, unique=False)
        batch_op.drop_index(drop)


def upgrade():
    for table, old, _old_columns, new, new_columns in CHANGES:
        _swap(table, old, new, new_columns)


def downgrade():
    for table, old, old_columns, new, _new_columns in CHANGES:
        _swap(table, new, old, old_columns)
