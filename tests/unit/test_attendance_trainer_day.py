"""What a trainer's signature of a sheet vouches for: the sheet as the trainer left it on the half-day's day.

- A trainer marks on the half-day's day only; afterwards the sheet is the office's.
- A reopening voids the trainer's signature (kept, shown as voided): closing again takes a new signature of
  the day, or the office's closing with a reason; the Word and Excel sheets never print the old one as valid.
- A signed trainee's times agree with their signature.
- The trainer's signature is "missing" only once the trainer can sign (closing_opens).
"""
import io
from datetime import timedelta

import openpyxl
import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.models import AttendanceRecord, AuditEntry, Signature
from training_app.services import ServiceError, attendance

DAY_OVER = "Le jour de cette demi-journée est passé"


def signed_and_closed(trainer, trainees=2):
    """Wednesday morning (9:30-12:30): everyone signs at 9:35, the trainer signs and closes at 12:25."""
    factories.make_organisation()
    session, enrolments = factories.make_attendance_session(trainees=trainees, trainers=[trainer])
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        for n, enrolment in enumerate(enrolments):
            attendance.sign(slot, enrolment, factories.signature_data_url(n + 1), method="device")
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        attendance.close_slot(slot, trainer, factories.signature_data_url(9))
    db.session.commit()
    return session, slot, enrolments


def trainer_signatures(slot):
    return list(db.session.scalars(db.select(Signature).where(Signature.slot_id == slot.id,
                                                              Signature.trainer_id.is_not(None))
                                   .order_by(Signature.id)))


def record_of(slot, enrolment):
    return db.session.scalar(db.select(AttendanceRecord).where(AttendanceRecord.slot_id == slot.id,
                                                               AttendanceRecord.enrolment_id == enrolment.id))


def test_a_trainer_marks_on_the_half_days_day_only_then_the_office_does(trainer, admin):
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        attendance.sign(slot, awa, factories.signature_data_url(1), method="device")
        db.session.commit()
    with frozen_at(slot.ends_at + timedelta(hours=11)):  # 23:30 the same day: still the trainer's
        attendance.mark(slot, julien, "absent_unjustified", actor=trainer)
        db.session.commit()
    with frozen_at(slot.ends_at + timedelta(days=5)):  # the sheet was never closed; five days later
        with pytest.raises(ServiceError, match=DAY_OVER) as refused:
            attendance.mark(slot, awa, "late", actor=trainer, arrival=factories.t("9:35"))
        # the office changes an open sheet without a reason: the message does not say one is needed
        assert "administrateur·rice" in refused.value.message and "motif" not in refused.value.message
        db.session.rollback()
        with pytest.raises(ServiceError, match=DAY_OVER):
            attendance.mark(slot, julien, "absent_justified", actor=trainer, justification="Malade")
        db.session.rollback()
        attendance.mark(slot, julien, "absent_justified", actor=admin, justification="Malade")
        db.session.commit()
    db.session.expire_all()
    assert record_of(slot, awa).status == "present" and record_of(slot, awa).minutes_attended == 180
    assert record_of(slot, julien).status == "absent_justified"


def test_a_reopening_voids_the_trainers_signature_and_the_trainer_signs_again_that_day(trainer, admin):
    session, slot, (awa, julien) = signed_and_closed(trainer)
    (old,) = trainer_signatures(slot)
    with frozen_at(slot.ends_at + timedelta(hours=1)):  # 13:30, the same day
        attendance.reopen_slot(slot, admin, "Départ de Julien oublié")
        db.session.commit()
        attendance.mark(slot, julien, "left_early", actor=trainer, departure=factories.t("12:00"))
        with pytest.raises(ServiceError, match="Signez la feuille"):
            attendance.close_slot(slot, trainer)  # the old signature no longer validates a closing
        db.session.rollback()
        attendance.mark(slot, julien, "left_early", actor=trainer, departure=factories.t("12:00"))
        attendance.close_slot(slot, trainer, factories.signature_data_url(8))
        db.session.commit()
    voided, new = trainer_signatures(slot)
    assert voided.id == old.id and voided.image_sha256 == old.image_sha256  # kept, not deleted
    assert (voided.voided_by_id, voided.voided_reason) == (
        admin.id, "Feuille rouverte (motif dans l'historique de la feuille)")
    assert new.voided_at is None and new.trainer_id == trainer.id
    data = attendance.slot_sheet(slot)
    assert data.is_closed and data.trainer_signatures == [new] and data.voided_trainer_signatures == [voided]
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "reopened"))
    assert [(v["signature_id"], v["image_sha256"]) for v in entry.details["trainer_signatures_voided"]] == [
        (old.id, old.image_sha256)]
    closed, reopened, closed_again = attendance.versions(slot)
    assert [t["name"] for t in closed.snapshot["trainers"]] == [trainer.name]
    assert reopened.snapshot["trainers"] == [] and len(reopened.snapshot["trainers_voided"]) == 1
    assert closed_again.action == "closed" and len(closed_again.snapshot["trainers"]) == 1
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    assert f"{trainer.name}, signé à 13h30 — signature de {trainer.name} (12h25) annulée à la réouverture du " \
           "06/03/2030" in text
    assert "signé à 12h25" not in text


