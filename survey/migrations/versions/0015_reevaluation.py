"""Re-evaluation (补课) and the office's calendar (docs/remedy.md).

Revision ID: 0015_reevaluation
Revises: 0014_scans

- campaign.follows_campaign_id: the campaign a re-evaluation follows (unique: one follow-up
  per campaign);
- remedy.verified_on: the day the office verified a record (for the ledger, 整改台账);
- office_calendar_day: the office's holidays and make-up working days (调休) for dates the
  official calendar does not know yet.

New nullable columns and a new table: existing data is untouched. No batch copy of the campaign
table on SQLite (dropping it to copy would cascade to every table that refers to it): the
column is added with its reference in one ALTER TABLE, and "one follow-up per campaign" is a
unique index. Rolling back is restoring the backup taken before the upgrade (docs/operators.md);
downgrade() leaves SQLite's campaign column in place, as SQLite cannot drop a referencing column.
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_reevaluation"
down_revision = "0014_scans"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE campaign ADD COLUMN follows_campaign_id INTEGER "
                   "REFERENCES campaign (id) ON DELETE SET NULL")
    else:
        op.add_column("campaign", sa.Column("follows_campaign_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_campaign_follows_campaign_id_campaign", "campaign", "campaign",
                              ["follows_campaign_id"], ["id"], ondelete="SET NULL")
    op.create_index("uq_campaign_follows_campaign_id", "campaign", ["follows_campaign_id"], unique=True)
    op.add_column("remedy", sa.Column("verified_on", sa.Date(), nullable=True))
    op.create_table(
        "office_calendar_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("added_by", sa.String(80), nullable=False),
    )


def downgrade():
    op.drop_table("office_calendar_day")
    op.drop_index("uq_campaign_follows_campaign_id", table_name="campaign")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("remedy", "verified_on")
        op.drop_constraint("fk_campaign_follows_campaign_id_campaign", "campaign", type_="foreignkey")
        op.drop_column("campaign", "follows_campaign_id")
