"""A sheet left open on its day: the trainer can no longer sign it (a trainer's signature is made the same
day), so the office closes it without one, with a reason that the sheet, its versions and its documents
show. Until then certificates and funding claims are blocked (open_slots)."""
import io
from datetime import timedelta

import openpyxl
import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.models import AuditEntry
from training_app.services import ServiceError, attendance

REASON = "Feuille oubliée le soir, présences confirmées par la formatrice au téléphone"
SAID = f"Clôturée par l'administration sans signature du / de la formateur·rice : {REASON}"


def forgotten_sheet(trainer):
    """Tuesday afternoon: both trainees signed; nobody signed nor closed the sheet that evening."""
    factories.make_organisation()
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[0]
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        for n, enrolment in enumerate((awa, julien)):
            attendance.sign(slot, enrolment, factories.signature_data_url(n), method="device", actor=trainer)
        db.session.commit()
    return session, slot


def next_morning(slot):
    return frozen_at(slot.ends_at + timedelta(hours=15))


def test_the_office_closes_a_forgotten_sheet_with_a_reason(trainer, admin):
    session, slot = forgotten_sheet(trainer)
    with next_morning(slot):
        with pytest.raises(ServiceError, match="le jour même"):
            attendance.close_slot(slot, trainer, factories.signature_data_url(9))
        db.session.rollback()
        with pytest.raises(ServiceError, match="Signez la feuille"):
            attendance.close_slot(slot, trainer)  # a trainer never closes without their signature
        db.session.rollback()
        with pytest.raises(ServiceError, match="indiquez le motif de la clôture") as refused:
            attendance.close_slot(slot, admin, reason="  ")
        db.session.rollback()
        assert refused.value.field == "reason"
        sheet = attendance.close_slot(slot, admin, reason=REASON)
        db.session.commit()
    assert sheet.is_closed and sheet.office_closing_reason == REASON and sheet.closed_by_id == admin.id
    assert attendance.open_slots(session) == session.slots[1:]  # certificates and claims are no longer blocked
    (version,) = attendance.versions(slot)
    assert (version.action, version.reason, version.snapshot["office_closing_reason"]) == (
        "closed_by_office", REASON, REASON)
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "closed"))
    assert entry.reason == REASON and entry.details["without_trainer_signature"] is True
    column = attendance.session_grid(session).columns[0]
    assert column.is_closed and not column.trainer_missing and column.office_closing_reason == REASON


def test_on_the_day_the_office_still_needs_the_trainer_signature(trainer, admin):
    session, slot = forgotten_sheet(trainer)
    with frozen_at(slot.ends_at + timedelta(hours=2)):  # 20:00 the same day: the trainer may still sign
        with pytest.raises(ServiceError, match="Signez la feuille"):
            attendance.close_slot(slot, admin, reason=REASON)
        db.session.rollback()
    assert not attendance.slot_sheet(slot).is_closed


def test_the_reason_does_not_excuse_a_missing_trainee_signature(trainer, admin):
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    slot = session.slots[0]
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        attendance.mark(slot, awa, "present", actor=trainer)
        db.session.commit()
    with next_morning(slot), pytest.raises(ServiceError, match="Signature manquante pour"):
        attendance.close_slot(slot, admin, reason=REASON)
    db.session.rollback()


def test_the_word_and_excel_sheets_say_who_closed_it_and_why_and_a_reopening_clears_it(trainer, admin):
    session, slot = forgotten_sheet(trainer)
    with next_morning(slot):
        attendance.close_slot(slot, admin, reason=REASON)
        db.session.commit()
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    assert SAID in text
    book = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session)))
    trainer_row = next(r for r in book.active.iter_rows(values_only=True) if r[0] == "Formateur·rice")
    assert trainer_row[2] == SAID and trainer_row[3] in ("", None)
    with next_morning(slot):
        attendance.reopen_slot(slot, admin, "Signature de la formatrice retrouvée sur papier")
        db.session.commit()
    assert attendance.slot_sheet(slot).sheet.office_closing_reason == ""
    assert SAID not in factories.docx_text(attendance_sheet.word_sheet(session))
