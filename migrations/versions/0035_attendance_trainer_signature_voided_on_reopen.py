"""attendance: a reopening voids the trainer's signature of the sheet

A trainer's signature validates the sheet as it was when they closed it. Once an administrator reopened the
sheet, that signature stayed valid: the sheet could be changed and closed again under it, and the Word sheet
printed it over content changed afterwards. A reopening now voids it (kept, with when, by whom and why), so
closing again takes a new signature of the day, or an administrator's closing with a reason. One *valid*
signature per trainer and half-day: the unique constraint on (slot_id, trainer_id) becomes a unique index on
the signatures not voided, and a trainer's signature may now be voided (with a reason, as a trainee's).

A trainer signs a sheet only when closing it (services/attendance.close_slot: the signature and the closing are
one transaction), so a valid trainer's signature on an open sheet is what a reopening before this revision left:
this revision voids it, as the reopening now does, dated from the sheet's latest reopening and by whom reopened
it (the Word sheet prints "annulée à la réouverture du <date>"), with a fixed reason and an audit entry per sheet.
Without it such a sheet could be closed again, days later, under the old signature. The downgrade puts back the
signatures this revision voided (found by their reason), unless the trainer signed the sheet again since.

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-24 12:00:00
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

VALID = sa.text('voided_at IS NULL')
ACTOR = "migration 0035"
REASON = ("Feuille rouverte avant le 24/11/2026 : cette signature ne valait que pour la feuille close alors "
          "(annulée par la mise à jour de l'application)")

signatures = sa.table('attendance_signatures', sa.column('id', sa.Integer), sa.column('slot_id', sa.Integer),
                      sa.column('trainer_id', sa.Integer), sa.column('signer_name', sa.String),
                      sa.column('signed_at', sa.DateTime), sa.column('image_sha256', sa.String),
                      sa.column('voided_at', sa.DateTime), sa.column('voided_by_id', sa.Integer),
                      sa.column('voided_reason', sa.Text))
sheets = sa.table('attendance_sheets', sa.column('id', sa.Integer), sa.column('slot_id', sa.Integer),
                  sa.column('status', sa.String))
versions = sa.table('attendance_sheet_versions', sa.column('sheet_id', sa.Integer), sa.column('number', sa.Integer),
                    sa.column('action', sa.String), sa.column('at', sa.DateTime), sa.column('actor_id', sa.Integer))
audit = sa.table('audit_entries', sa.column('at', sa.DateTime), sa.column('actor_label', sa.String),
                 sa.column('entity_type', sa.String), sa.column('entity_id', sa.Integer),
                 sa.column('action', sa.String), sa.column('reason', sa.Text), sa.column('details', sa.JSON))


def upgrade():
    with op.batch_alter_table('attendance_signatures', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_attendance_signatures_voided_with_reason'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attendance_signatures_voided_with_reason'),
                                         "voided_at IS NULL OR voided_reason != ''")
        batch_op.drop_constraint(batch_op.f('uq_attendance_signatures_slot_id_trainer_id'), type_='unique')
        batch_op.create_index('uq_attendance_signatures_trainer_valid', ['slot_id', 'trainer_id'], unique=True,
                              sqlite_where=VALID, postgresql_where=VALID)
    _void_signatures_of_reopened_sheets(op.get_bind())


def _as_datetime(value):
    return value if isinstance(value, datetime) or value is None else datetime.fromisoformat(str(value))


def _void_signatures_of_reopened_sheets(connection) -> None:
    """Void the valid trainers' signatures of the open sheets (see the module's docstring)."""
    rows = connection.execute(
        sa.select(sheets.c.id, signatures.c.id, signatures.c.signer_name, signatures.c.signed_at,
                  signatures.c.image_sha256)
        .select_from(signatures.join(sheets, sheets.c.slot_id == signatures.c.slot_id))
        .where(sheets.c.status == 'open', signatures.c.trainer_id.is_not(None), signatures.c.voided_at.is_(None))
        .order_by(sheets.c.id, signatures.c.id)).all()
    by_sheet = {}
    for sheet_id, *signature in rows:
        by_sheet.setdefault(sheet_id, []).append(signature)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for sheet_id, voided in by_sheet.items():
        reopened = connection.execute(
            sa.select(versions.c.at, versions.c.actor_id)
            .where(versions.c.sheet_id == sheet_id, versions.c.action == 'reopened')
            .order_by(versions.c.number.desc()).limit(1)).first()
        for signature_id, _name, signed_at, _sha in voided:
            # when the sheet was reopened, by whom; when it cannot be told (no version of it), now and nobody
            at, by = ((_as_datetime(reopened[0]), reopened[1])
                      if reopened is not None and _as_datetime(reopened[0]) >= _as_datetime(signed_at)
                      else (now, None))
            connection.execute(signatures.update().where(signatures.c.id == signature_id)
                               .values(voided_at=at, voided_by_id=by, voided_reason=REASON))
        connection.execute(audit.insert().values(
            at=now, actor_label=ACTOR, entity_type='attendance_sheets', entity_id=sheet_id,
            action='trainer_signature_voided', reason=REASON, details={"trainer_signatures_voided": [
                {"signature_id": signature_id, "trainer": name,
                 "signed_at": _as_datetime(signed_at).isoformat(timespec="seconds"), "image_sha256": sha}
                for signature_id, name, signed_at, sha in voided]}))


def _put_back() -> sa.ColumnElement:
    """The trainers' signatures _void_signatures_of_reopened_sheets voided and that can be valid again: the
    trainer did not sign the sheet again since."""
    valid = signatures.alias('valid')
    again = sa.select(valid.c.id).where(valid.c.slot_id == signatures.c.slot_id,
                                        valid.c.trainer_id == signatures.c.trainer_id, valid.c.voided_at.is_(None))
    return sa.and_(signatures.c.voided_reason == REASON, ~sa.exists(again))


def downgrade():
    connection = op.get_bind()
    voided_trainers = (signatures.c.trainer_id.is_not(None), signatures.c.voided_at.is_not(None))
    voided = connection.scalar(sa.select(sa.func.count()).select_from(signatures)
                               .where(*voided_trainers, ~_put_back()))
    if voided:
        raise RuntimeError(f"{voided} voided trainer signature(s): the schema before 0035 cannot keep them beside "
                           'the signatures that replaced them, and they are evidence. Not downgrading.')
    connection.execute(signatures.update().where(*voided_trainers, _put_back())
                       .values(voided_at=None, voided_by_id=None, voided_reason=''))
    connection.execute(audit.delete().where(audit.c.actor_label == ACTOR))
    with op.batch_alter_table('attendance_signatures', schema=None) as batch_op:
        batch_op.drop_index('uq_attendance_signatures_trainer_valid', sqlite_where=VALID, postgresql_where=VALID)
        batch_op.create_unique_constraint(batch_op.f('uq_attendance_signatures_slot_id_trainer_id'),
                                          ['slot_id', 'trainer_id'])
        batch_op.drop_constraint(batch_op.f('ck_attendance_signatures_voided_with_reason'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attendance_signatures_voided_with_reason'),
                                         "voided_at IS NULL OR (enrolment_id IS NOT NULL AND voided_reason != '')")
