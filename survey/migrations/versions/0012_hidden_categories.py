"""Campaigns may hide respondent categories their units do not use.

Revision ID: 0012_hidden_categories
Revises: 0010_remedy

A plain ADD COLUMN (no batch copy on SQLite); existing campaigns hide nothing.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_hidden_categories"
down_revision = "0010_remedy"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("campaign", sa.Column("hidden_categories", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("campaign", "hidden_categories")