def test_days_later_a_reopened_sheet_is_changed_and_closed_by_the_office_only(app, trainer, admin):
    session, slot, (awa, julien) = signed_and_closed(trainer)
    with frozen_at(slot.ends_at + timedelta(days=3)):
        attendance.reopen_slot(slot, admin, "Corriger l'heure de départ de Julien")
        db.session.commit()
        with pytest.raises(ServiceError, match=DAY_OVER):
            attendance.mark(slot, awa, "left_early", actor=trainer, departure=factories.t("10:00"))
        db.session.rollback()
        with pytest.raises(ServiceError, match=DAY_OVER):
            attendance.close_slot(slot, trainer)
        db.session.rollback()
        with pytest.raises(ServiceError, match="le jour même"):
            attendance.close_slot(slot, trainer, factories.signature_data_url(8))
        db.session.rollback()
        attendance.mark(slot, julien, "left_early", actor=admin, departure=factories.t("12:00"))
        with pytest.raises(ServiceError, match="La réouverture a annulé la signature"):
            attendance.close_slot(slot, admin)
        db.session.rollback()
        attendance.mark(slot, julien, "left_early", actor=admin, departure=factories.t("12:00"))
        attendance.close_slot(slot, admin, reason="Départ de Julien corrigé")
        db.session.commit()
    assert record_of(slot, awa).status == "present"
    assert attendance.versions(slot)[-1].action == "closed_by_office"
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    assert ("Clôturée par l'administration sans signature du / de la formateur·rice : Départ de Julien corrigé — "
            f"signature de {trainer.name} (12h25) annulée à la réouverture du 09/03/2030") in text
    assert "signé à 12h25" not in text  # the trainer's signature of Wednesday no longer vouches for the sheet
    book = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session)))
    trainer_row = next(r for r in book.active.iter_rows(values_only=True) if r[0] == "Formateur·rice")
    assert trainer_row[3].startswith("Clôturée par l'administration") and "annulée à la réouverture" in trainer_row[3]


def test_a_signed_trainees_arrival_and_departure_agree_with_the_signature_time(trainer, admin):
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[1]  # 9:30-12:30
    with frozen_at(slot.starts_at + timedelta(minutes=20, seconds=40)):  # 9:50:40
        attendance.sign(slot, awa, factories.signature_data_url(1), method="device")
        attendance.sign(slot, julien, factories.signature_data_url(2), method="device")
        db.session.commit()
    with frozen_at(slot.starts_at + timedelta(minutes=150)):  # 12:00
        with pytest.raises(ServiceError, match="a signé à 9h50 : son heure d'arrivée \\(11h00\\)") as refused:
            attendance.mark(slot, awa, "late", actor=trainer, arrival=factories.t("11:00"))
        assert refused.value.field == "arrival_time"
        db.session.rollback()
        with pytest.raises(ServiceError, match="a signé à 9h50 : son heure de départ \\(9h45\\)") as refused:
            attendance.mark(slot, julien, "left_early", actor=trainer, departure=factories.t("9:45"))
        assert refused.value.field == "departure_time"
        db.session.rollback()
        attendance.mark(slot, awa, "late", actor=trainer, arrival=factories.t("9:50"))  # the minute it shows
        attendance.mark(slot, julien, "left_early", actor=trainer, departure=factories.t("9:50"))
        attendance.close_slot(slot, trainer, factories.signature_data_url(9))
        db.session.commit()
    with frozen_at(slot.ends_at + timedelta(days=2)), pytest.raises(ServiceError, match="son heure d'arrivée"):
        attendance.mark(slot, awa, "late", actor=admin, arrival=factories.t("10:30"), reason="Retard")
    db.session.rollback()
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    assert "arrivée 9h50, signé à 9h50" in text and "départ 9h50, signé à 9h50" in text


def test_the_trainers_signature_is_missing_only_once_it_can_be_given(trainer):
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    slot = session.slots[1]  # 9:30-12:30: the trainer signs from 12:00 (closing_opens)

    def trainer_state():
        grid = attendance.session_grid(session)
        book = openpyxl.load_workbook(io.BytesIO(attendance_sheet.excel_grid(session)))
        row = next(r for r in book.active.iter_rows(values_only=True) if r[0] == "Formateur·rice")
        return grid.columns[1].trainer_missing, grid.columns[1].missing, row[3]

    with frozen_at(slot.starts_at + timedelta(minutes=20)):
        attendance.sign(slot, awa, factories.signature_data_url(), method="device")
        db.session.commit()
        assert trainer_state() == (False, 0, None)
    with frozen_at(attendance.closing_opens(slot)):
        assert trainer_state() == (True, 0, "signature manquante")


