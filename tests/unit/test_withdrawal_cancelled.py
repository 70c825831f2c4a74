"""A trainee who dropped out of a session is not enrolled in it again; a withdrawal recorded by mistake is cancelled
instead (enrolments.cancel_withdrawal): back to confirmed, if a seat is free."""
from datetime import date, datetime

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, Enrolment
from training_app.services import ServiceError, enrolments

DURING = datetime(2030, 3, 6, 12)  # the factory session runs from Tue 5 March 2030 14:00 to Fri 8 March 12:30


def _withdrawn(session, trainee=None) -> Enrolment:
    enrolment = factories.enrol(session, trainee)
    with frozen_at(DURING):
        enrolments.withdraw(enrolment, date(2030, 3, 6), "Malade")
    db.session.commit()
    return enrolment


def _count(session) -> int:
    return db.session.scalar(db.select(db.func.count(Enrolment.id)).where(Enrolment.session_id == session.id))


def test_a_trainee_who_withdrew_is_not_enrolled_again_in_the_same_session():
    session = factories.make_session(capacity=3)
    withdrawn = _withdrawn(session)
    places = enrolments.count_places(session, withdrawn.trainee)
    assert (places.trainee_live, places.trainee_withdrawn, places.taken) == (0, 1, 1)
    assert enrolments.count_places(session, factories.make_trainee()).trainee_withdrawn == 0
    with frozen_at(DURING), pytest.raises(ServiceError) as refused:
        enrolments.enrol(session, withdrawn.trainee)
    db.session.rollback()
    assert "a abandonné cette session" in refused.value.message
    assert _count(session) == 1 and db.session.get(Enrolment, withdrawn.id).status == "withdrawn"
    other = factories.make_session(start=datetime(2030, 3, 12, 14), end=datetime(2030, 3, 15, 12, 30))
    with frozen_at(DURING):  # another session of hers is not concerned
        assert enrolments.enrol(other, withdrawn.trainee).status == "confirmed"


def test_a_withdrawal_cancelled_goes_back_to_confirmed_keeping_when_it_was_confirmed():
    session = factories.make_session(capacity=1)
    enrolment = _withdrawn(session)
    confirmed_at = enrolment.confirmed_at
    admin = factories.make_user("admin")
    with frozen_at(datetime(2030, 3, 7, 10)):
        enrolments.cancel_withdrawal(enrolment, actor=admin)
    db.session.commit()
    enrolment = db.session.get(Enrolment, enrolment.id)
    assert (enrolment.status, enrolment.withdrawn_on, enrolment.status_reason) == ("confirmed", None, "")
    assert enrolment.confirmed_at == confirmed_at  # the sheets closed before keep printing her as they did
    [entry] = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "withdrawal_cancelled")).all()
    assert (entry.entity_id, entry.from_state, entry.to_state, entry.actor_id) == (
        enrolment.id, "withdrawn", "confirmed", admin.id)
    assert enrolments.seats_left(session) == 0
    with pytest.raises(ServiceError, match="Seul un abandon peut être annulé"):  # a second click
        enrolments.cancel_withdrawal(enrolment)


def test_a_withdrawal_is_not_cancelled_when_its_seat_was_given_or_the_session_cancelled():
    session = factories.make_session(capacity=1)
    # Recorded before withdrawals were dated from the first day on: its seat went to someone else.
    old = factories.make_enrolment(session, status="withdrawn")
    old.withdrawn_on = date(2030, 3, 1)
    factories.make_enrolment(session)
    db.session.commit()
    with pytest.raises(ServiceError, match="aucune place n'est libre") as refused:
        enrolments.cancel_withdrawal(old)
    assert refused.value.message.startswith("La session est complète (1 place) :")  # singular for one seat
    db.session.rollback()
    assert db.session.get(Enrolment, old.id).status == "withdrawn"
    cancelled = factories.make_session(capacity=5, status="cancelled")
    gone = factories.make_enrolment(cancelled, status="withdrawn")
    gone.withdrawn_on = date(2030, 3, 6)
    db.session.commit()
    with pytest.raises(ServiceError, match="session est annulée"):
        enrolments.cancel_withdrawal(gone)


def _claimed(enrolment, status: str):
    """A claim to a funder, in `status`, billing the session with a line for `enrolment` (a granted agreement)."""
    funder = factories.make_funder("Uniformation")
    factories.make_agreement(enrolment.session, [enrolment], funder=funder)
    claim = factories.make_claim(funder, enrolment.session, status=status)
    assert enrolment.id in {line["enrolment_id"] for line in claim.snapshot["lines"]}
    return claim


def _sent_as_calculated(claim) -> None:
    """Test data: the draft `claim` sent with the figures it was calculated with, the withdrawal recorded since
    (before withdraw() refused one contradicting a claim sent, or as data of an earlier version)."""
    claim.status, claim.number, claim.sent_on = "sent", "2030-0001", date(2030, 3, 20)
    db.session.commit()


