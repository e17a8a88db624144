"""Scanned ballots (OMR): files, pages as read, and the doubts a person decides.

Revision ID: 0014_scans
Revises: 0013_paper_assembly
"""
from alembic import op
import sqlalchemy as sa


revision = "0014_scans"
down_revision = "0013_paper_assembly"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scan_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('pages_read', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('uploaded_by', sa.String(length=80), nullable=False),
        sa.Column('uploaded_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_scan_file_campaign_id_campaign'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_file')),
        sa.UniqueConstraint('campaign_id', 'sha256', name=op.f('uq_scan_file_campaign_id')),
    )
    op.create_index(op.f('ix_scan_file_campaign_id'), 'scan_file', ['campaign_id'])
    op.create_table(
        'scan_page',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('serial', sa.Integer(), nullable=True),
        sa.Column('page', sa.Integer(), nullable=True),
        sa.Column('pages', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('reading', sa.JSON(), nullable=True),
        sa.Column('confidence', sa.Float(), nullable=True),
        sa.Column('image', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_scan_page_campaign_id_campaign'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['file_id'], ['scan_file.id'], name=op.f('fk_scan_page_file_id_scan_file'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_page')),
    )
    op.create_index(op.f('ix_scan_page_campaign_id'), 'scan_page', ['campaign_id'])
    op.create_index(op.f('ix_scan_page_file_id'), 'scan_page', ['file_id'])
    op.create_index(op.f('ix_scan_page_serial'), 'scan_page', ['serial'])
    op.create_table(
        'scan_doubt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('page_id', sa.Integer(), nullable=False),
        sa.Column('serial', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('item', sa.String(length=60), nullable=True),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('choices', sa.JSON(), nullable=True),
        sa.Column('crop', sa.LargeBinary(), nullable=True),
        sa.Column('decision', sa.String(length=60), nullable=True),
        sa.Column('decided_by', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_scan_doubt_campaign_id_campaign'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['page_id'], ['scan_page.id'], name=op.f('fk_scan_doubt_page_id_scan_page'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_doubt')),
    )
    op.create_index(op.f('ix_scan_doubt_campaign_id'), 'scan_doubt', ['campaign_id'])
    op.create_index(op.f('ix_scan_doubt_page_id'), 'scan_doubt', ['page_id'])


def downgrade():
    op.drop_table('scan_doubt')
    op.drop_table('scan_page')
    op.drop_table('scan_file')
