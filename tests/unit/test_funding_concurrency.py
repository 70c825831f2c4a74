"""Simultaneous requests on PostgreSQL: invoice numbers stay unique and gapless, a file number is
taken once per funder (the unique index decides; the loser gets a clear refusal, not a 500), a claim sent states
its agreements as saved."""
from datetime import datetime

import pytest

from tests import factories
from tests.conftest import is_postgres
from tests.unit.test_enrolment_concurrency import _first_holds_second_waits, _run_together
from training_app.clock import frozen_at, utcnow
from training_app.extensions import db
from training_app.models import (AgreementTrainee, Enrolment, Funder, FundingAgreement, FundingClaim,
                                 TrainingSession)
from training_app.services import ServiceError
from training_app.services import funding as funding_service

pytestmark = pytest.mark.postgres_only
SESSIONS = 5  # Monday 3 to Friday 7 December 2018


@pytest.fixture(autouse=True)
def _postgres_only(app):
    if not is_postgres(app):
        pytest.skip("real concurrency needs PostgreSQL (set TEST_DATABASE_URL)")


def test_claims_sent_at_once_are_numbered_one_after_the_other(app, monkeypatch):
    """Numbers are given at the sending, under a lock that serialises numbering: continuous, none taken twice."""
    from tests.web import test_funding as funding_tests
    sources = funding_tests.stub_sources(monkeypatch)
    world = funding_tests.make_world()
    enrolments = []
    for i in range(SESSIONS):
        session = factories.make_session(start=datetime(2018, 12, 3 + i, 9, 30), end=datetime(2018, 12, 3 + i, 18),
                                         status="completed")
        enrolments.append(factories.make_enrolment(session, factories.make_trainee(employer=world["employer"])))
        factories.make_agreement(session, enrolments[-1:], funder=world["funder"], employer=world["employer"])
    sources["hours"] = funding_tests.full_hours(enrolments)
    with frozen_at(datetime(2019, 1, 8, 10)):
        claim_ids = [funding_service.create_claim(world["funder"], session=e.session).id for e in enrolments]
    db.session.commit()
    db.session.remove()

    def send(i):
        with frozen_at(datetime(2019, 1, 8, 10)):
            funding_service.send(db.session.get(FundingClaim, claim_ids[i]), datetime(2019, 1, 8).date())
        db.session.commit()

    assert _run_together(app, SESSIONS, send) == []
    numbers = sorted(db.session.scalars(db.select(FundingClaim.number)))
    assert numbers == [f"2019-{n:04d}" for n in range(1, SESSIONS + 1)]


def test_one_file_number_per_funder_under_concurrency(app):
    funder = factories.make_funder("Uniformation")
    session = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30))
    enrolment_ids = [factories.make_enrolment(session).id for _ in range(4)]
    funder_id, session_id = funder.id, session.id
    db.session.remove()
    refused = []

    def request(i):
        data = funding_service.AgreementData(
            funder=db.session.get(Funder, funder_id), enrolments=[db.session.get(Enrolment, enrolment_ids[i])],
            requested_on=datetime(2018, 11, 2).date(), file_number="UNI-0001", hourly_rate_cents=1500)
        try:
            funding_service.create_agreement(db.session.get(TrainingSession, session_id), data)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            refused.append(error)

    assert _run_together(app, len(enrolment_ids), request) == []
    assert db.session.scalar(db.select(db.func.count(FundingAgreement.id))) == 1
    assert len(refused) == 3 and all(error.field == "file_number" for error in refused)


def test_two_claims_for_the_same_session_made_at_once_give_one(app):
    funder = factories.make_funder("Uniformation")
    session = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30),
                                     status="completed")
    factories.make_agreement(session, [factories.make_enrolment(session)], funder=funder)
    funder_id, session_id = funder.id, session.id
    db.session.remove()
    refused = []

    def create(_):
        try:
            with frozen_at(datetime(2019, 1, 8, 10)):
                funding_service.create_claim(db.session.get(Funder, funder_id),
                                             session=db.session.get(TrainingSession, session_id))
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            refused.append(error)

    assert _run_together(app, 4, create) == []
    assert db.session.scalar(db.select(db.func.count(FundingClaim.id))) == 1
    assert len(refused) == 3 and all("figure déjà" in error.message for error in refused)


