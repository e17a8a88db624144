"""Paper for an assembly: "don't know" and what a ballot holder may leave out, the printed
layout of each batch, tally sheets entered twice, with serial ranges, voidable.

Revision ID: 0013_paper_assembly
Revises: 0012_hidden_categories

Columns are added with plain ALTER TABLE on SQLite too (batch mode would copy and drop the
campaign table, and with foreign keys on, dropping it deletes every unit and answer).
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_paper_assembly"
down_revision = "0012_hidden_categories"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("campaign", sa.Column("dont_know", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("campaign", sa.Column("leave_out", sa.String(length=10), nullable=False, server_default="none"))
    op.add_column("ballot_batch", sa.Column("layout", sa.JSON(), nullable=True))
    op.add_column("paper_tally_sheet", sa.Column("box", sa.String(length=40), nullable=True))
    op.add_column("paper_tally_sheet", sa.Column("serial_ranges", sa.JSON(), nullable=True))
    op.add_column("paper_tally_sheet", sa.Column("counts", sa.JSON(), nullable=True))
    op.add_column("paper_tally_sheet", sa.Column("voided_by", sa.String(length=80), nullable=True))
    op.create_table(
        "paper_tally_entry",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("box", sa.String(length=40), nullable=False),
        sa.Column("clerk", sa.String(length=80), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_paper_tally_entry_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "box", "clerk", name=op.f("pk_paper_tally_entry")),
    )


def downgrade():
    op.drop_table("paper_tally_entry")
    columns = [("paper_tally_sheet", name) for name in ("voided_by", "counts", "serial_ranges", "box")]
    columns += [("ballot_batch", "layout"), ("campaign", "leave_out"), ("campaign", "dont_know")]
    for table, name in columns:
        if op.get_bind().dialect.name == "sqlite":  # no batch copy: see the module docstring
            op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
        else:
            op.drop_column(table, name)
