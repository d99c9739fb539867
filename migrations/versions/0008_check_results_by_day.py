"""check results by day: on MariaDB, check_results is partitioned by day (app/partitions.py),
so prune-history drops whole days instead of deleting rows

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:45:00

On every database: an index on hourly_rollups.hour (rollup-stats replaces an hour by
``hour = ?``, and the last rolled-up hour is MAX(hour)).

MariaDB only (SQLite is otherwise unchanged). A partitioned InnoDB table can have no foreign key
and its primary key must hold the partition column, so:
- the foreign key to monitors goes: deleting a monitor deletes its results explicitly
  first (app/monitor_service.py delete()), so its ON DELETE CASCADE is not needed;
- the primary key becomes (id, checked_at); id stays AUTO_INCREMENT and unique in practice;
- day partitions cover the existing rows (one per day from the oldest row, at most
  KEEP_DAYS back: anything older shares the first partition), today and AHEAD_DAYS days
  ahead, then the catch-all. The ALTER copies the table once: on a large table run the
  migration in a quiet hour.

Downgrade removes the partitioning and restores the primary key and the foreign key
(results of monitors that no longer exist are deleted first, or the key would refuse).
"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

KEEP_DAYS = 400
AHEAD_DAYS = 7  # app.partitions.AHEAD_DAYS, copied: a migration must not change with the app
FK_NAME = 'fk_check_results_monitor_id_monitors'


def _mariadb() -> bool:
    return op.get_bind().dialect.name in ('mysql', 'mariadb')


def _partition_clause(first_day, last_day) -> str:
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    parts = [f"PARTITION p{day:%Y%m%d} VALUES LESS THAN ({(day + timedelta(days=1)).toordinal() + 365})"
             for day in days]
    parts.append("PARTITION pmax VALUES LESS THAN MAXVALUE")
    return f"PARTITION BY RANGE (TO_DAYS(checked_at)) ({', '.join(parts)})"


def upgrade():
    with op.batch_alter_table('hourly_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_hourly_rollups_hour', ['hour'], unique=False)
    if not _mariadb():
        return
    bind = op.get_bind()
    today = datetime.now(timezone.utc).date()
    oldest = bind.execute(sa.text("SELECT MIN(checked_at) FROM check_results")).scalar()
    first = max(oldest.date() if oldest else today, today - timedelta(days=KEEP_DAYS))
    first = min(first, today)
    op.drop_constraint(FK_NAME, 'check_results', type_='foreignkey')
    op.execute("ALTER TABLE check_results DROP PRIMARY KEY, ADD PRIMARY KEY (id, checked_at)")
    op.execute(f"ALTER TABLE check_results {_partition_clause(first, today + timedelta(days=AHEAD_DAYS))}")


def downgrade():
    if _mariadb():
        op.execute("ALTER TABLE check_results REMOVE PARTITIONING")
        op.execute("ALTER TABLE check_results DROP PRIMARY KEY, ADD PRIMARY KEY (id)")
        op.execute("DELETE FROM check_results WHERE monitor_id NOT IN (SELECT id FROM monitors)")
        op.create_foreign_key(FK_NAME, 'check_results', 'monitors', ['monitor_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('hourly_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_hourly_rollups_hour')
