"""run requests: a pending Run now per job, so quick repeated clicks start one run, not seven

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 20:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('run_requests',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mariadb').with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_run_requests'))
    )


def downgrade():
    op.drop_table('run_requests')