def test_a_double_click_on_send_sends_the_claim_once(app):
    from tests.unit.test_claim_certificates import funded_course, new_claim
    from training_app.models import AuditEntry

    claim_id = new_claim(funded_course()).id
    db.session.remove()

    def click():
        with frozen_at(datetime(2019, 1, 10, 10)):
            funding_service.send(db.session.get(FundingClaim, claim_id), datetime(2019, 1, 10).date())
        return "sent"

    results, errors = factories.run_together(app, click, click)
    assert errors == []
    assert "sent" in results and any(isinstance(r, ServiceError) and "déjà été envoyée" in r.message
                                     for r in results)
    sent = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "sent")).all()
    assert len(sent) == 1



def test_a_recalculation_clicked_while_the_claim_is_being_sent_is_refused_once_it_is_sent(app):
    """"Recalculer" on a page left open, while a colleague's sending holds the claim: the recalculation waits for
    the claim's lock, then reads it sent and is refused; the figures and the dossier sent are not written over."""
    from tests.unit.test_claim_certificates import funded_course, new_claim
    claim_id = new_claim(funded_course()).id
    db.session.remove()

    def send():
        with frozen_at(datetime(2019, 1, 10, 10)):
            funding_service.send(db.session.get(FundingClaim, claim_id), datetime(2019, 1, 10).date())

    def recalculate():
        with frozen_at(datetime(2019, 1, 10, 11)):
            funding_service.refresh(db.session.get(FundingClaim, claim_id))

    outcome = _first_holds_second_waits(app, send, recalculate)
    assert outcome["waited"] and outcome["first"] == "committed"
    assert outcome["second"] == "Cette demande a été envoyée : ses montants ne changent plus."
    claim = db.session.get(FundingClaim, claim_id)
    with frozen_at(datetime(2019, 1, 10, 10)):
        sent_at = utcnow()
    assert claim.status == "sent" and claim.calculated_at.replace(tzinfo=None) == sent_at.replace(tzinfo=None)


def _edit_agreement(agreement_id):
    """The rate raised to 25 €/h, 90 € of travel for the first trainee: the agreement's changes (under its session's
    lock)."""
    def edit():
        agreement = db.session.get(FundingAgreement, agreement_id)
        data = funding_service._data_of(agreement)
        data.hourly_rate_cents = 2500
        funding_service.update_agreement(agreement, data)
        funding_service.set_annex_costs(agreement.trainees[0], {"travel_agreed_cents": 9000,
                                                                "travel_actual_cents": 9000})
    return edit


def _send(claim_id):
    def send():
        with frozen_at(datetime(2019, 1, 10, 10)):
            funding_service.send(db.session.get(FundingClaim, claim_id), datetime(2019, 1, 10).date())
    return send


def test_a_claim_sent_while_its_agreement_is_edited_states_the_agreement_as_saved(app):
    """The sending waits for the change under way (the session's lock), then bills the rate and the annex costs
    saved: the dossier sent says what the agreement, frozen from then on, says."""
    from tests.unit.test_claim_certificates import funded_course, new_claim
    claim_id = new_claim(funded_course()).id
    agreement_id = db.session.scalar(db.select(FundingAgreement.id))
    db.session.remove()
    outcome = _first_holds_second_waits(app, _edit_agreement(agreement_id), _send(claim_id))
    assert outcome == {"first": "committed", "second": "committed", "waited": True}
    claim = db.session.get(FundingClaim, claim_id)
    assert [float(line["hourly_rate_cents"]) for line in claim.snapshot["lines"]] == [2500, 2500]
    assert sorted(line["annex_cents"] for line in claim.snapshot["lines"]) == [0, 9000]


