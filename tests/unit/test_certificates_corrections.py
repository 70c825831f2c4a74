"""Certificates after a correction: no attendance left withdraws them, a changed result flags them."""
import pytest

from tests.certificate_course import assess, completed_course, corrected_to_no_attendance
from training_app.extensions import db
from training_app.models import AuditEntry
from training_app.services import ServiceError, attendance, programmes
from training_app.services import certificates as certificate_service


def test_reissuing_withdraws_the_documents_of_a_trainee_left_with_no_attendance():
    course, sophie, slot, admin, issued = corrected_to_no_attendance()
    row = next(r for r in certificate_service.session_overview(course.session) if r.enrolment.id == sophie.id)
    assert row.outdated and row.hours_outdated

    report = certificate_service.issue_for_session(course.session, reissue=True, unrecorded_confirmed=True)
    db.session.commit()
    assert sorted(doc.number for doc in report.withdrawn) == sorted(doc.number for doc in issued.values())
    assert sophie in report.without_attendance
    assert certificate_service.current_documents(sophie) == {}
    for doc in issued.values():
        assert not doc.is_current and doc.is_withdrawn and doc.replaced_by is None
        assert "aucune demi-journée suivie" in doc.withdrawn_reason
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(AuditEntry.action == "withdrawn")) == 2
    row = next(r for r in certificate_service.session_overview(course.session) if r.enrolment.id == sophie.id)
    assert not row.outdated and set(row.withdrawn) == {"attestation", "realisation"}
    with pytest.raises(ServiceError, match="aucune demi-journée"):
        certificate_service.issue_for_enrolment(sophie, unrecorded_confirmed=True)
    db.session.rollback()

    # she was there after all: a new version replaces the withdrawn one, whose withdrawal stays in the history
    withdrawn_at = issued["realisation"].replaced_at
    attendance.mark(slot, sophie, "present", actor=admin, reason="Vérifié avec la formatrice")
    db.session.commit()
    new = {doc.kind: doc for doc in certificate_service.issue_for_enrolment(sophie, unrecorded_confirmed=True)}
    db.session.commit()
    assert new["realisation"].version == 2 and issued["realisation"].replaced_by == new["realisation"]
    assert issued["realisation"].replaced_at == withdrawn_at and issued["realisation"].is_withdrawn


def test_issuing_without_reissuing_keeps_outdated_documents_and_lists_them():
    course, sophie, _slot, _admin, issued = corrected_to_no_attendance()
    report = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    assert (report.issued, report.withdrawn, report.without_attendance, report.already_issued) == ([], [], [], 2)
    assert [row.enrolment for row in report.outdated] == [sophie] and report.outdated[0].hours_outdated
    assert certificate_service.current_documents(sophie) == issued
    # with no other trainee to issue for, her documents are still named rather than refused as "nobody attended"
    db.session.rollback()
    only = corrected_to_no_attendance()[0]
    for enrolment in only.enrolments[:2]:
        enrolment.status = "cancelled"
    db.session.commit()
    report = certificate_service.issue_for_session(only.session, unrecorded_confirmed=True)
    assert [row.enrolment.trainee.full_name for row in report.outdated] == ["Sophie Renaud"]


def test_reissuing_one_trainee_left_with_no_attendance_withdraws_their_documents():
    _course, sophie, _slot, _admin, issued = corrected_to_no_attendance()
    assert certificate_service.issue_for_enrolment(sophie, unrecorded_confirmed=True) == []
    db.session.commit()
    assert certificate_service.current_documents(sophie) == {}
    assert all(doc.is_withdrawn for doc in issued.values())


def test_a_result_changed_after_issuing_flags_the_attestation_until_reissued():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    awa, julien = course.enrolments
    assess(course, awa, {1: ("acquired", ""), 2: ("acquired", ""), 3: ("acquired", "")})
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    documents = certificate_service.current_documents(awa)
    assert documents["attestation"].results[2] == {
        "objective": "Adopter une posture adaptée à chaque interlocuteur", "code": "acquired", "comment": ""}
    assert documents["realisation"].results is None

    def outdated():
        return {row.enrolment.id: row.results_outdated and row.outdated
                for row in certificate_service.session_overview(course.session)}

    assert outdated() == {awa.id: False, julien.id: False}
    assess(course, awa, {3: ("not_acquired", "")})  # the trainer corrects: objective 3 was not acquired
    assert outdated() == {awa.id: True, julien.id: False}
    certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    db.session.commit()
    assert outdated() == {awa.id: False, julien.id: False}
    # a comment added changes what the attestation would say too; an objective reworded in the catalogue
    # afterwards does not: the session keeps the wording it was taught under
    assess(course, julien, {1: ("not_assessed", "Absent lors de l'exercice")})
    assert outdated() == {awa.id: False, julien.id: True}
    texts = [o.text for o in course.programme.objectives]
    programmes.save_programme(course.programme, {}, [texts[0] + " (reformulé)"] + texts[1:])
    db.session.commit()
    assert outdated() == {awa.id: False, julien.id: True}
