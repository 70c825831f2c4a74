"""Invoice numbers: a draft has none (pages, files and documents say "brouillon"); sending gives the next number of
the sending date's year, so that invoices are numbered continuously and in the order of their dates."""
from datetime import date, datetime

import pytest

from tests import factories
from tests.web import test_funding as funding_tests
from training_app.clock import frozen_at
from training_app.documents import funding_claim
from training_app.extensions import db
from training_app.models import ClaimStatus, FundingClaim
from training_app.services import ServiceError
from training_app.services import funding as funding_service

text = funding_tests.text


@pytest.fixture
def funded(monkeypatch) -> tuple[dict, dict]:
    """The world of tests/web/test_funding, and its attendance and certificates (stubbed)."""
    return funding_tests.make_world(), funding_tests.stub_sources(monkeypatch)


def _two_drafts(world, sources, created=datetime(2019, 1, 7, 10)):
    """Two sessions of December 2018 covered by Uniformation, a draft claim for each."""
    other = factories.make_session(start=datetime(2018, 12, 4, 9), end=datetime(2018, 12, 4, 17), status="completed")
    zoe = factories.make_enrolment(other, factories.make_trainee("Zoé", "Martin", employer=world["employer"]))
    for session, enrolments in ((world["session"], world["enrolments"]), (other, [zoe])):
        factories.make_agreement(session, enrolments, funder=world["funder"], employer=world["employer"])
    sources["hours"] = funding_tests.full_hours([*world["enrolments"], zoe])
    with frozen_at(created):
        drafts = [funding_service.create_claim(world["funder"], session=s) for s in (world["session"], other)]
    db.session.commit()
    return drafts


def _send(claim, day: date) -> None:
    with frozen_at(datetime.combine(day, datetime.min.time()).replace(hour=10)):
        funding_service.send(claim, day)
    db.session.commit()


def _invoice(claim) -> tuple[str, str]:
    context = funding_claim.invoice_context(claim.snapshot, claim.sent_on)
    return context["number"], context["invoice_date"]


def test_a_draft_has_no_number_and_sending_numbers_invoices_in_the_order_of_their_dates(admin_client, funded):
    world, sources = funded
    first, second = _two_drafts(world, sources)
    assert first.number is second.number is None
    page = text(admin_client.get(f"/financement/demandes/{first.id}"))
    assert 'data-testid="claim-unnumbered"' in page and "Demande de paiement n°" not in page
    assert ">brouillon</a>" in text(admin_client.get("/financement/"))
    assert "Demande en brouillon" in text(admin_client.get(f"/financement/sessions/{world['session'].id}"))
    invoice = admin_client.get(f"/financement/demandes/{first.id}/facture.docx")
    assert f'filename="facture-brouillon-{first.id}.docx"' in invoice.headers["Content-Disposition"]
    assert f"Facture n° {funding_claim.DRAFT_NUMBER}" in factories.docx_text(invoice.data)

    _send(second, date(2019, 1, 8))  # the draft made second is sent first: it takes the first number
    _send(first, date(2019, 3, 1))
    assert [_invoice(c) for c in (second, first)] == [("2019-0001", "08/01/2019"), ("2019-0002", "01/03/2019")]
    assert "Demande de paiement n° 2019-0002" in text(admin_client.get(f"/financement/demandes/{first.id}"))
    workbook = admin_client.get(f"/financement/demandes/{first.id}/classeur.xlsx")
    assert 'filename="demande-2019-0002.xlsx"' in workbook.headers["Content-Disposition"]


def test_a_draft_of_december_sent_in_january_takes_a_number_of_the_new_year(funded):
    first, second = _two_drafts(*funded, created=datetime(2018, 12, 20, 10))
    _send(first, date(2018, 12, 20))
    _send(second, date(2019, 1, 8))
    assert (first.number, second.number) == ("2018-0001", "2019-0001")


def test_a_sending_dated_before_the_latest_invoice_is_refused_and_takes_no_number(admin_client, funded):
    """Its number would follow an invoice dated later. Refused (as a refusal of the pre-flight check), the
    sending takes no number: the next one takes it, none is skipped."""
    world, sources = funded
    first, second = _two_drafts(world, sources)
    _send(first, date(2019, 3, 1))
    with frozen_at(datetime(2019, 3, 2, 10)):
        response = admin_client.post(f"/financement/demandes/{second.id}/envoyer", data={"sent_on": "2019-02-01"})
    assert response.status_code == 422
    assert ("La date d'envoi ne peut pas précéder celle de la dernière facture de 2019 (n° 2019-0001 du 01/03/2019) "
            ": les factures se numérotent dans l'ordre de leurs dates.") in text(response)
    db.session.expire_all()
    assert (second.status, second.number, second.snapshot["number"]) == (ClaimStatus.DRAFT, None, None)
    # a sending refused by the pre-flight check (a certificate to issue again) takes none either
    sources["outdated"] = {line["enrolment_id"]: ["heures suivies"] for line in second.snapshot["lines"]}
    with frozen_at(datetime(2019, 3, 2, 10)), pytest.raises(ServiceError, match="ne peut pas partir"):
        funding_service.send(second, date(2019, 3, 2))
    db.session.rollback()
    sources["outdated"] = {}
    _send(second, date(2019, 3, 2))
    assert second.number == "2019-0002"
    assert db.session.scalar(db.select(db.func.count(FundingClaim.id)).where(FundingClaim.number.is_(None))) == 0


def test_a_claim_made_from_the_session_page_says_its_number_comes_with_the_sending(admin_client, funded):
    world, _sources = funded
    factories.make_agreement(world["session"], world["enrolments"], funder=world["funder"], employer=world["employer"])
    with frozen_at(datetime(2019, 1, 7, 10)):
        response = admin_client.post(f"/financement/sessions/{world['session'].id}/demandes",
                                     data={"funder_id": str(world["funder"].id)}, follow_redirects=True)
    assert "Demande de paiement créée (brouillon) : son numéro de facture lui sera donné à l'envoi." in text(response)
