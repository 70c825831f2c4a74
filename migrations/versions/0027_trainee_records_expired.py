"""trainees: when the kept records went, at the end of the retention period

An erasure keeps the attendance records, signatures, certificates and funding lines (and the names they print)
for RECORD_RETENTION_YEARS; once that period is over, `flask purge-expired` removes or anonymises them too
(services/personal_data.expire_records) and records when here.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-24 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('trainees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('records_expired_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('trainees', schema=None) as batch_op:
        batch_op.drop_column('records_expired_at')
