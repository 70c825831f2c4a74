"""enrolments: a withdrawal dated before its session's start is a cancellation

Since 23 November 2026 a withdrawal (abandon) is dated from the session's first day on; before, it is a
cancellation (services/enrolments.withdraw). Withdrawals recorded earlier with a date before the start gave
their seat to the waiting list yet stayed billable and, once the sheets listed withdrawn trainees, showed as
absent on every half-day. They become cancellations, each with an audit entry saying why; the downgrade puts
back those this revision changed (found by their audit entries).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-23 20:30:00
"""
from datetime import date, datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

ACTOR = "migration 0023"
REASON = "Abandon daté d'avant le début de la session : c'est une annulation."

enrolments = sa.table('enrolments', sa.column('id', sa.Integer), sa.column('session_id', sa.Integer),
                      sa.column('status', sa.String), sa.column('withdrawn_on', sa.Date),
                      sa.column('cancelled_at', sa.DateTime))
sessions = sa.table('training_sessions', sa.column('id', sa.Integer), sa.column('start_at', sa.DateTime))
audit = sa.table('audit_entries', sa.column('at', sa.DateTime), sa.column('actor_label', sa.String),
                 sa.column('entity_type', sa.String), sa.column('entity_id', sa.Integer),
                 sa.column('action', sa.String), sa.column('from_state', sa.String), sa.column('to_state', sa.String),
                 sa.column('reason', sa.Text), sa.column('details', sa.JSON))


def _as_date(value):
    return value if isinstance(value, date) and not isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(enrolments.c.id, enrolments.c.withdrawn_on, sessions.c.start_at)
        .select_from(enrolments.join(sessions, sessions.c.id == enrolments.c.session_id))
        .where(enrolments.c.status == 'withdrawn', enrolments.c.withdrawn_on.is_not(None))).all()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for enrolment_id, withdrawn_on, start_at in rows:
        if _as_date(withdrawn_on) >= _as_date(start_at):
            continue
        connection.execute(enrolments.update().where(enrolments.c.id == enrolment_id)
                           .values(status='cancelled', cancelled_at=now))
        connection.execute(audit.insert().values(
            at=now, actor_label=ACTOR, entity_type='enrolments', entity_id=enrolment_id, action='cancelled',
            from_state='withdrawn', to_state='cancelled', reason=REASON,
            details={"withdrawn_on": _as_date(withdrawn_on).isoformat()}))


def downgrade():
    connection = op.get_bind()
    changed = list(connection.scalars(sa.select(audit.c.entity_id).where(
        audit.c.actor_label == ACTOR, audit.c.entity_type == 'enrolments', audit.c.action == 'cancelled')))
    if changed:
        connection.execute(enrolments.update().where(enrolments.c.id.in_(changed))
                           .values(status='withdrawn', cancelled_at=None))
        connection.execute(audit.delete().where(audit.c.actor_label == ACTOR))
