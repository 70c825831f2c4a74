"""convocation sendings: a fingerprint of what the convocation states

A convocation states the session's half-days and place; the sending keeps a hash of them, so that
a later change of the dates, of a half-day or of the place marks the convocations already sent as
outdated (to be sent again). Sendings recorded before keep "" (nothing known: not flagged).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('convocation_sendings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=64), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('convocation_sendings', schema=None) as batch_op:
        batch_op.drop_column('fingerprint')
