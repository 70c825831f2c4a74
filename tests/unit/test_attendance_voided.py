"""A signature in the wrong row: the trainer opened "Faire signer" on Awa's row and Julien signed there; Awa
was absent. Marking Awa absent with a reason voids that signature: kept (image, time, who voided it and why),
shown as voided on the sheet, its versions and documents, counted nowhere. An administrator does it on a
closed sheet (a correction), a trainer on the open sheet of the day."""
import io
from datetime import datetime, timedelta

import openpyxl
import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.models import AuditEntry, Signature
from training_app.services import ServiceError, attendance, enrolments
from training_app.services.attendance import AttendanceTotals

REASON = "Julien a signé sur la ligne d'Awa, absente"


def wrong_row(trainer):
    """Tuesday afternoon (4 h): Julien signs in Awa's row, then in his own."""
    factories.make_organisation()
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[0]
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        attendance.sign(slot, awa, factories.signature_data_url(1), method="device", actor=trainer)
        attendance.sign(slot, julien, factories.signature_data_url(2), method="device", actor=trainer)
        db.session.commit()
    return session, slot, awa, julien


def close(slot, trainer):
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        attendance.close_slot(slot, trainer, factories.signature_data_url(9))
        db.session.commit()


def test_the_office_corrects_a_closed_sheet_and_the_signature_is_voided_not_destroyed(trainer, admin):
    session, slot, awa, julien = wrong_row(trainer)
    close(slot, trainer)
    signature_id = db.session.scalar(db.select(Signature.id).where(Signature.enrolment_id == awa.id))
    with frozen_at(datetime(2030, 3, 12, 10, 0)):
        attendance.mark(slot, awa, "absent_unjustified", actor=admin, reason=REASON)
        db.session.commit()
    kept = attendance.signature_image(session, signature_id)
    assert kept.image == factories.signature_png(1) and kept.signer_name == awa.trainee.full_name
    assert (kept.voided_by_id, kept.voided_reason, kept.voided_at) == (admin.id, REASON, datetime(2030, 3, 12, 9, 0))
    # It counts nowhere: totals (certificates, claims), the annual report's hours, the sheet and the grid.
    assert attendance.totals_for(awa) == AttendanceTotals(21 * 60, 0, 0, 4 * 60)
    assert attendance.totals_for_session(session)[awa.id].attended_minutes == 0
    assert {row.trainee_id: row.minutes for row in attendance.attended_in_sessions([session.id])} == {
        julien.trainee_id: 240, awa.trainee_id: 0}
    sheet = attendance.slot_sheet(slot)
    awa_row = next(r for r in sheet.rows if r.enrolment == awa)
    assert awa_row.signature is None and [v.id for v in awa_row.voided] == [signature_id]
    assert sheet.signed_count == 1 and sheet.absent_count == 1
    cell = next(r for r in attendance.session_grid(session).rows if r.enrolment == awa).cells[0]
    assert (cell.state, cell.signature, [v.id for v in cell.voided]) == ("absent_unjustified", None, [signature_id])
    # The history keeps the signed version and the corrected one; the audit says what was voided.
    closed, corrected = attendance.versions(slot)
    before = next(r for r in closed.snapshot["rows"] if r["enrolment_id"] == awa.id)
    after = next(r for r in corrected.snapshot["rows"] if r["enrolment_id"] == awa.id)
    assert before["signed_at"] and before["voided"] == []
    assert after["signed_at"] is None and after["status"] == "absent_unjustified"
    assert [(v["reason"], v["voided_by"]) for v in after["voided"]] == [(REASON, admin.name)]
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "signature_voided"))
    assert entry.reason == REASON and entry.details["signature_id"] == signature_id
    assert entry.details["image_sha256"] == kept.image_sha256


def test_the_word_and_excel_sheets_say_signature_annulee_with_the_reason(trainer, admin):
    session, slot, awa, julien = wrong_row(trainer)
    close(slot, trainer)
    with frozen_at(datetime(2030, 3, 12, 10, 0)):
        attendance.mark(slot, awa, "absent_unjustified", actor=admin, reason=REASON)
        db.session.commit()
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    awa_row = text[text.index(awa.trainee.formal_name):]
    assert awa_row.split(" | ")[1].strip() == ("Absent·e, sans justificatif — signature annulée — corrigé par "
                                               "l'administration le 12/03/2030 (1)")
    assert f"(1) Motif de la correction : {REASON}." in text
    assert text.count("signé à") == 2  # Julien's own signature and the trainer's: Awa's image is not printed
    book = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session)))
    row = next(r for r in book.active.iter_rows(values_only=True) if r[0] == awa.trainee.full_name)
    assert row[2] == ("Absent·e, sans justificatif — signature annulée — corrigé par l'administration le "
                      f"12/03/2030 : {REASON}")