def _offered(session) -> set[int]:
    every = db.session.scalars(db.select(Enrolment).where(Enrolment.session_id == session.id)).all()
    return enrolments.cancellable_withdrawals(session, every, enrolments.count_places(session))


@pytest.mark.parametrize("status", ["sent", "partially_paid", "paid", "balance_refused"])
def test_a_withdrawal_billed_by_a_claim_the_funder_holds_is_neither_cancelled_nor_offered(status):
    """The funder holds the claim as it was sent, withdrawal and hours included: cancelling the withdrawal would
    contradict it. The refusal names the claim, its funder and that it was sent."""
    session = factories.make_session(capacity=3)
    enrolment = _withdrawn(session)
    claim = _claimed(enrolment, status)
    claim.sent_on = date(2030, 3, 20)
    db.session.commit()
    assert _offered(session) == set()
    with pytest.raises(ServiceError) as refused:
        enrolments.cancel_withdrawal(enrolment)
    db.session.rollback()
    assert claim.number and (f"la demande de paiement n° {claim.number}, envoyée le 20/03/2030 à Uniformation"
                             in refused.value.message)
    assert "l'abandon ne peut plus être annulé" in refused.value.message
    assert ("(payée)" in refused.value.message) == (status == "paid")  # the funder's answer, once there is one
    assert db.session.get(Enrolment, enrolment.id).status == "withdrawn"


@pytest.mark.parametrize("status", ["draft", "rejected"])
def test_a_draft_or_a_rejected_claim_does_not_keep_a_withdrawal_from_being_cancelled(status):
    """A draft is recalculated until it is sent; a rejected claim is made again with the data as it then is."""
    session = factories.make_session(capacity=3)
    enrolment = _withdrawn(session)
    _claimed(enrolment, status)
    assert _offered(session) == {enrolment.id}
    assert enrolments.cancel_withdrawal(enrolment) == []  # no document issued
    db.session.commit()
    assert db.session.get(Enrolment, enrolment.id).status == "confirmed"


def test_a_claim_sent_for_another_trainee_of_the_session_keeps_the_withdrawal_cancellable():
    session = factories.make_session(capacity=3)
    billed, enrolment = factories.enrol(session), _withdrawn(session)
    _claimed(billed, "sent")
    assert _offered(session) == {enrolment.id}
    enrolments.cancel_withdrawal(enrolment)
    db.session.commit()
    assert db.session.get(Enrolment, enrolment.id).status == "confirmed"


def test_the_offer_costs_one_query_for_the_whole_session_and_none_without_a_withdrawal():
    session = factories.make_session(capacity=10)
    withdrawn = [_withdrawn(session) for _ in range(3)]
    factories.enrol(session)
    _claimed(withdrawn[0], "sent")
    every = db.session.scalars(db.select(Enrolment).where(Enrolment.session_id == session.id)).all()
    places = enrolments.count_places(session)
    with factories.count_queries() as statements:
        offered = enrolments.cancellable_withdrawals(session, every, places)
    assert offered == {withdrawn[1].id, withdrawn[2].id} and len(statements) == 1
    quiet = factories.make_session(capacity=3)
    factories.enrol(quiet)
    every = db.session.scalars(db.select(Enrolment).where(Enrolment.session_id == quiet.id)).all()
    places = enrolments.count_places(quiet)
    with factories.count_queries() as statements:
        assert enrolments.cancellable_withdrawals(quiet, every, places) == set()
    assert statements == []


def test_a_withdrawal_cancelled_after_its_documents_were_issued_returns_them_to_be_reissued():
    """As after any correction of what issued documents state (the employer of the course, a sheet, a withdrawal
    recorded after issue), the cancellation is accepted; the current documents are returned for the office to be
    told, the replaced ones are not."""
    session = factories.make_session(capacity=3)
    enrolment = _withdrawn(session)
    replaced = factories.make_issued_certificate(enrolment, "attestation")
    replaced.replaced_at, replaced.version = datetime(2030, 3, 9, 10), 2  # (test data: the numbers aside)
    replaced.issued_at = datetime(2030, 3, 8, 15)
    db.session.commit()
    attestation = factories.make_issued_certificate(enrolment, "attestation")
    realisation = factories.make_issued_certificate(enrolment, "realisation")
    attestation.issued_at = realisation.issued_at = datetime(2030, 3, 9, 10)  # after the withdrawal, recorded
    db.session.commit()
    assert _offered(session) == {enrolment.id}
    assert enrolments.cancel_withdrawal(enrolment) == [attestation, realisation]
    db.session.commit()
    assert db.session.get(Enrolment, enrolment.id).status == "confirmed"


