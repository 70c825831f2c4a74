"""enrolments: the moment each one joined the waiting list, which orders it

The waiting list was ordered by request time: a request the office confirmed late into a full session, or a
pre-registration waitlisted when its session opened, went ahead of people already told their position. It is
now first come, first served by the moment one joined the list (services/enrolments), kept in
enrolments.waitlisted_at. Filled from the audit trail (the last entry that put the enrolment on the waiting
list); a waitlisted enrolment without such an entry (none should be) keeps its request time. A waitlisted
enrolment must have it.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-24 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

enrolments = sa.table('enrolments', sa.column('id', sa.Integer), sa.column('status', sa.String),
                      sa.column('requested_at', sa.DateTime), sa.column('waitlisted_at', sa.DateTime))
audit = sa.table('audit_entries', sa.column('at', sa.DateTime), sa.column('entity_type', sa.String),
                 sa.column('entity_id', sa.Integer), sa.column('to_state', sa.String))


def upgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waitlisted_at', sa.DateTime(), nullable=True))
    joined = (sa.select(sa.func.max(audit.c.at))
              .where(audit.c.entity_type == 'enrolments', audit.c.entity_id == enrolments.c.id,
                     audit.c.to_state == 'waitlisted')
              .scalar_subquery())
    connection = op.get_bind()
    connection.execute(enrolments.update().values(waitlisted_at=joined))
    connection.execute(enrolments.update()
                       .where(enrolments.c.status == 'waitlisted', enrolments.c.waitlisted_at.is_(None))
                       .values(waitlisted_at=enrolments.c.requested_at))
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_enrolments_waitlisted_at'),
                                         "status != 'waitlisted' OR waitlisted_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_enrolments_waitlisted_at'), type_='check')
        batch_op.drop_column('waitlisted_at')
