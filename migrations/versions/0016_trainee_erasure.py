"""trainee erasure: when a trainee's personal data was erased (RGPD requests, end of the retention period)

The records kept for six years (attendance, certificates, funding) keep the names they need; the rest of the
person's data is erased and `erased_at` says when (services/personal_data.py).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 10:55:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('trainees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('trainees', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
