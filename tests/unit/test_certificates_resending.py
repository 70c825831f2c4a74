"""Why an e-mail of certificates written earlier may not be sent again as written (the outbox's « Renvoyer »):
one rule, certificates.resending_refusal, which mail.outdated_reason asks."""
from datetime import time

from tests.certificate_course import WEDNESDAY_AFTERNOON, completed_course, slot_named
from tests import factories
from training_app.extensions import db
from training_app.models import OutgoingMail
from training_app.services import attendance, mail
from training_app.services import certificates as certificate_service


def _sent(course):
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    certificate_service.send_for_session(course.session)
    db.session.commit()
    return db.session.scalars(db.select(OutgoingMail)).one()


def test_a_certificates_email_still_true_may_be_sent_again(outbox):
    course = completed_course(trainees=("Awa Diallo",))
    record = _sent(course)
    assert certificate_service.resending_refusal(course.enrolments[0], record.attachment_names) is None
    assert mail.outdated_reason(record) is None


def test_documents_outdated_since_are_named_with_the_reason(outbox):
    course = completed_course(trainees=("Awa Diallo",))
    record = _sent(course)
    awa = course.enrolments[0]
    attendance.mark(slot_named(course.session, WEDNESDAY_AFTERNOON), awa, "left_early",
                    actor=factories.make_user("admin"), departure=time(16, 0), reason="Départ à 16h")
    db.session.commit()
    assert mail.outdated_reason(record) == ("Les documents joints ne sont plus à jour (heures suivies) : "
                                           "réémettez-les, puis envoyez-les.")
    assert certificate_service.resending_refusal(awa, record.attachment_names) == mail.outdated_reason(record)


def test_documents_replaced_or_withdrawn_since_are_named(outbox):
    course = completed_course(trainees=("Awa Diallo",))
    record = _sent(course)
    awa = course.enrolments[0]
    certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)  # new versions, not sent
    db.session.commit()
    reason = mail.outdated_reason(record)
    assert reason.startswith("Les documents joints ") and "ont été remplacés par de nouvelles versions" in reason
    assert all(name in reason for name in record.attachment_names)

    certificate_service.withdraw(certificate_service.current_documents(awa).values(), "Erreur de saisie")
    db.session.commit()
    assert "ont été retirés depuis (Erreur de saisie)" in mail.outdated_reason(record)
