"""Values for every URL parameter of the app, so that the access matrix can build each URL.

A feature that adds a parameter adds it here: the matrix test fails on a rule whose
parameters it cannot fill.
"""
from datetime import date, datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import attendance, mail, registration_requests, trainee_links, users
from training_app.services.registrations import PersonDetails

REQUESTED = datetime(2030, 2, 1, 9, 0)  # the world's request of the public page: its link works for two days


def build_world(trainer) -> dict:
    """Objects the trainer may see (their session) and the values naming them."""
    cycle = factories.make_cycle()
    programme = factories.make_programme(cycle_id=cycle.id)  # the cycle in use: deleting it is refused
    session = factories.make_session(programme=programme, trainers=[trainer],
                                     start=datetime(2030, 3, 5, 14), end=datetime(2030, 3, 8, 12, 30))
    trainee = factories.make_trainee()
    enrolment = factories.make_enrolment(session, trainee)
    other = factories.make_user("trainer")
    survey = factories.make_survey(session)  # questionnaires (issue 5)
    slot = session.slots[0]
    with frozen_at(datetime.combine(slot.date, slot.start_time)):
        signature = attendance.sign(slot, enrolment, factories.signature_data_url(), method="device")
    db.session.commit()
    certificate = factories.make_issued_certificate(enrolment)
    funding = _funding_world(session, enrolment)
    captured = mail.queue(trainee.email, "Votre inscription est confirmée", "Bonjour")  # the outbox's message
    db.session.commit()
    with frozen_at(REQUESTED):  # a request of the public page, its link valid while registrations are open
        registration_requests.ask(session, PersonDetails("Inès", "Barbier", "ines@example.org"), "personal")
    db.session.commit()
    return {
        "programme_id": programme.id,
        "cycle_id": cycle.id,
        "session_id": session.id,
        "slot_id": session.slots[0].id,
        "user_id": other.id,
        "token": trainee_links.make_token(trainee),
        "link": users.make_reset_link_token(trainer),  # a staff password link (e-mailed)
        "enrolment_id": enrolment.id,
        "trainee_id": trainee.id,
        "filename": "css/app.css",
        "field": "logo_image",
        "questionnaire_id": survey.questionnaire_id,
        "question_id": survey.questionnaire.questions[0].id,
        "survey_id": survey.id,
        "signature_id": signature.id,
        "qr_token": attendance.qr_token(slot),
        "certificate_id": certificate.id,
        "kind": "attestation",
        "code": certificate.verification_code,
        "mail_id": captured.record_id,
        "request_token": factories.confirmation_path("ines@example.org").rsplit("/", 1)[1],
        **funding,
    }


def _funding_world(session, enrolment) -> dict:
    """Funding (issue 7): a funder with a cap, an employer, an agreement and a draft claim."""
    from training_app.models import ClaimPayment
    from training_app.services import funding as funding_service
    funder = factories.make_funder()
    cap = funding_service.set_hourly_cap(funder, 2030, 1800)
    employer = factories.make_employer(funder=funder)
    agreement = factories.make_agreement(session, [enrolment], funder=funder)
    claim = factories.make_claim(funder, session)
    paid = factories.make_claim(factories.make_funder(), session, status="partially_paid")  # a payment to cancel
    paid.sent_on, paid.paid_cents = date(2030, 3, 9), 1000
    payment = ClaimPayment(claim=paid, received_on=date(2030, 3, 10), amount_cents=1000)
    db.session.add(payment)
    db.session.commit()
    return {"funder_id": funder.id, "cap_id": cap.id, "employer_id": employer.id, "agreement_id": agreement.id,
            "claim_id": claim.id, "payment_id": payment.id}