def test_a_justified_absence_keeps_its_reason_when_left_blank(trainer):
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=20)):
        with pytest.raises(ServiceError, match="motif de l'absence justifiée"):
            attendance.mark(slot, awa, "absent_justified", actor=trainer)
        db.session.rollback()
        attendance.mark(slot, awa, "absent_justified", actor=trainer, justification="Hospitalisation")
        attendance.mark(slot, awa, "absent_justified", actor=trainer)  # the open sheet does not show the reason
        db.session.commit()
    assert record_of(slot, awa).justification == "Hospitalisation"


def test_a_trainee_marked_late_who_signs_earlier_arrived_at_her_signatures_time(trainer):
    """Marked late first, then signing before that arrival: the signature proves her there, the arrival (and the
    minutes) follow it, and the audit entry of the signature keeps the record before and after."""
    session, (awa, julien, sophie) = factories.make_attendance_session(trainees=3, trainers=[trainer])
    slot = session.slots[1]  # 9:30-12:30; trainees sign from 9:15
    with frozen_at(slot.starts_at - timedelta(minutes=10)):  # 9:20: announced late by phone
        attendance.mark(slot, awa, "late", actor=trainer, arrival=factories.t("10:30"))
        attendance.mark(slot, julien, "late", actor=trainer, arrival=factories.t("10:30"),
                        departure=factories.t("12:00"))
        attendance.mark(slot, sophie, "late", actor=trainer, arrival=factories.t("10:30"))
        db.session.commit()
    with frozen_at(slot.starts_at - timedelta(minutes=5)):  # 9:25, before the start: not late at all
        attendance.sign(slot, sophie, factories.signature_data_url(3), method="device", actor=trainer)
        attendance.sign(slot, julien, factories.signature_data_url(2), method="qr", as_trainee=True)
        db.session.commit()
    with frozen_at(slot.starts_at + timedelta(minutes=10, seconds=40)):  # 9:40:40
        attendance.sign(slot, awa, factories.signature_data_url(1), method="qr", as_trainee=True)
        db.session.commit()
    db.session.expire_all()
    states = {e.id: (r.status, r.arrival_time, r.departure_time, r.minutes_attended)
              for e in (awa, julien, sophie) for r in [record_of(slot, e)]}
    assert states == {awa.id: ("late", factories.t("9:40"), None, 170),
                      julien.id: ("left_early", None, factories.t("12:00"), 150),
                      sophie.id: ("present", None, None, 180)}
    signed = {e.details["enrolment_id"]: e for e in db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "signed"))}
    assert (signed[awa.id].details["before"]["arrival"], signed[awa.id].details["after"]["arrival"]) == (
        "10:30", "09:40")
    assert signed[awa.id].details["after"]["minutes"] == 170
    assert signed[sophie.id].details["after"]["status"] == "present"
    text = factories.docx_text(attendance_sheet.word_sheet(session))
    assert "arrivée 9h40, signé à 9h40" in text and "10h30" not in text


def test_a_trainee_marked_gone_cannot_sign_after_her_departure(trainer):
    """Marked as having left at 10:00, a signature at 10:40 would say she was there: refused, to her (she sees
    the trainer) and on the trainer's device (correct the departure first, if she came back)."""
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[1]  # 9:30-12:30
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        attendance.mark(slot, awa, "left_early", actor=trainer, departure=factories.t("10:00"))
        attendance.mark(slot, julien, "left_early", actor=trainer, departure=factories.t("10:00"))
        attendance.sign(slot, julien, factories.signature_data_url(2), method="device", actor=trainer)  # 9:35
        db.session.commit()
    with frozen_at(slot.starts_at + timedelta(minutes=70)):  # 10:40
        with pytest.raises(ServiceError, match="^Vous êtes noté·e parti·e à 10h00 sur cette demi-journée") as refused:
            attendance.sign(slot, awa, factories.signature_data_url(1), method="qr", as_trainee=True)
        assert "formateur·rice" in refused.value.message and refused.value.field == "signature"
        db.session.rollback()
        with pytest.raises(ServiceError, match=f"^{awa.trainee.full_name} est noté·e parti·e à 10h00 sur cette "
                                               "demi-journée : corrigez d'abord son heure de départ"):
            attendance.sign(slot, awa, factories.signature_data_url(1), method="device", actor=trainer)
        db.session.rollback()
        attendance.mark(slot, awa, "present", actor=trainer)  # she came back
        attendance.sign(slot, awa, factories.signature_data_url(1), method="device", actor=trainer)
        db.session.commit()
    db.session.expire_all()
    assert (record_of(slot, awa).status, record_of(slot, awa).minutes_attended) == ("present", 180)
    assert (record_of(slot, julien).departure_time, record_of(slot, julien).minutes_attended) == (
        factories.t("10:00"), 30)
