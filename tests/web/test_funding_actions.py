"""The funding pages offer the forms of the actions the record's state allows, and say why the others are not
offered (funding.agreement_actions, funding.claim_actions, funding.session_claim_offer): an agreement already in a
claim sent shows no answer nor annex costs form; a claim shows the forms of its state; a session's claim form names
only the funders a claim may still go to. A form left open meanwhile is refused with the same reason."""
from datetime import date, datetime

import pytest

from tests import factories
from tests.web import test_funding as funding_tests
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AgreementStatus, ClaimStatus, FundingAgreement, FundingClaim
from training_app.services import ServiceError
from training_app.services import funding as funding_service

text = funding_tests.text
FORMS = ("grant-form", "refuse-form", "annex-form")


def shown(page: str, *testids) -> dict:
    return {testid: f'data-testid="{testid}"' in page for testid in testids}


def _agreement_page(admin_client, agreement) -> str:
    return text(admin_client.get(f"/financement/accords/{agreement.id}"))


def _stored(agreement_id: int) -> FundingAgreement:
    db.session.expire_all()
    return db.session.get(FundingAgreement, agreement_id)


def test_an_agreement_in_a_sent_claim_offers_no_answer_nor_annex_costs_and_says_why(admin_client, world, sources):
    claim = funding_tests.make_sent_claim(world, sources)
    agreement = db.session.scalar(db.select(FundingAgreement))
    page = _agreement_page(admin_client, agreement)
    assert shown(page, *FORMS) == dict.fromkeys(FORMS, False)
    notice = page.split('data-testid="agreement-actions-notice">')[1].split("</div>")[0]
    assert f"Accord déjà repris dans la demande de paiement n° {claim.number} (envoyée)" in notice
    assert "seules les notes peuvent encore être modifiées" in notice
    assert page.count('data-testid="annex-costs"') == 3  # the annex costs shown, not offered
    assert 'name="notes"' in page  # the edit form stays: the notes may change

    # a page left open before the sending: each answer is refused with the same reason, nothing changes
    with frozen_at(datetime(2019, 3, 1, 10)):
        granted = admin_client.post(f"/financement/accords/{agreement.id}/accorder", data={
            "accord-decided_on": "2019-02-01", "accord-amount": "1", "accord-hourly_rate": "1"})
        refused = admin_client.post(f"/financement/accords/{agreement.id}/refuser", data={
            "refus-decided_on": "2019-02-01", "refus-reason": "Hors délai"})
        awa = world["enrolments"][0]
        annex = admin_client.post(f"/financement/accords/{agreement.id}/frais/{awa.id}", data={
            f"frais{awa.id}-travel_actual": "12"})
    for response, reason in ((granted, "il ne change plus"), (refused, "il ne change plus"),
                             (annex, "ses frais annexes ne changent plus")):
        assert response.status_code == 422
        assert (f"Accord déjà repris dans la demande de paiement n° {claim.number} (envoyée) : {reason}."
                in text(response))
        assert shown(text(response), *FORMS) == dict.fromkeys(FORMS, False)
    stored = _stored(agreement.id)
    assert (stored.status, stored.amount_cents, stored.trainees[0].travel_actual_cents) == (
        AgreementStatus.GRANTED, None, 0)


def test_an_agreement_offers_every_answer_until_its_claim_is_sent_and_again_once_it_is_rejected(
        admin_client, world, sources):
    agreement = factories.make_agreement(world["session"], world["enrolments"], funder=world["funder"])
    sources["hours"] = funding_tests.full_hours(world["enrolments"])
    assert shown(_agreement_page(admin_client, agreement), *FORMS) == dict.fromkeys(FORMS, True)
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=world["session"])
        db.session.commit()
        page = _agreement_page(admin_client, agreement)  # a draft: the agreement may still change
        assert shown(page, *FORMS) == dict.fromkeys(FORMS, True)
        assert 'data-testid="agreement-actions-notice"' not in page
        funding_service.send(claim, date(2019, 1, 10))
        db.session.commit()
    assert shown(_agreement_page(admin_client, agreement), *FORMS) == dict.fromkeys(FORMS, False)
    with frozen_at(datetime(2019, 3, 1, 10)):
        funding_service.reject(claim, "Numéro de dossier inconnu", date(2019, 3, 1))
        db.session.commit()
    page = _agreement_page(admin_client, agreement)  # rejected: corrected for the next claim
    assert shown(page, *FORMS) == dict.fromkeys(FORMS, True)
    assert 'data-testid="agreement-actions-notice"' not in page


