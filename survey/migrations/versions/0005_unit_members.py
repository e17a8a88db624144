"""Units carry the party members a branch appraises (民主评议党员, the five leads).

Revision ID: 0005_unit_members
Revises: 0005_jobs

A plain ADD COLUMN on every database (no batch copy on SQLite: dropping the unit table would
delete its answers through the foreign keys); existing units get an empty list on read.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_unit_members"
down_revision = '0005_jobs'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("unit", sa.Column("members", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("unit", "members")
