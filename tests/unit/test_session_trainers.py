"""A trainer who signed a half-day sheet of a session stays one of its trainers: the sheets print the session's
trainers, the annual report counts their hours, and they keep access to the session they taught."""
from dataclasses import replace
from datetime import timedelta

import pytest

from tests import factories
from tests.certificate_course import completed_course
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceSheet, TrainingSession
from training_app.services import ServiceError, attendance
from training_app.services import sessions as session_service


def _data(session, trainers):
    return session_service.SessionData(
        programme=session.programme, start_at=session.start_at, end_at=session.end_at, place=session.place,
        access_info=session.access_info, modality=session.modality, capacity=session.capacity,
        price_cents=session.price_cents, status=session.status, contact_person=session.contact_person,
        trainers=tuple(trainers))


def _trainer_names(session_id):
    db.session.expire_all()
    return [t.name for t in db.session.get(TrainingSession, session_id).trainers]


def test_a_trainer_who_signed_the_sheets_cannot_be_removed_one_who_did_not_can_and_adding_is_allowed():
    camille = factories.make_user("trainer", name="Camille Le Gall")  # signs and closes every half-day
    yann = factories.make_user("trainer", name="Yann Morvan")
    course = completed_course(trainers=[camille, yann])
    session, session_id = course.session, course.session.id

    with pytest.raises(ServiceError) as refused:
        session_service.update_session(session, replace(_data(session, [yann]), place="Ailleurs"))
    db.session.rollback()
    assert refused.value.field == "trainers"
    assert refused.value.message.startswith("Camille Le Gall a signé des feuilles d'émargement de cette session")
    assert _trainer_names(session_id) == ["Camille Le Gall", "Yann Morvan"]
    assert db.session.get(TrainingSession, session_id).place != "Ailleurs"

    session = db.session.get(TrainingSession, session_id)
    ines = factories.make_user("trainer", name="Inès Moreau")
    session_service.update_session(session, _data(session, [camille, ines]))  # Yann never signed: he goes
    db.session.commit()
    assert _trainer_names(session_id) == ["Camille Le Gall", "Inès Moreau"]


def test_a_trainer_who_closed_a_sheet_signed_on_paper_stays_and_an_office_closing_does_not_count():
    camille = factories.make_user("trainer", name="Camille Le Gall")
    admin = factories.make_user("admin", name="Claire Bernard")
    session, enrolments = factories.make_attendance_session(trainees=1, trainers=[camille, admin])
    first, second = session.slots[:2]
    with frozen_at(first.starts_at + timedelta(minutes=5)):
        attendance.mark(first, enrolments[0], "absent_unjustified", actor=camille)
    # the room used paper: its scan is attached to the sheet
    db.session.scalar(db.select(AttendanceSheet).where(AttendanceSheet.slot_id == first.id)).scan_path = "scan.pdf"
    with frozen_at(first.ends_at - timedelta(minutes=5)):
        attendance.close_slot(first, camille)  # the paper sheet, scanned: no electronic signature
    with frozen_at(second.starts_at + timedelta(minutes=5)):
        attendance.mark(second, enrolments[0], "absent_unjustified", actor=camille)
    with frozen_at(second.ends_at + timedelta(days=1)):  # nobody signed on the day: the office closes it
        attendance.close_slot(second, admin, reason="Formatrice partie sans signer")
    db.session.commit()

    with frozen_at(second.ends_at + timedelta(days=1)):
        with pytest.raises(ServiceError, match="Camille Le Gall a signé"):
            session_service.update_session(session, _data(session, [admin]))
        db.session.rollback()
        session = db.session.get(TrainingSession, session.id)
        session_service.update_session(session, _data(session, [camille]))  # the office's closing is no signature
        db.session.commit()
    assert _trainer_names(session.id) == ["Camille Le Gall"]
