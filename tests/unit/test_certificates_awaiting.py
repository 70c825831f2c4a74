"""The dashboard's sessions waiting for certificates: those whose trainees (confirmed, or who dropped out) attended
something, none of them with documents yet."""
from tests.certificate_course import completed_course
from training_app.extensions import db
from training_app.services import certificates as certificate_service


def test_a_session_nobody_attended_is_not_waiting_for_certificates():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"), no_show=[0, 1])
    assert certificate_service.sessions_awaiting_certificates() == []
    assert course.session.status == "completed"


def test_a_session_only_a_trainee_who_dropped_out_attended_is_waiting():
    course = completed_course(trainees=("Julien Le Bihan",))
    julien = course.enrolments[0]
    julien.status, julien.withdrawn_on = "withdrawn", course.session.end_at.date()
    db.session.commit()
    assert certificate_service.sessions_awaiting_certificates() == [course.session]
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    assert certificate_service.sessions_awaiting_certificates() == []
