"""Paper counting: per-ballot double entry and hand-counted tally sheets.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "paper_ballot",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("clerks", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_paper_ballot_campaign_id_campaign"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "serial", name=op.f("pk_paper_ballot")),
    )
    op.create_table(
        "paper_entry",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("clerk", sa.String(length=80), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_paper_entry_campaign_id_campaign"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "serial", "clerk", name=op.f("pk_paper_entry")),
    )
    op.create_table(
        "paper_tally_sheet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("entered_by", sa.String(length=80), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_paper_tally_sheet_campaign_id_campaign"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_tally_sheet")),
    )
    with op.batch_alter_table("paper_tally_sheet", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_tally_sheet_campaign_id"), ["campaign_id"], unique=False)
    op.create_table(
        "paper_aggregate",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=60), nullable=False),
        sa.Column("choice", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_paper_aggregate_campaign_id_campaign"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_paper_aggregate_unit_id_unit"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("unit_id", "item", "choice", "category", name=op.f("pk_paper_aggregate")),
    )
    with op.batch_alter_table("paper_aggregate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_aggregate_campaign_id"), ["campaign_id"], unique=False)


def downgrade():
    with op.batch_alter_table("paper_aggregate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_aggregate_campaign_id"))
    op.drop_table("paper_aggregate")
    with op.batch_alter_table("paper_tally_sheet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_tally_sheet_campaign_id"))
    op.drop_table("paper_tally_sheet")
    op.drop_table("paper_entry")
    op.drop_table("paper_ballot")
