"""Roles: a user's role and scope, assigned campaigns, a session version, a forced new password.

Revision ID: 0004_roles
Revises: 0004_trust

Every user that exists before this revision becomes an office admin (role 'office'), as they
could do everything before. Columns are added with plain ALTER TABLE (no batch copy of the
user table on SQLite).
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_roles'
down_revision = '0004_trust'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('user', sa.Column('role', sa.String(length=12), nullable=False, server_default='office'))
    op.add_column('user', sa.Column('unit_parent', sa.String(length=200), nullable=True))
    op.add_column('user', sa.Column('unit_codes', sa.JSON(), nullable=True))
    op.add_column('user', sa.Column('session_version', sa.Integer(), nullable=False, server_default='1'))
    op.add_column('user', sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                    server_default=sa.false()))
    op.create_table('user_campaign',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_campaign_user_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_user_campaign_campaign_id_campaign'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'campaign_id', name=op.f('pk_user_campaign')),
    )


def downgrade():
    op.drop_table('user_campaign')
    for column in ('must_change_password', 'session_version', 'unit_codes', 'unit_parent', 'role'):
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE "user" DROP COLUMN {column}')
        else:
            op.drop_column('user', column)