def test_annex_costs_set_while_the_claim_is_sent_wait_and_are_refused(app):
    from tests.unit.test_claim_certificates import funded_course, new_claim
    claim_id = new_claim(funded_course()).id
    covered_id = db.session.scalar(db.select(AgreementTrainee.id).order_by(AgreementTrainee.id))
    db.session.remove()

    def annex_costs():
        funding_service.set_annex_costs(db.session.get(AgreementTrainee, covered_id),
                                        {"travel_agreed_cents": 9000, "travel_actual_cents": 9000})

    outcome = _first_holds_second_waits(app, _send(claim_id), annex_costs)
    assert outcome["waited"] and outcome["first"] == "committed"
    assert outcome["second"].endswith(": ses frais annexes ne changent plus.")
    assert db.session.get(AgreementTrainee, covered_id).travel_agreed_cents == 0


def _sent_claim_id() -> int:
    from tests.unit.test_claim_certificates import funded_course, new_claim
    claim = new_claim(funded_course())
    with frozen_at(datetime(2019, 1, 10, 10)):
        funding_service.send(claim, datetime(2019, 1, 10).date())
    db.session.commit()
    claim_id = claim.id
    db.session.remove()
    return claim_id


def _pay(claim_id, cents, payments_seen):
    def pay():
        with frozen_at(datetime(2019, 3, 1, 10)):
            return funding_service.record_payment(db.session.get(FundingClaim, claim_id), cents,
                                                  datetime(2019, 2, 15).date(), payments_seen=payments_seen)
    return pay


def test_a_double_click_on_record_payment_records_it_once(app):
    claim_id = _sent_claim_id()
    results, errors = factories.run_together(app, _pay(claim_id, 10000, 0), _pay(claim_id, 10000, 0))
    assert errors == []
    assert sum(isinstance(r, ServiceError) and "vient d'être enregistré" in r.message for r in results) == 1
    claim = db.session.get(FundingClaim, claim_id)
    assert (len(claim.payments), claim.paid_cents) == (1, 10000)


def test_two_payments_recorded_at_once_add_up(app):
    """Two different payments (the claim's state is read under its lock: no update of paid_cents is lost)."""
    claim_id = _sent_claim_id()
    results, errors = factories.run_together(app, _pay(claim_id, 10000, None), _pay(claim_id, 2500, None))
    assert errors == [] and not any(isinstance(r, ServiceError) for r in results)
    claim = db.session.get(FundingClaim, claim_id)
    assert sorted(p.amount_cents for p in claim.payments) == [2500, 10000]
    assert claim.paid_cents == 12500


def test_a_rejection_recorded_while_a_payment_is_under_way_refuses_the_balance(app):
    """A colleague records the funder's payment while another records its refusal: the refusal waits for the
    claim's lock, then reads the money received: the balance is refused, what was paid stays paid."""
    from training_app.models import ClaimStatus
    claim_id = _sent_claim_id()

    def reject():
        with frozen_at(datetime(2019, 3, 1, 10)):
            funding_service.reject(db.session.get(FundingClaim, claim_id), "Dossier incomplet",
                                   datetime(2019, 2, 20).date())

    outcome = _first_holds_second_waits(app, _pay(claim_id, 10000, None), reject)
    assert outcome["waited"] and outcome["first"] == outcome["second"] == "committed"
    claim = db.session.get(FundingClaim, claim_id)
    assert (claim.status, claim.paid_cents) == (ClaimStatus.BALANCE_REFUSED, 10000)


