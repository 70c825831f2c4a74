"""attendance_signatures: an index on slot_id for reading a half-day's signatures, voided ones included

Since signatures can be voided, the only indexes starting with slot_id are partial (valid signatures only): a
query for every signature of some half-days (changeable_half_days on the session's page, the attendance
overview's grid) read the whole table. Measured on the benchmark's large data (214,512 signatures): 52-79 ms
for the session page's statement, 0.5 ms with the index; the page's wall time had gone from 73-83 ms to 138-161 ms
when that statement was added.

Revision ID: 0040
Revises: 0039
Create Date: 2026-11-25 14:00:00
"""
from alembic import op


revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attendance_signatures', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_signatures_slot_id', ['slot_id'], unique=False)


def downgrade():
    with op.batch_alter_table('attendance_signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_signatures_slot_id')
