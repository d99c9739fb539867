"""monitor names unique whatever their case: a name_key column (the case-folded name), unique

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 20:10:00

Existing names that differ only in case ("API" and "api") are kept apart by renaming all
but the oldest: "api (2)", "api (3)", ..., skipping names already taken (the longest names
are cut to make room). Only SQLite can hold such names: MariaDB's collation already
compared them case-insensitively.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

MAX = 100


def _key(name):
    return name.casefold()[:MAX]  # the rule of app.models.monitor.name_key, frozen here


def upgrade():
    with op.batch_alter_table('monitors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=MAX), nullable=True))
        batch_op.drop_constraint('uq_monitors_name', type_='unique')
    connection = op.get_bind()
    monitors = sa.table('monitors', sa.column('id', sa.Integer), sa.column('name', sa.String),
                        sa.column('name_key', sa.String))
    rows = connection.execute(sa.select(monitors.c.id, monitors.c.name).order_by(monitors.c.id)).all()
    # The oldest monitor of each key keeps its name; every name kept is taken before any rename.
    keepers = {}
    for monitor_id, name in rows:
        keepers.setdefault(_key(name), monitor_id)
    taken = set(keepers)
    for monitor_id, name in rows:
        new_name = name
        if keepers[_key(name)] != monitor_id:
            n = 1
            while _key(new_name) in taken:
                n += 1
                suffix = f" ({n})"
                new_name = name[:MAX - len(suffix)] + suffix
            taken.add(_key(new_name))
        connection.execute(sa.update(monitors).where(monitors.c.id == monitor_id)
                           .values(name=new_name, name_key=_key(new_name)))
    with op.batch_alter_table('monitors', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=MAX), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_monitors_name_key'), ['name_key'])


def downgrade():
    with op.batch_alter_table('monitors', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_monitors_name_key'), type_='unique')
        batch_op.create_unique_constraint('uq_monitors_name', ['name'])
        batch_op.drop_column('name_key')