def test_the_trainer_voids_on_the_open_sheet_of_the_day_with_a_reason_and_the_trainee_can_still_sign(trainer):
    session, slot, awa, julien = wrong_row(trainer)
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        with pytest.raises(ServiceError, match="motif de son annulation") as refused:
            attendance.mark(slot, awa, "absent_unjustified", actor=trainer)
        assert refused.value.field == "reason"
        db.session.rollback()
        attendance.mark(slot, awa, "absent_unjustified", actor=trainer, reason=REASON)
        db.session.commit()
    assert attendance.totals_for(awa).attended_minutes == 0
    # Awa arrives after all: the trainer sets her late, she signs her own row.
    with frozen_at(slot.starts_at + timedelta(minutes=40)):
        attendance.mark(slot, awa, "late", actor=trainer, arrival=factories.t("14:35"))
        attendance.sign(slot, awa, factories.signature_data_url(3), method="device", actor=trainer)
        db.session.commit()
    close(slot, trainer)
    row = next(r for r in attendance.slot_sheet(slot).rows if r.enrolment == awa)
    assert row.signature.image_sha256 != row.voided[0].image_sha256 and row.voided[0].voided_reason == REASON
    assert attendance.totals_for(awa).attended_minutes == 205
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    assert "arrivée 14h35, signé à 14h40 — signature annulée (1)" in text
    assert f"(1) Motif de l'annulation de la signature : {REASON}." in text


def test_after_the_day_only_the_office_voids_a_signature_of_a_sheet_left_open(trainer, admin):
    session, slot, awa, julien = wrong_row(trainer)
    with frozen_at(slot.ends_at + timedelta(hours=15)):
        with pytest.raises(ServiceError, match="Le jour de cette demi-journée est passé"):
            attendance.mark(slot, awa, "absent_unjustified", actor=trainer, reason=REASON)
        db.session.rollback()
        attendance.mark(slot, awa, "absent_unjustified", actor=admin, reason=REASON)
        db.session.commit()
    assert attendance.totals_for(awa).attended_minutes == 0


def test_a_trainer_cannot_void_on_a_closed_sheet(trainer):
    session, slot, awa, julien = wrong_row(trainer)
    close(slot, trainer)
    with frozen_at(slot.ends_at - timedelta(minutes=1)), pytest.raises(ServiceError, match="est close"):
        attendance.mark(slot, awa, "absent_unjustified", actor=trainer, reason=REASON)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Signature.id)).where(Signature.voided_at.is_not(None))) == 0


def test_the_database_keeps_one_valid_signature_per_trainee_beside_the_voided_ones(trainer):
    session, slot, awa, julien = wrong_row(trainer)
    png = factories.signature_png()
    voided = db.session.scalar(db.select(Signature).where(Signature.enrolment_id == awa.id))
    voided.voided_at, voided.voided_reason = datetime(2030, 3, 5, 13, 10), REASON
    db.session.add(Signature(slot_id=slot.id, enrolment_id=awa.id, signer_name="x", method="device", image=png,
                             image_sha256="0" * 64))
    db.session.commit()
    db.session.add(Signature(slot_id=slot.id, enrolment_id=awa.id, signer_name="y", method="device", image=png,
                             image_sha256="1" * 64))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.commit()
    db.session.rollback()
    voided = db.session.scalar(db.select(Signature).where(Signature.enrolment_id == julien.id))
    voided.voided_at = datetime(2030, 3, 5, 13, 10)  # without a reason
    with pytest.raises(Exception, match="(?i)check"):
        db.session.commit()
    db.session.rollback()


def test_a_voided_signature_does_not_date_a_withdrawal(trainer, admin):
    """Awa never came: the signature in her row on Wednesday was voided; her withdrawal dated Tuesday
    (the first day) is accepted."""
    factories.make_organisation()
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    tuesday, wednesday = session.slots[0], session.slots[1]
    with frozen_at(wednesday.starts_at + timedelta(minutes=5)):
        attendance.sign(wednesday, awa, factories.signature_data_url(1), method="device", actor=trainer)
        attendance.mark(wednesday, awa, "absent_unjustified", actor=trainer, reason=REASON)
        db.session.commit()
        assert enrolments.last_attended_day(awa) is None
        enrolments.withdraw(awa, tuesday.date, "Jamais venue", actor=admin)
    db.session.rollback()


def test_the_personal_data_export_shows_the_valid_signature_and_the_voided_one_with_its_reason(trainer):
    from training_app.services import personal_data
    session, slot, awa, julien = wrong_row(trainer)
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        attendance.mark(slot, awa, "absent_unjustified", actor=trainer, reason=REASON)
        db.session.commit()
    with frozen_at(slot.starts_at + timedelta(minutes=40)):
        attendance.mark(slot, awa, "late", actor=trainer, arrival=factories.t("14:35"))
        attendance.sign(slot, awa, factories.signature_data_url(3), method="device", actor=trainer)
        db.session.commit()
    [half_day] = personal_data.export(awa.trainee)["inscriptions"][0]["emargement"]
    assert half_day["signature"]["signee_le"].startswith(f"{slot.date.isoformat()}T13:4")  # 14h40 in Paris
    [voided] = half_day["signatures_annulees"]
    assert voided["motif_annulation"] == REASON and voided["annulee_le"]
    assert voided["signee_le"].startswith(f"{slot.date.isoformat()}T13:0")
