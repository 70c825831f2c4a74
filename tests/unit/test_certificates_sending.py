"""Sending certificates by e-mail twice in a row (a double click, two tabs): the second sends nothing of what the
first sent less than RESEND_GAP ago, and says so."""
import threading
from datetime import datetime, timedelta

import pytest

from tests.certificate_course import completed_course
from tests.conftest import is_postgres
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import IssuedCertificate, OutgoingMail, TrainingSession
from training_app.services import ServiceError
from training_app.services import certificates as certificate_service

ISSUED = datetime(2019, 1, 7, 10, 0)


def _issued_course(trainees=("Awa Diallo", "Julien Le Bihan")):
    course = completed_course(trainees=trainees)
    with frozen_at(ISSUED):
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    return course


def test_sending_a_session_twice_within_the_gap_skips_those_just_sent(outbox):
    course = _issued_course()
    with frozen_at(ISSUED + timedelta(minutes=5)):
        assert certificate_service.send_for_session(course.session).sent == 2
        db.session.commit()
    with frozen_at(ISSUED + timedelta(minutes=6)):
        report = certificate_service.send_for_session(course.session)
        db.session.commit()
    assert report.sent == 0
    assert sorted(row.enrolment.trainee.full_name for row in report.skipped) == ["Awa Diallo", "Julien Le Bihan"]
    assert len(outbox) == 2 and db.session.scalar(db.select(db.func.count()).select_from(OutgoingMail)) == 2
    message = certificate_service.skipped_message(report.skipped)
    assert "Awa Diallo" in message and "moins de 2 minutes" in message


def test_after_the_gap_the_documents_are_sent_again(outbox):
    course = _issued_course(("Awa Diallo",))
    with frozen_at(ISSUED + timedelta(minutes=5)):
        certificate_service.send_for_session(course.session)
        db.session.commit()
    with frozen_at(ISSUED + timedelta(minutes=5) + certificate_service.RESEND_GAP + timedelta(seconds=1)):
        report = certificate_service.send_for_session(course.session)
        db.session.commit()
    assert report.sent == 1 and report.skipped == [] and len(outbox) == 2


def test_one_trainee_sent_twice_within_the_gap_is_refused_in_french(outbox):
    course = _issued_course(("Awa Diallo", "Julien Le Bihan"))
    awa, julien = course.enrolments
    with frozen_at(ISSUED + timedelta(minutes=5)):
        certificate_service.send_to_trainee(awa)
        db.session.commit()
    with frozen_at(ISSUED + timedelta(minutes=6)):
        with pytest.raises(ServiceError) as refused:
            certificate_service.send_to_trainee(awa)
        db.session.rollback()
        assert "Awa Diallo" in refused.value.message and "moins de 2 minutes" in refused.value.message
        # the others of the session are still sent, Awa is reported skipped
        report = certificate_service.send_for_session(course.session)
        db.session.commit()
    assert report.sent == 1 and [row.enrolment for row in report.skipped] == [awa]
    assert [m.to for m in outbox] == [[awa.trainee.email], [julien.trainee.email]]


def test_two_sendings_of_a_session_at_once_send_each_trainee_once(app, outbox):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: the session row lock between two transactions is what is tested here")
    course = _issued_course()
    session_id = course.session.id
    db.session.remove()
    barrier, results, errors = threading.Barrier(3), [], []

    def send():
        with app.app_context():
            try:
                barrier.wait()
                report = certificate_service.send_for_session(db.session.get(TrainingSession, session_id))
                db.session.commit()
                results.append((report.sent, len(report.skipped)))
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
            finally:
                db.session.remove()
    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == [(0, 2), (0, 2), (2, 0)]
    assert db.session.scalar(db.select(db.func.count()).select_from(OutgoingMail)) == 2


def test_issuing_from_a_page_shown_before_the_documents_changed_is_refused_and_issues_nothing():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    awa, julien = course.enrolments
    seen = certificate_service.documents_fingerprint(course.session)
    seen_awa = certificate_service.enrolment_overview(awa).documents_seen
    seen_julien = certificate_service.enrolment_overview(julien).documents_seen
    certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)  # someone else, meanwhile
    db.session.commit()
    count = db.session.scalar(db.select(db.func.count()).select_from(IssuedCertificate))

    with pytest.raises(ServiceError) as refused:
        certificate_service.issue_for_session(course.session, unrecorded_confirmed=True, documents_seen=seen)
    db.session.rollback()
    assert "Rechargez la page" in refused.value.message
    with pytest.raises(ServiceError):
        certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True, documents_seen=seen_awa)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(IssuedCertificate)) == count

    # Julien's own documents did not change: his button still works; the page as it is now works too.
    assert len(certificate_service.issue_for_enrolment(julien, unrecorded_confirmed=True,
                                                       documents_seen=seen_julien)) == 2
    db.session.commit()
    report = certificate_service.issue_for_session(
        course.session, reissue=True, unrecorded_confirmed=True,
        documents_seen=certificate_service.documents_fingerprint(course.session))
    assert len(report.issued) == 4


def test_a_withdrawal_changes_what_the_page_saw():
    course = completed_course(trainees=("Awa Diallo",))
    awa = course.enrolments[0]
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    seen = certificate_service.documents_fingerprint(course.session)
    assert certificate_service.documents_fingerprint(course.session) == seen
    certificate_service.withdraw(certificate_service.current_documents(awa).values(), "test")
    db.session.commit()
    assert certificate_service.documents_fingerprint(course.session) != seen
