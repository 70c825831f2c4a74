"""attendance: voided signatures, and sheets closed by the office without a trainer's signature

A trainee's signature made in the wrong row (the trainer opened one trainee's row, another signed) is voided
when that trainee is marked absent with a reason (services/attendance.mark): it is kept, with when, by whom
and why, and no longer counts. One *valid* signature per trainee and half-day: the unique constraint on
(slot_id, enrolment_id) becomes a unique index on the signatures not voided, so that the trainee of the row
can still sign it themself.

A sheet left open on its day can no longer get its trainer's signature: an administrator closes it with a
reason, kept in attendance_sheets.office_closing_reason (emptied by a reopening; the versions keep it).

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-23 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

VALID = sa.text('voided_at IS NULL')


def upgrade():
    with op.batch_alter_table('attendance_sheets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_closing_reason', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('attendance_signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('voided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('voided_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_attendance_signatures_voided_by_id_users'), 'users',
                                    ['voided_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(
            batch_op.f('ck_attendance_signatures_voided_with_reason'),
            "voided_at IS NULL OR (enrolment_id IS NOT NULL AND voided_reason != '')")
        batch_op.drop_constraint(batch_op.f('uq_attendance_signatures_slot_id_enrolment_id'), type_='unique')
        batch_op.create_index('uq_attendance_signatures_valid', ['slot_id', 'enrolment_id'], unique=True,
                              sqlite_where=VALID, postgresql_where=VALID)


def downgrade():
    voided = op.get_bind().scalar(sa.text('SELECT count(*) FROM attendance_signatures WHERE voided_at IS NOT NULL'))
    if voided:
        raise RuntimeError(f'{voided} voided signature(s): the schema before 0022 cannot keep them beside the '
                           'signatures that replaced them, and they are evidence. Not downgrading.')
    with op.batch_alter_table('attendance_signatures', schema=None) as batch_op:
        batch_op.drop_index('uq_attendance_signatures_valid', sqlite_where=VALID, postgresql_where=VALID)
        batch_op.create_unique_constraint(batch_op.f('uq_attendance_signatures_slot_id_enrolment_id'),
                                          ['slot_id', 'enrolment_id'])
        batch_op.drop_constraint(batch_op.f('ck_attendance_signatures_voided_with_reason'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_attendance_signatures_voided_by_id_users'), type_='foreignkey')
        batch_op.drop_column('voided_reason')
        batch_op.drop_column('voided_by_id')
        batch_op.drop_column('voided_at')
    with op.batch_alter_table('attendance_sheets', schema=None) as batch_op:
        batch_op.drop_column('office_closing_reason')
