"""A withdrawal is not recorded for a trainee whom a claim sent to a funder bills as attending (its line says no
withdrawal): the funder holds the dossier as it was sent, as cancel_withdrawal refuses to contradict a claim billing
the withdrawal (enrolments.withdrawal_refusal, funding.sent_claims_by_enrolment)."""
from datetime import date, datetime

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Enrolment
from training_app.services import ServiceError, enrolments, funding

DURING = datetime(2030, 3, 6, 12)  # the factory session runs from Tue 5 March 2030 14:00 to Fri 8 March 12:30


def _billed(enrolment, status: str, funder=None):
    """A claim to Uniformation, in `status`, sent on 20 March 2030 unless a draft (100 € received once paid in part
    or in full), billing the session with a line for `enrolment` as attending (a granted agreement)."""
    funder = funder or factories.make_funder("Uniformation")
    factories.make_agreement(enrolment.session, [enrolment], funder=funder)
    claim = factories.make_claim(funder, enrolment.session, status=status)
    assert [line["withdrawn"] for line in claim.snapshot["lines"] if line["enrolment_id"] == enrolment.id] == [False]
    if status != "draft":
        claim.sent_on = date(2030, 3, 20)
    if status in ("partially_paid", "paid", "balance_refused"):
        claim.paid_cents = 10000  # (test data: no payment row)
    db.session.commit()
    return claim


def _withdraw(enrolment):
    with frozen_at(DURING):
        enrolments.withdraw(enrolment, date(2030, 3, 6), "Malade")
    db.session.commit()


def _status(enrolment) -> str:
    db.session.expire_all()
    return db.session.get(Enrolment, enrolment.id).status


@pytest.mark.parametrize("status", ["sent", "partially_paid", "paid", "balance_refused"])
def test_a_trainee_billed_as_attending_by_a_claim_the_funder_holds_is_not_withdrawn(status):
    session = factories.make_session(capacity=3)
    enrolment = factories.enrol(session, factories.make_trainee("Awa", "Diallo"))
    claim = _billed(enrolment, status)
    with frozen_at(DURING), pytest.raises(ServiceError) as refused:
        enrolments.withdraw(enrolment, date(2030, 3, 6), "Malade")
    db.session.rollback()
    message = refused.value.message
    assert message.startswith(f"Awa Diallo figure sans abandon dans la demande de paiement n° {claim.number}, "
                              "envoyée le 20/03/2030 à Uniformation")
    assert "l'abandon ne peut pas être enregistré, le financeur a reçu cette demande telle qu'elle était" in message
    assert ("(payée)" in message) == (status == "paid")  # the funder's answer, once there is one
    # Only a claim nothing was paid on is freed by recording its rejection: the message says so then only.
    assert ("une fois le rejet de cette demande enregistré" in message) == (status == "sent")
    assert refused.value.field is None
    assert _status(enrolment) == "confirmed"
    enrolment = db.session.get(Enrolment, enrolment.id)
    assert enrolments.withdrawal_refusal(enrolment) == message  # what the enrolment's page says instead


@pytest.mark.parametrize("status", ["draft", "rejected"])
def test_a_draft_or_a_rejected_claim_does_not_keep_a_trainee_from_being_withdrawn(status):
    """A draft is recalculated until it is sent; a rejected claim is made again with the data as it then is."""
    session = factories.make_session(capacity=3)
    enrolment = factories.enrol(session)
    _billed(enrolment, status)
    assert enrolments.withdrawal_refusal(enrolment) is None
    _withdraw(enrolment)
    assert _status(enrolment) == "withdrawn"


def test_a_claim_sent_for_another_trainee_keeps_her_withdrawal_possible():
    session = factories.make_session(capacity=3)
    billed, enrolment = factories.enrol(session), factories.enrol(session)
    _billed(billed, "sent")
    assert enrolments.withdrawal_refusal(enrolment) is None
    _withdraw(enrolment)
    assert _status(enrolment) == "withdrawn" and _status(billed) == "confirmed"


def test_once_the_funder_s_rejection_is_recorded_the_withdrawal_is_recorded():
    """The way the refusal tells: the claim's rejection recorded (funding.reject), the trainee is withdrawn, and a
    new claim bills her withdrawal."""
    session = factories.make_session(capacity=3)
    enrolment = factories.enrol(session)
    funder = factories.make_funder("Uniformation")
    claim = _billed(enrolment, "sent", funder)
    with frozen_at(datetime(2030, 3, 25, 10)):
        assert funding.reject(claim, "Abandon à déclarer", date(2030, 3, 25)) == "rejected"
    db.session.commit()
    _withdraw(enrolment)
    assert _status(enrolment) == "withdrawn"
    again = factories.make_claim(funder, session)
    assert [line["withdrawn"] for line in again.snapshot["lines"]] == [True]


def test_asking_whether_a_withdrawal_is_refused_costs_one_query():
    session = factories.make_session(capacity=3)
    enrolment, other = factories.enrol(session), factories.enrol(session)
    _billed(other, "sent")
    enrolment = db.session.get(Enrolment, enrolment.id)
    _ = enrolment.session, enrolment.trainee
    with factories.count_queries() as statements:
        assert enrolments.withdrawal_refusal(enrolment) is None
    assert len(statements) == 1
