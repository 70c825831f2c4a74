"""outgoing mail: every e-mail the application writes, kept as a row until the SMTP server takes it

Written in the transaction that decides the message, sent after its commit, tried again until sent or
given up; the office sees each message's state. Attachments are kept until the message is sent.
Before this revision messages were queued in memory (and captured in <instance>/outbox.jsonl in
development): nothing to carry over.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 07:22:47
"""
from alembic import op
import sqlalchemy as sa



revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outgoing_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tag', sa.String(length=100), nullable=False),
    sa.Column('attachment_names', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('queued_at', sa.DateTime(), nullable=False),
    sa.Column('claim', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'captured', 'dismissed')", name=op.f('ck_outgoing_mail_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mail'))
    )
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.create_index('ix_outgoing_mail_pending', ['status', 'queued_at'], unique=False)

    op.create_table('outgoing_mail_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mail_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('mimetype', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['mail_id'], ['outgoing_mail.id'], name=op.f('fk_outgoing_mail_attachments_mail_id_outgoing_mail'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mail_attachments'))
    )
    with op.batch_alter_table('outgoing_mail_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_mail_attachments_mail_id'), ['mail_id'], unique=False)



def downgrade():
    with op.batch_alter_table('outgoing_mail_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_mail_attachments_mail_id'))

    op.drop_table('outgoing_mail_attachments')
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_mail_pending')

    op.drop_table('outgoing_mail')