def test_a_request_whose_session_was_claimed_meanwhile_may_still_be_granted_only(admin_client, world, sources):
    """Another agreement of the same funder was billed: this request's trainees were not, the funder's grant is
    still recorded (grant()), its refusal and annex costs are not (refuse(), set_annex_costs())."""
    awa, sophie, leila = world["enrolments"]
    billed = factories.make_agreement(world["session"], [awa, sophie], funder=world["funder"])
    request = factories.make_agreement(world["session"], [leila], funder=world["funder"], status="requested")
    sources["hours"] = funding_tests.full_hours([awa, sophie])
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=world["session"])
        claim.status, claim.sent_on, claim.number = ClaimStatus.SENT, date(2019, 1, 10), "2019-0001"
        db.session.commit()
    assert billed.id != request.id
    page = _agreement_page(admin_client, request)
    assert shown(page, *FORMS) == {"grant-form": True, "refuse-form": False, "annex-form": False}
    notice = page.split('data-testid="agreement-actions-notice">')[1].split("</div>")[0]
    assert f"La session figure déjà dans la demande de paiement n° {claim.number} (envoyée)" in notice
    with frozen_at(datetime(2019, 3, 1, 10)):
        refused = admin_client.post(f"/financement/accords/{request.id}/refuser", data={
            "refus-decided_on": "2019-02-01", "refus-reason": "Hors délai"})
        assert refused.status_code == 422 and "cet accord ne peut plus être refusé" in text(refused)
        granted = admin_client.post(f"/financement/accords/{request.id}/accorder", data={
            "accord-decided_on": "2019-02-01", "accord-amount": "315", "accord-hourly_rate": "15"})
    assert granted.status_code == 302 and _stored(request.id).status == AgreementStatus.GRANTED


CLAIM_FORMS = ("send-form", "payment-form", "reject-form")


def _claim_page(admin_client, claim) -> str:
    return text(admin_client.get(f"/financement/demandes/{claim.id}"))


@pytest.mark.parametrize("status, offered", [
    (ClaimStatus.SENT, {"payment-form", "reject-form"}),
    (ClaimStatus.PARTIALLY_PAID, {"payment-form", "reject-form"}),
    (ClaimStatus.PAID, {"payment-form"}),  # more money received: a trop-perçu, recorded with a warning
    (ClaimStatus.BALANCE_REFUSED, {"payment-form"}),  # the funder pays after all
    (ClaimStatus.REJECTED, set()),
])
def test_a_sent_claim_shows_the_forms_its_state_takes_and_the_service_refuses_the_others(
        admin_client, world, sources, status, offered):
    claim = funding_tests.make_sent_claim(world, sources)
    claim_id = claim.id

    def in_state():  # each action tried on the claim in `status`, as its page shows it
        db.session.expire_all()
        stored = db.session.get(FundingClaim, claim_id)
        stored.status = status
        db.session.commit()

    in_state()
    page = _claim_page(admin_client, claim)
    assert {testid for testid, here in shown(page, *CLAIM_FORMS).items() if here} == offered
    assert "Recalculer" not in page
    with frozen_at(datetime(2019, 3, 1, 10)):
        paid = admin_client.post(f"/financement/demandes/{claim_id}/paiements", data={
            "received_on": "2019-02-15", "amount": "10", "payments_seen": "0"})
        in_state()
        rejected = admin_client.post(f"/financement/demandes/{claim_id}/rejet", data={
            "rejected_on": "2019-02-15", "reason": "Dossier incomplet"})
        in_state()
        sent = admin_client.post(f"/financement/demandes/{claim_id}/envoyer", data={"sent_on": "2019-02-15"})
    assert (paid.status_code == 302) == ("payment-form" in offered)
    assert (rejected.status_code == 302) == ("reject-form" in offered)
    assert sent.status_code == 422 and "Cette demande a déjà été envoyée." in text(sent)
    if "payment-form" not in offered:
        assert "On enregistre un paiement sur une demande envoyée." in text(paid)
    if "reject-form" not in offered:
        assert "Seule une demande envoyée peut être rejetée." in text(rejected)


