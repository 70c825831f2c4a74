"""A sheet left open on its day: the trainer can no longer sign it (a trainer's signature is made the same
day), so the office closes it without one, with a reason that the sheet, its versions and its documents
show. Until then certificates and funding claims are blocked (open_slots)."""
import io
from datetime import timedelta

import openpyxl
import pytest
from werkzeug.datastructures import FileStorage

from tests import factories
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.models import AuditEntry
from training_app.services import ServiceError, attendance

REASON = "Feuille oubliée le soir, présences confirmées par la formatrice au téléphone"
SAID = f"Clôturée par l'administration sans signature du / de la formateur·rice : {REASON}"
DAY_OVER = "Le jour de cette demi-journée est passé"


def with_paper_scan(slot, admin):
    """The paper sheet the room signed, trainees and trainer, scanned and attached by the office."""
    attendance.attach_scan(slot, FileStorage(io.BytesIO(b"%PDF-1.4 la feuille papier"), filename="feuille.pdf"),
                           admin)
    db.session.commit()


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
        with pytest.raises(ServiceError, match="Le jour de cette demi-journée est passé"):
            attendance.close_slot(slot, trainer)  # after the day, the sheet is the office's
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


def test_a_paper_scan_stands_for_the_trainers_signature_of_the_day_only(trainer, admin):
    """The scan of the paper sheet stands for the trainer's signature of the sheet as the room signed it: the
    office closes it after the day without a reason; a trainer closes nothing after the day, scan or not; once
    reopened, the scan no longer vouches for the sheet, and the office's closing takes a reason."""
    session, slot = forgotten_sheet(trainer)
    with next_morning(slot):
        with_paper_scan(slot, admin)
        with pytest.raises(ServiceError, match=DAY_OVER):
            attendance.close_slot(slot, trainer)
        db.session.rollback()
        sheet = attendance.close_slot(slot, admin)
        db.session.commit()
    assert (sheet.closed_by_id, sheet.office_closing_reason, attendance.versions(slot)[-1].action) == (
        admin.id, "", "closed")
    with frozen_at(slot.ends_at + timedelta(days=2)):
        attendance.reopen_slot(slot, admin, "Erreur de saisie")
        db.session.commit()
        assert attendance.session_grid(session).columns[0].trainer_missing
        with pytest.raises(ServiceError, match=DAY_OVER):
            attendance.close_slot(slot, trainer)
        db.session.rollback()
        with pytest.raises(ServiceError, match="La réouverture a annulé la signature du / de la formateur·rice "
                                               "et il est trop tard") as refused:
            attendance.close_slot(slot, admin)
        assert refused.value.field == "reason"
        db.session.rollback()
        sheet = attendance.close_slot(slot, admin, reason=REASON)
        db.session.commit()
    assert sheet.office_closing_reason == REASON and attendance.versions(slot)[-1].action == "closed_by_office"


def test_a_sheet_reopened_on_its_day_is_signed_again_by_the_trainer_scan_or_not(trainer, admin):
    session, slot = forgotten_sheet(trainer)
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        with_paper_scan(slot, admin)
        attendance.close_slot(slot, trainer)  # the paper bears the trainer's signature
        db.session.commit()
        attendance.reopen_slot(slot, admin, "Erreur de saisie")
        db.session.commit()
        with pytest.raises(ServiceError, match="Signez la feuille"):
            attendance.close_slot(slot, trainer)
        db.session.rollback()
        with pytest.raises(ServiceError, match="Signez la feuille"):
            attendance.close_slot(slot, admin, reason=REASON)  # the trainer can still sign today
        db.session.rollback()
        sheet = attendance.close_slot(slot, trainer, factories.signature_data_url(9))
        db.session.commit()
    assert sheet.is_closed and [s.signer_name for s in attendance.slot_sheet(slot).trainer_signatures] == [
        trainer.name]
