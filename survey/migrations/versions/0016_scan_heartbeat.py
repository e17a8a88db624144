"""Scanned files: when reading last moved on (a read that stopped is resumed, not taken as done).

Revision ID: 0016_scan_heartbeat
Revises: 0015_reevaluation

- scan_file.read_at: set while a file is read, at each page; cleared when it is read to the
  end or fails. A file still "reading" whose read_at is minutes old was being read by a
  process that stopped (a restart, a kill): uploading it again reads the pages it did not.

A new nullable column: existing data is untouched (a file left "reading" before this version
has none, and counts as stopped).
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_scan_heartbeat"
down_revision = "0015_reevaluation"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("scan_file") as batch:
        batch.add_column(sa.Column("read_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("scan_file") as batch:
        batch.drop_column("read_at")
