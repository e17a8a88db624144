"""Disclosure control and single-use form ids: campaign.minimum_cell and form_nonce.

Revision ID: 0004_trust
Revises: 0004_scrub

campaign.minimum_cell is the smallest group whose figures a report may show (default 5,
never below 3; survey/disclosure.py). form_nonce holds spent form ids so a repeated
submission counts once (survey/nonces.py). On SQLite the column is added with a plain
ALTER TABLE (see 0003 for why not batch mode).
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_trust'
down_revision = '0004_scrub'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('campaign', sa.Column('minimum_cell', sa.Integer(), nullable=False, server_default='5'))
    op.create_table('form_nonce',
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('nonce_hash', name=op.f('pk_form_nonce')),
    sqlite_with_rowid=False
    )
    op.create_index(op.f('ix_form_nonce_issued_on'), 'form_nonce', ['issued_on'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_form_nonce_issued_on'), table_name='form_nonce')
    op.drop_table('form_nonce')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE campaign DROP COLUMN minimum_cell')
    else:
        op.drop_column('campaign', 'minimum_cell')
