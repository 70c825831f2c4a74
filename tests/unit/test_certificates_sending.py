"""Sending certificates by e-mail twice in a row (a double click, two tabs): the second sends nothing of what the
first sent less than RESEND_GAP ago, and says so."""
import threading
from datetime import datetime, timedelta

import pytest

from tests.certificate_course import completed_course
from tests.conftest import is_postgres
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import IssuedCertificate, MailStatus, OutgoingMail, TrainingSession
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


def _refused_by_the_relay(enrolment, status=MailStatus.FAILED):
    """The relay refused the address at once (services/mail: the sender marks the row failed)."""
    record = db.session.scalars(db.select(OutgoingMail).where(OutgoingMail.tag == f"certificates:{enrolment.id}")
                                .order_by(OutgoingMail.id.desc())).first()
    record.status, record.error = status, "550 5.1.1 Adresse inconnue"
    db.session.commit()


@pytest.mark.parametrize("status", [MailStatus.FAILED, MailStatus.DISMISSED])
def test_a_sending_whose_email_failed_does_not_hold_back_the_next_one(outbox, status):
    course = _issued_course(("Awa Diallo", "Julien Le Bihan"))
    awa, julien = course.enrolments
    with frozen_at(ISSUED + timedelta(minutes=5)):
        assert certificate_service.send_for_session(course.session).sent == 2
        db.session.commit()
    _refused_by_the_relay(awa, status)
    awa.trainee.email = "awa.diallo@exemple.fr"  # the office corrects the address
    db.session.commit()
    with frozen_at(ISSUED + timedelta(minutes=6)):
        certificate_service.send_to_trainee(awa)  # not refused: the first one never left
        db.session.commit()
    assert outbox[-1].to == ["awa.diallo@exemple.fr"]
    _refused_by_the_relay(awa, status)
    with frozen_at(ISSUED + timedelta(minutes=6, seconds=30)):
        report = certificate_service.send_for_session(course.session)
        db.session.commit()
    # Awa's failed again: sent again; Julien's e-mail did not fail: his documents are not sent twice
    assert report.sent == 1 and [row.enrolment for row in report.skipped] == [julien]
    assert [m.to for m in outbox][-1] == ["awa.diallo@exemple.fr"] and len(outbox) == 4


def test_a_sending_whose_email_is_still_on_its_way_or_captured_holds_back_the_next_one(outbox):
    course = _issued_course(("Awa Diallo",))
    awa = course.enrolments[0]
    with frozen_at(ISSUED + timedelta(minutes=5)):
        certificate_service.send_to_trainee(awa)
        db.session.commit()
    for status in (MailStatus.PENDING, MailStatus.SENT, MailStatus.CAPTURED):
        _refused_by_the_relay(awa, status)
        with frozen_at(ISSUED + timedelta(minutes=6)):
            with pytest.raises(ServiceError) as refused:
                certificate_service.send_to_trainee(awa)
            db.session.rollback()
        assert "moins de 2 minutes" in refused.value.message
    assert len(outbox) == 1
