"""What a trainer's signature of a sheet vouches for, and when it is asked for.

- A signed trainee's times agree with their signature.
- The trainer's signature is "missing" only once the trainer can sign (closing_opens).
- The sheet handed round for signing does not show absence reasons: left blank there, a reason stays.
"""
import io
from datetime import timedelta

import openpyxl
import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.documents import attendance_sheet
from training_app.extensions import db
from training_app.models import AttendanceRecord
from training_app.services import ServiceError, attendance


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


def record_of(slot, enrolment):
    return db.session.scalar(db.select(AttendanceRecord).where(AttendanceRecord.slot_id == slot.id,
                                                               AttendanceRecord.enrolment_id == enrolment.id))


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