def test_a_draft_offers_its_sending_and_recalculation_only(admin_client, world, sources):
    factories.make_agreement(world["session"], world["enrolments"], funder=world["funder"])
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=world["session"])
        db.session.commit()
        page = _claim_page(admin_client, claim)
    assert shown(page, *CLAIM_FORMS) == {"send-form": True, "payment-form": False, "reject-form": False}
    assert "Recalculer" in page


def test_a_recalculation_of_a_draft_sent_meanwhile_is_refused_not_written_over_it(world, sources):
    """The "Recalculer" of a page left open, run while a colleague's sending commits: it reads the claim's state
    under its lock, finds it sent and is refused; the figures sent stay as they were."""
    factories.make_agreement(world["session"], world["enrolments"], funder=world["funder"])
    sources["hours"] = funding_tests.full_hours(world["enrolments"])
    claim = factories.make_claim(world["funder"], world["session"])
    assert claim.status == ClaimStatus.DRAFT  # as read before the sending
    claims = FundingClaim.__table__
    db.session.connection().execute(claims.update().where(claims.c.id == claim.id)
                                    .values(status=ClaimStatus.SENT, number="2030-0001", total_cents=1))  # the sending, not seen
    with pytest.raises(ServiceError, match="a été envoyée : ses montants ne changent plus"):
        funding_service.refresh(claim)
    assert claim.total_cents == 1


def _claim_form_choices(page: str) -> list[str]:
    form = page.split('data-testid="claim-form"')[1].split("</form>")[0]
    return [option.split(">")[1].split("<")[0] for option in form.split("<option")[1:]]


def test_the_session_s_claim_form_offers_the_funders_a_claim_may_still_go_to(admin_client, world, sources):
    other = factories.make_funder("Opco Santé")
    url = f"/financement/sessions/{world['session'].id}"
    assert _claim_form_choices(text(admin_client.get(url))) == ["Opco Santé", "Uniformation"]
    claim = funding_tests.make_sent_claim(world, sources)
    page = text(admin_client.get(url))
    assert _claim_form_choices(page) == ["Opco Santé"]
    assert "ont déjà une demande de paiement pour cette session ne sont pas proposés" in page
    factories.make_claim(other, world["session"])  # a draft counts too: the same hours are not billed twice
    page = text(admin_client.get(url))
    assert 'data-testid="claim-form"' not in page
    assert "Chaque financeur a déjà sa demande de paiement pour cette session" in page
    claim.status = ClaimStatus.REJECTED  # rejected: the session may be claimed again from Uniformation
    db.session.commit()
    assert _claim_form_choices(text(admin_client.get(url))) == ["Uniformation"]
    # a page left open meanwhile: the service's refusal, told on the page
    response = admin_client.post(f"{url}/demandes", data={"funder_id": str(other.id)}, follow_redirects=True)
    assert "figure déjà dans une demande de paiement en brouillon" in text(response)
    assert db.session.scalar(db.select(db.func.count(FundingClaim.id))) == 2


@pytest.mark.parametrize("session_status, start, end, reason", [
    ("planned", datetime(2030, 3, 5, 14, 0), datetime(2030, 3, 8, 12, 30), "n'est pas terminée"),
    ("cancelled", datetime(2018, 12, 11, 14, 0), datetime(2018, 12, 14, 12, 30), "est annulée"),
])
def test_a_session_not_over_or_cancelled_offers_no_claim_form_and_says_why(admin_client, world, session_status,
                                                                           start, end, reason):
    session = factories.make_session(start=start, end=end, status=session_status)
    page = text(admin_client.get(f"/financement/sessions/{session.id}"))
    assert 'data-testid="claim-form"' not in page
    assert reason in page.split('data-testid="claim-offer-notice">')[1].split("</p>")[0]
