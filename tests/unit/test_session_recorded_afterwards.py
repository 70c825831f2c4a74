"""« Session déjà réalisée »: a session recorded once it took place, from its paper attendance sheets
(create_session(recorded_afterwards=True)). Its dates may be past; the office enrols into it and adds half-days
to it though it is over; nobody signs it in the application (attendance.signs_in_app): the office enters each
half-day's statuses from the paper sheet, attaches its scan, which stands for the signatures, and closes it.
Certificates then read those statuses as for any session."""
import io
from datetime import datetime, time

import pytest
from werkzeug.datastructures import FileStorage

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, EnrolmentStatus
from training_app.services import ServiceError, attendance
from training_app.services import certificates as certificate_service
from training_app.services import enrolments as enrolment_service
from training_app.services import registrations
from training_app.services import sessions as session_service

NOW = datetime(2030, 3, 20, 10, 0)  # the course ran from Tue 5 March 14:00 to Fri 8 March 12:30 (6 half-days, 21 h)


def _data(programme, **changes):
    return session_service.SessionData(**{
        "programme": programme, "start_at": datetime(2030, 3, 5, 14), "end_at": datetime(2030, 3, 8, 12, 30),
        "capacity": 2, "status": "running", "place": "4 rue du Bourbonnais, Rennes", **changes})


def recorded_session(admin, **changes):
    with frozen_at(NOW):
        session = session_service.create_session(_data(factories.make_programme(), **changes),
                                                 recorded_afterwards=True)
        db.session.commit()
    return session


def paper_scan():
    return FileStorage(io.BytesIO(b"%PDF-1.4 la feuille papier signee"), filename="feuille.pdf")


def test_a_past_session_is_refused_without_the_box_and_the_refusal_names_it():
    with frozen_at(NOW), pytest.raises(ServiceError) as refused:
        session_service.create_session(_data(factories.make_programme()))
    assert refused.value.field == "end_date"
    assert "cochez « Session déjà réalisée : je la saisis à partir des feuilles d'émargement papier »" in \
        refused.value.message


def test_with_the_box_it_is_kept_as_recorded_afterwards_and_its_history_says_so():
    with frozen_at(NOW):
        session = session_service.create_session(_data(factories.make_programme()), recorded_afterwards=True)
        db.session.commit()
    assert session.recorded_afterwards and len(session.slots) == 6 and session.planned_minutes == 21 * 60
    [entry] = db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_type == "training_sessions",
                                                            AuditEntry.entity_id == session.id)).all()
    assert entry.action == "created" and entry.details == {"recorded_afterwards": True}


def test_the_office_enrols_into_it_once_over_within_its_capacity(admin):
    session = recorded_session(admin)  # 2 places
    with frozen_at(NOW):
        first, second, third = (enrolment_service.enrol(session, factories.make_trainee(), actor=admin)
                                for _ in range(3))
        db.session.commit()
    assert [first.status, second.status] == [EnrolmentStatus.CONFIRMED] * 2
    assert third.status != EnrolmentStatus.CONFIRMED  # no seat beyond the capacity


def test_a_session_over_not_recorded_afterwards_still_takes_no_enrolment():
    session = factories.make_session()
    with frozen_at(NOW), pytest.raises(ServiceError, match="Cette session est terminée"):
        enrolment_service.enrol(session, factories.make_trainee())


def test_a_session_still_to_come_is_not_recorded_afterwards():
    with frozen_at(datetime(2030, 3, 5, 13, 59)), pytest.raises(ServiceError) as refused:
        session_service.create_session(_data(factories.make_programme()), recorded_afterwards=True)
    assert refused.value.field == "recorded_afterwards"
    assert refused.value.message.startswith("Une session déjà réalisée a commencé : son début (05/03/2030 à 14h00) "
                                            "est à venir.")


def test_the_public_cannot_register_to_it(admin):
    """Not even to one marked open for registrations."""
    with frozen_at(NOW):
        session = session_service.create_session(_data(factories.make_programme(), status="open"),
                                                 recorded_afterwards=True)
        db.session.commit()
        assert registrations.closed_to_registration(session)
        with pytest.raises(ServiceError, match="Les inscriptions à cette session sont closes"):
            enrolment_service.enrol(session, factories.make_trainee(), public=True)


def test_it_takes_a_half_day_in_the_past(admin):
    session = recorded_session(admin)
    with frozen_at(NOW):
        session_service.add_slot(session, datetime(2030, 3, 11).date(), time(9, 30), time(12, 30))
        db.session.commit()
    assert len(session.slots) == 7 and session.end_at == datetime(2030, 3, 11, 12, 30)
    other = factories.make_session()
    with frozen_at(NOW), pytest.raises(ServiceError, match="terminée"):
        session_service.add_slot(other, datetime(2030, 3, 11).date(), time(9, 30), time(12, 30))


def test_nobody_signs_it_in_the_application(admin, trainer):
    """Not a trainee on the trainer's device nor through their personal link, not the trainer: even while one
    of its half-days runs, a signature drawn now would be made after the fact."""
    with frozen_at(datetime(2030, 3, 5, 14, 10)):  # entered as its first half-day runs
        session = session_service.create_session(_data(factories.make_programme(), trainers=(trainer,)),
                                                 recorded_afterwards=True)
        db.session.commit()
    session.modality = "remote"  # where the personal link alone would be enough
    enrolment = factories.make_enrolment(session)
    slot = session.slots[0]
    with frozen_at(datetime(2030, 3, 5, 14, 30)):  # the half-day runs
        assert not attendance.is_signing_open(slot) and attendance.signable_slot(session) is None
        with pytest.raises(ServiceError, match="saisie a posteriori"):
            attendance.sign(slot, enrolment, factories.signature_data_url(1), method="device", actor=trainer)
        with pytest.raises(ServiceError, match="saisie a posteriori"):
            attendance.sign_as_trainee(slot, enrolment.trainee, factories.signature_data_url(1))
    with frozen_at(datetime(2030, 3, 5, 17, 55)):
        with pytest.raises(ServiceError, match="saisie a posteriori"):
            attendance.close_slot(slot, trainer, factories.signature_data_url(9))


def test_the_office_enters_the_paper_sheets_and_the_certificate_counts_those_hours(admin):
    """Enrolled today, the trainees are expected on every half-day (the paper sheets list them); each sheet is
    closed once its scan is attached, the scan standing for the signatures; the certificate counts the hours
    entered: Awa absent on Friday morning (3 h) attended 18 h of the 21."""
    factories.make_organisation()
    session = recorded_session(admin)
    with frozen_at(NOW):
        awa = enrolment_service.enrol(session, factories.make_trainee(first_name="Awa"), actor=admin)
        db.session.commit()
        for slot in session.slots:
            assert [row.enrolment.id for row in attendance.slot_sheet(slot).rows] == [awa.id]
            absent = slot.date == datetime(2030, 3, 8).date()
            attendance.mark(slot, awa, "absent_unjustified" if absent else "present", actor=admin)
            with pytest.raises(ServiceError, match="Joignez d'abord le scan de la feuille papier"):
                attendance.close_slot(slot, admin)
            attendance.attach_scan(slot, paper_scan(), admin)
            sheet = attendance.close_slot(slot, admin)
            assert sheet.is_closed and not sheet.office_closing_reason
            db.session.commit()
        assert attendance.totals_for(awa).attended_minutes == 18 * 60
        report = certificate_service.issue_for_session(session, unrecorded_confirmed=True, actor=admin)
        db.session.commit()
    assert {doc.attended_minutes for doc in report.issued} == {18 * 60}