def test_a_payment_cancelled_while_another_is_recorded_leaves_the_other_counted(app):
    """A payment typed by mistake is cancelled while a colleague records the funder's next one: the cancellation
    waits for the claim's lock, then reads the money received: only the cancelled amount is taken off."""
    from training_app.models import ClaimStatus
    claim_id = _sent_claim_id()
    _pay(claim_id, 30000, None)()
    db.session.commit()
    mistake_id = db.session.get(FundingClaim, claim_id).payments[0].id
    db.session.remove()

    def cancel():
        with frozen_at(datetime(2019, 3, 1, 10)):
            funding_service.cancel_payment(db.session.get(FundingClaim, claim_id), mistake_id, "Erreur de saisie")

    outcome = _first_holds_second_waits(app, _pay(claim_id, 10000, None), cancel)
    assert outcome["waited"] and outcome["first"] == outcome["second"] == "committed"
    claim = db.session.get(FundingClaim, claim_id)
    assert (claim.status, claim.paid_cents) == (ClaimStatus.PARTIALLY_PAID, 10000)
    assert sorted((p.amount_cents, p.cancelled) for p in claim.payments) == [(10000, False), (30000, True)]


def _agreement_request(funder_id, session_id, enrolment_ids, file_number=""):
    def request():
        data = funding_service.AgreementData(
            funder=db.session.get(Funder, funder_id), enrolments=[db.session.get(Enrolment, i) for i in enrolment_ids],
            requested_on=datetime(2018, 11, 2).date(), file_number=file_number, hourly_rate_cents=1500)
        funding_service.create_agreement(db.session.get(TrainingSession, session_id), data)
    return request


def test_a_double_click_on_a_new_agreement_records_it_once(app):
    """The second request waits for the first (the session's row lock), then finds the trainees covered."""
    funder = factories.make_funder("Uniformation")
    session = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30))
    enrolment_ids = [factories.make_enrolment(session).id for _ in range(2)]
    request = _agreement_request(funder.id, session.id, enrolment_ids)
    db.session.remove()
    outcome = _first_holds_second_waits(app, request, request)
    assert outcome["waited"] and outcome["first"] == "committed"
    assert "est déjà couvert·e par un autre accord" in outcome["second"]
    assert db.session.scalar(db.select(db.func.count(FundingAgreement.id))) == 1


def test_a_grant_waits_for_a_request_covering_the_same_trainee(app):
    """Two colleagues: one records a new request for Awa while the other grants an old refused one for her
    on appeal; the grant waits, then is refused: her hours are billed once."""
    from datetime import date
    funder = factories.make_funder("Uniformation")
    session = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30),
                                     status="completed")
    enrolment = factories.make_enrolment(session)
    refused_id = factories.make_agreement(session, [enrolment], funder=funder, status="refused",
                                          file_number="A-1").id
    request = _agreement_request(funder.id, session.id, [enrolment.id], "A-2")
    db.session.remove()

    def grant():
        funding_service.grant(db.session.get(FundingAgreement, refused_id), 31500, date(2018, 11, 30))

    outcome = _first_holds_second_waits(app, request, grant)
    assert outcome["waited"] and outcome["first"] == "committed"
    assert "est déjà couvert·e par un autre accord (dossier A-2)" in outcome["second"]
    assert db.session.get(FundingAgreement, refused_id).status == "refused"


def test_a_double_click_on_a_new_funder_is_refused_in_french(app):
    def create():
        funding_service.save_funder(None, {"name": "AFDAS"})

    outcome = _first_holds_second_waits(app, create, create)
    assert outcome == {"first": "committed", "second": "Un financeur porte déjà ce nom.", "waited": True}
    assert db.session.scalar(db.select(db.func.count(Funder.id))) == 1


def test_an_hourly_cap_saved_twice_at_once_is_recorded_once(app):
    from training_app.models import FunderHourlyCap
    funder_id = factories.make_funder("Uniformation").id
    db.session.remove()

    def save():
        funding_service.set_hourly_cap(db.session.get(Funder, funder_id), 2024, 2500)

    outcome = _first_holds_second_waits(app, save, save)
    assert outcome["waited"] and outcome["first"] == "committed"
    assert outcome["second"] == ("Un plafond horaire 2024 vient d'être enregistré pour Uniformation : vérifiez-le "
                                 "dans la liste, puis enregistrez à nouveau si besoin.")
    assert db.session.scalar(db.select(db.func.count(FunderHourlyCap.id))) == 1
