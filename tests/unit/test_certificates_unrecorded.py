"""Issuing attestations to trainees whose outcomes were never recorded takes an explicit confirmation: they would
print "Non évalué" for every such objective, which only a new version can change. A trainer's explicit "non
évalué" is recorded, so it counts as recorded."""
import pytest

from tests.certificate_course import assess, completed_course
from training_app.extensions import db
from training_app.models import IssuedCertificate
from training_app.services import ServiceError, outcomes
from training_app.services import certificates as certificate_service

ALL_ACQUIRED = {1: ("acquired", ""), 2: ("acquired", ""), 3: ("acquired", "")}


def _issued() -> int:
    return db.session.scalar(db.select(db.func.count(IssuedCertificate.id)))


def test_a_session_with_outcomes_never_recorded_is_refused_naming_the_trainees_then_issued_once_confirmed():
    course = completed_course()
    awa, julien, sophie = course.enrolments
    assess(course, awa, ALL_ACQUIRED)
    assess(course, julien, {1: ("acquired", "")})

    with pytest.raises(ServiceError) as refused:
        certificate_service.issue_for_session(course.session)
    db.session.rollback()
    assert refused.value.field == "confirm_unrecorded"
    message = refused.value.message
    assert "Acquis jamais renseignés" in message and "« Non évalué »" in message
    assert "Julien Le Bihan (2 objectifs sur 3)" in message and "Sophie Renaud (3 objectifs sur 3)" in message
    assert "Awa Diallo" not in message
    assert _issued() == 0

    report = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    assert len(report.issued) == 6


def test_an_explicit_not_assessed_counts_as_recorded_and_the_session_issues_without_confirmation():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    awa, julien = course.enrolments
    assess(course, awa, ALL_ACQUIRED)
    assess(course, julien, {1: ("acquired", ""), 2: ("not_assessed", ""), 3: ("not_assessed", "")})
    assert outcomes.unrecorded_for_session(course.session) == {}

    report = certificate_service.issue_for_session(course.session)
    db.session.commit()
    assert len(report.issued) == 4


def test_only_the_trainees_who_get_documents_now_are_checked():
    course = completed_course(no_show=(2,))  # Sophie attended nothing: she gets no document
    awa, julien, _sophie = course.enrolments
    assess(course, awa, ALL_ACQUIRED)
    assess(course, julien, ALL_ACQUIRED)
    report = certificate_service.issue_for_session(course.session)
    db.session.commit()
    assert len(report.issued) == 4 and [e.trainee.full_name for e in report.without_attendance] == ["Sophie Renaud"]


def test_documents_kept_as_they_are_need_no_confirmation_reissuing_them_does():
    course = completed_course(trainees=("Karim Benali",))
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    assert certificate_service.issue_for_session(course.session).already_issued == 1
    with pytest.raises(ServiceError, match=r"Karim Benali \(3 objectifs sur 3\)"):
        certificate_service.issue_for_session(course.session, reissue=True)
    db.session.rollback()
    assert _issued() == 2


def test_one_trainee_is_refused_without_confirmation_and_nothing_is_written():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    awa, julien = course.enrolments
    assess(course, awa, {1: ("acquired", ""), 3: ("partly_acquired", "À consolider")})
    with pytest.raises(ServiceError, match=r"Awa Diallo \(1 objectif sur 3\)") as refused:
        certificate_service.issue_for_enrolment(awa)
    db.session.rollback()
    assert "Julien" not in refused.value.message and _issued() == 0

    documents = certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    db.session.commit()
    assert len(documents) == 2
    attestation = next(doc for doc in documents if doc.kind == "attestation")
    assert [row["code"] for row in attestation.results] == ["acquired", "not_assessed", "partly_acquired"]


def test_the_other_refusals_come_first():
    course = completed_course(leave_open=[(12, 14)])
    with pytest.raises(ServiceError, match="ne sont pas clôturées"):
        certificate_service.issue_for_session(course.session)
    db.session.rollback()
