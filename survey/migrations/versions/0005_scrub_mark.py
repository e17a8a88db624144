"""Scrub: what had been written to a campaign when its last scrub began, so a campaign nothing
was written to since is not scrubbed again (survey/anonymity.py: writes_mark).

Revision ID: 0005_scrub_mark
Revises: 0004_roles

A plain ADD COLUMN on both databases (see 0003 for why not batch mode on SQLite).
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_scrub_mark'
down_revision = '0004_roles'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('campaign', sa.Column('scrub_mark', sa.String(length=120), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE campaign DROP COLUMN scrub_mark')
    else:
        op.drop_column('campaign', 'scrub_mark')