def test_a_trainee_who_withdrew_is_not_moved_back_into_that_session(outbox):
    """As enrol() refuses it (withdrawn_refusal): the withdrawal is cancelled instead, if it was a mistake. A
    withdrawal is recorded once the session has started, which a move's target may not have: one dated before
    the start (recorded before that rule) stays in a session still to come."""
    programme = factories.make_programme()
    source = factories.make_session(programme=programme, capacity=3)
    target = factories.make_session(programme=programme, capacity=3, start=datetime(2030, 4, 2, 9, 30),
                                    end=datetime(2030, 4, 3, 18))
    left = factories.make_enrolment(target, status="withdrawn")
    left.withdrawn_on = date(2030, 3, 1)
    moving = factories.make_enrolment(source, left.trainee)
    with pytest.raises(ServiceError) as refused:
        enrolments.move(moving, target)
    db.session.rollback()
    assert refused.value.message == enrolments.withdrawn_refusal(left.trainee) and refused.value.field == "target"
    assert db.session.get(Enrolment, moving.id).status == "confirmed" and _count(target) == 1
    moved = enrolments.move(factories.make_enrolment(source), target)  # someone else goes there
    db.session.commit()
    assert moved.status == "confirmed" and _count(target) == 2


def test_documents_issued_before_the_withdrawal_was_recorded_are_not_returned():
    """Issued while the trainee was confirmed, they state every hour attended: a withdrawal recorded afterwards by
    mistake, then cancelled, changes nothing they say."""
    session = factories.make_session(capacity=3)
    enrolment = factories.enrol(session)
    before = factories.make_issued_certificate(enrolment, "attestation")
    before.issued_at = datetime(2030, 3, 6, 9)
    db.session.commit()
    with frozen_at(datetime(2030, 3, 6, 12)):
        enrolments.withdraw(enrolment, date(2030, 3, 6), "Saisie sur la mauvaise personne")
    db.session.commit()
    assert enrolments.cancel_withdrawal(enrolment) == []
    db.session.commit()
    assert db.session.get(Enrolment, enrolment.id).status == "confirmed"


def test_a_claim_sent_while_the_trainee_attended_keeps_a_withdrawal_recorded_since_cancellable():
    """The claim billed her as attending (its line says no withdrawal): a withdrawal recorded afterwards by mistake
    contradicts it, and cancelling it makes the data agree with the claim again."""
    session = factories.make_session(capacity=3)
    enrolment = factories.enrol(session)
    claim = _claimed(enrolment, "draft")
    assert [line["withdrawn"] for line in claim.snapshot["lines"]] == [False]
    with frozen_at(DURING):
        enrolments.withdraw(enrolment, date(2030, 3, 6), "Saisie sur la mauvaise personne")
    _sent_as_calculated(claim)
    assert _offered(session) == {enrolment.id}
    enrolments.cancel_withdrawal(enrolment)
    db.session.commit()
    assert db.session.get(Enrolment, enrolment.id).status == "confirmed"


def test_a_claim_line_stored_before_withdrawals_were_flagged_is_taken_as_billing_the_enrolment_as_it_is():
    """Older figures: a withdrawn trainee's line is taken as billing the withdrawal (not cancelled), a confirmed
    one's as billing her attending (no withdrawal recorded, enrolments.withdrawal_refusal)."""
    session = factories.make_session(capacity=3)
    attending, enrolment = factories.enrol(session), factories.enrol(session)
    funder = factories.make_funder("Uniformation")
    factories.make_agreement(session, [attending, enrolment], funder=funder)
    claim = factories.make_claim(funder, session)
    claim.snapshot = {**claim.snapshot, "lines": [{k: v for k, v in line.items() if k != "withdrawn"}
                                                  for line in claim.snapshot["lines"]]}
    db.session.commit()
    with frozen_at(DURING):
        enrolments.withdraw(enrolment, date(2030, 3, 6), "Saisie sur la mauvaise personne")
    _sent_as_calculated(claim)
    assert _offered(session) == set()
    with pytest.raises(ServiceError, match="l'abandon ne peut plus être annulé"):
        enrolments.cancel_withdrawal(enrolment)
    db.session.rollback()
    with frozen_at(DURING), pytest.raises(ServiceError, match="l'abandon ne peut pas être enregistré"):
        enrolments.withdraw(attending, date(2030, 3, 6), "Malade")
    db.session.rollback()
    assert [db.session.get(Enrolment, e.id).status for e in (attending, enrolment)] == ["confirmed", "withdrawn"]


def test_a_withdrawal_is_not_cancelled_once_the_trainee_has_a_seat_elsewhere_at_the_same_hours():
    """Having dropped out, she joined another course on Thursday morning: the withdrawal cancelled would put her
    on two sheets for the same hours (enrolments.double_booking)."""
    week = factories.make_session()
    enrolment = _withdrawn(week)
    thursday = factories.make_session(start=datetime(2030, 3, 7, 9, 30), end=datetime(2030, 3, 7, 12, 30))
    with frozen_at(DURING):
        elsewhere = enrolments.enrol(thursday, enrolment.trainee)
        db.session.commit()
        assert elsewhere.status == "confirmed"  # the withdrawn enrolment holds no place she attends
        with pytest.raises(ServiceError, match=f"a déjà une place confirmée à la session « {thursday.title} »"):
            enrolments.cancel_withdrawal(enrolment)
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment.id).status == "withdrawn"
