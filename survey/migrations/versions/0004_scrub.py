"""Scrub: each campaign's interval between scrubs and its last scrub; the lease row.

Revision ID: 0004_scrub
Revises: 0004_personal_data

On SQLite the columns are added with plain ALTER TABLE (see 0003 for why not batch mode).

On PostgreSQL the answer table becomes 16 hash partitions of response_id: a scrub rewrites
(CLUSTERs) one partition at a time, so an answer waits for a sixteenth of the table at most.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_scrub'
down_revision = '0004_personal_data'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('campaign', sa.Column('scrub_interval', sa.Integer(), nullable=False, server_default='60'))
    op.add_column('campaign', sa.Column('scrubbed_at', sa.DateTime(), nullable=True))
    op.create_table('scrub_lease',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scrub_lease'))
    )
    op.execute("INSERT INTO scrub_lease (name) VALUES ('scrub')")
    if op.get_bind().dialect.name == 'postgresql':
        _partition_answers()


ANSWER_PARTITIONS = 16


def _partition_answers():
    op.execute('ALTER TABLE answer RENAME TO answer_plain')
    op.execute('ALTER TABLE answer_plain RENAME CONSTRAINT pk_answer TO pk_answer_plain')
    op.execute('CREATE TABLE answer (response_id VARCHAR(32) NOT NULL, item VARCHAR(60) NOT NULL, '
               'choice VARCHAR(40), text TEXT, CONSTRAINT pk_answer PRIMARY KEY (response_id, item), '
               'CONSTRAINT fk_answer_response_id_response FOREIGN KEY (response_id) REFERENCES response (id) '
               'ON DELETE CASCADE) PARTITION BY HASH (response_id)')
    for n in range(ANSWER_PARTITIONS):
        op.execute(f'CREATE TABLE answer_p{n:02d} PARTITION OF answer '
                   f'FOR VALUES WITH (MODULUS {ANSWER_PARTITIONS}, REMAINDER {n})')
    op.execute('INSERT INTO answer SELECT * FROM answer_plain ORDER BY response_id, item')
    op.execute('DROP TABLE answer_plain')


def _unpartition_answers():
    op.execute('ALTER TABLE answer RENAME TO answer_parts')
    op.execute('ALTER TABLE answer_parts RENAME CONSTRAINT pk_answer TO pk_answer_parts')
    op.execute('CREATE TABLE answer (response_id VARCHAR(32) NOT NULL, item VARCHAR(60) NOT NULL, '
               'choice VARCHAR(40), text TEXT, CONSTRAINT pk_answer PRIMARY KEY (response_id, item), '
               'CONSTRAINT fk_answer_response_id_response FOREIGN KEY (response_id) REFERENCES response (id) '
               'ON DELETE CASCADE)')
    op.execute('INSERT INTO answer SELECT * FROM answer_parts ORDER BY response_id, item')
    op.execute('DROP TABLE answer_parts')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _unpartition_answers()
    op.drop_table('scrub_lease')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE campaign DROP COLUMN scrubbed_at')
        op.execute('ALTER TABLE campaign DROP COLUMN scrub_interval')
    else:
        op.drop_column('campaign', 'scrubbed_at')
        op.drop_column('campaign', 'scrub_interval')
