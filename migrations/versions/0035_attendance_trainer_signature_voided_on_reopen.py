"""attendance: a reopening voids the trainer's signature of the sheet

A trainer's signature validates the sheet as it was when they closed it. Once an administrator reopened the
sheet, that signature stayed valid: the sheet could be changed and closed again under it, and the Word sheet
printed it over content changed afterwards. A reopening now voids it (kept, with when, by whom and why), so
closing again takes a new signature of the day, or an administrator's closing with a reason. One *valid*
signature per trainer and half-day: the unique constraint on (slot_id, trainer_id) becomes a unique index on
the signatures not voided, and a trainer's signature may now be voided (with a reason, as a trainee's).

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-24 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

VALID = sa.text('voided_at IS NULL')


def upgrade():
    with op.batch_alter_table('attendance_signatures', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_attendance_signatures_voided_with_reason'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attendance_signatures_voided_with_reason'),
                                         "voided_at IS NULL OR voided_reason != ''")
        batch_op.drop_constraint(batch_op.f('uq_attendance_signatures_slot_id_trainer_id'), type_='unique')
        batch_op.create_index('uq_attendance_signatures_trainer_valid', ['slot_id', 'trainer_id'], unique=True,
                              sqlite_where=VALID, postgresql_where=VALID)


def downgrade():
    voided = op.get_bind().scalar(sa.text(
        'SELECT count(*) FROM attendance_signatures WHERE voided_at IS NOT NULL AND trainer_id IS NOT NULL'))
    if voided:
        raise RuntimeError(f"{voided} voided trainer signature(s): the schema before 0035 cannot keep them beside "
                           'the signatures that replaced them, and they are evidence. Not downgrading.')
    with op.batch_alter_table('attendance_signatures', schema=None) as batch_op:
        batch_op.drop_index('uq_attendance_signatures_trainer_valid', sqlite_where=VALID, postgresql_where=VALID)
        batch_op.create_unique_constraint(batch_op.f('uq_attendance_signatures_slot_id_trainer_id'),
                                          ['slot_id', 'trainer_id'])
        batch_op.drop_constraint(batch_op.f('ck_attendance_signatures_voided_with_reason'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attendance_signatures_voided_with_reason'),
                                         "voided_at IS NULL OR (enrolment_id IS NOT NULL AND voided_reason != '')")
