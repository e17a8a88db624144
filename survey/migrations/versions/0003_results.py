"""Results: a campaign's previous campaign (year-over-year change) and comment moderation.

Revision ID: 0003
Revises: 0002

On SQLite the new column is added with a plain ALTER TABLE: batch mode would copy and drop
the campaign table, and with foreign keys on, dropping it deletes every unit and answer.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

FK_NAME = 'fk_campaign_previous_campaign_id_campaign'


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE campaign ADD COLUMN previous_campaign_id INTEGER '
                   f'CONSTRAINT {FK_NAME} REFERENCES campaign (id) ON DELETE SET NULL')
    else:
        op.add_column('campaign', sa.Column('previous_campaign_id', sa.Integer(), nullable=True))
        op.create_foreign_key(FK_NAME, 'campaign', 'campaign', ['previous_campaign_id'], ['id'],
                              ondelete='SET NULL')
    op.create_table('comment_moderation',
    sa.Column('response_id', sa.String(length=32), nullable=False),
    sa.Column('item', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('hidden_by', sa.String(length=80), nullable=False),
    sa.Column('hidden_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_comment_moderation_response_id_response'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'item', name=op.f('pk_comment_moderation')),
    sqlite_with_rowid=False
    )


def downgrade():
    op.drop_table('comment_moderation')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE campaign DROP COLUMN previous_campaign_id')
    else:
        op.drop_constraint(FK_NAME, 'campaign', type_='foreignkey')
        op.drop_column('campaign', 'previous_campaign_id')
