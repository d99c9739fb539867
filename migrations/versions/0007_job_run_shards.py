"""job run shards: one claim per (job, slot, shard, attempt), so check-monitors can run as
an Indexed Job whose shards do not block each other and whose failed shard may be retried

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:30:00

Existing runs become shard 0 of 1, attempt 0: for every job that is not sharded the key is
(job, slot) as before.

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shard', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('shards', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('attempt', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint('uq_job_runs_job_slot', type_='unique')
        batch_op.create_unique_constraint('uq_job_runs_job_slot_shard_attempt',
                                          ['job', 'slot', 'shard', 'attempt'])


def downgrade():
    # Keeps the first attempt of shard 0 of each (job, slot): the only rows the old key allows.
    op.execute("DELETE FROM job_runs WHERE shard <> 0 OR attempt <> 0")
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_constraint('uq_job_runs_job_slot_shard_attempt', type_='unique')
        batch_op.create_unique_constraint('uq_job_runs_job_slot', ['job', 'slot'])
        batch_op.drop_column('attempt')
        batch_op.drop_column('shards')
        batch_op.drop_column('shard')
