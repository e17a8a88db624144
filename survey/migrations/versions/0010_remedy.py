"""Remedy records (整改单): one per unit under the line of a campaign (docs/remedy.md).

Revision ID: 0010_remedy
Revises: 0005_unit_members

A new table only: existing data is untouched.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_remedy"
down_revision = "0005_unit_members"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "remedy",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id", ondelete="CASCADE"), nullable=False),
        sa.Column("items", sa.JSON(), nullable=True),
        sa.Column("owner", sa.String(80), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("office_calendar", sa.Boolean(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reminders", sa.JSON(), nullable=True),
        sa.UniqueConstraint("campaign_id", "unit_id", name="uq_remedy_campaign_unit"),
    )
    op.create_index("ix_remedy_campaign_id", "remedy", ["campaign_id"])


def downgrade():
    op.drop_index("ix_remedy_campaign_id", table_name="remedy")
    op.drop_table("remedy")
