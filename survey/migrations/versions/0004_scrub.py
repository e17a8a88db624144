"""Scrub: each campaign's interval between scrubs and its last scrub; the lease row.

Revision ID: 0004_scrub
Revises: 0003

On SQLite the columns are added with plain ALTER TABLE (see 0003 for why not batch mode).
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_scrub'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('campaign', sa.Column('scrub_interval', sa.Integer(), nullable=False, server_default='60'))
    op.add_column('campaign', sa.Column('scrubbed_at', sa.DateTime(), nullable=True))
    op.create_table('scrub_lease',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scrub_lease'))
    )
    op.execute("INSERT INTO scrub_lease (name) VALUES ('scrub')")


def downgrade():
    op.drop_table('scrub_lease')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE campaign DROP COLUMN scrubbed_at')
        op.execute('ALTER TABLE campaign DROP COLUMN scrub_interval')
    else:
        op.drop_column('campaign', 'scrubbed_at')
        op.drop_column('campaign', 'scrub_interval')
