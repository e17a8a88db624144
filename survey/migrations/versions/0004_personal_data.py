"""Campaign setting: what to do with a mobile or ID number in a comment (refuse or mask).

Revision ID: 0004_personal_data
Revises: 0003

A plain ADD COLUMN with a server default on both databases: existing campaigns refuse.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_personal_data'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('campaign', sa.Column('personal_data', sa.String(length=10), nullable=False,
                                        server_default='refuse'))


def downgrade():
    with op.batch_alter_table('campaign') as batch:
        batch.drop_column('personal_data')
