"""Funding claims after review: a cancelled enrolment's certificate, the lock of a refusal, period claims by end
date, amounts beyond the database's integer columns, deleting a draft, the workbook's observations."""
import io
from datetime import date, datetime

import openpyxl
import pytest

from tests import factories
from tests.web.test_funding import full_hours, make_sent_claim, text
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, EnrolmentStatus, FundingClaim
from training_app.services import ServiceError, funding_sources
from training_app.services import funding as funding_service


def test_a_cancelled_enrolment_without_certificate_does_not_block_the_claim(admin_client, world, sources):
    session, (awa, sophie, leila) = world["session"], world["enrolments"]
    factories.make_agreement(session, [awa, sophie], funder=world["funder"], file_number="UNI-001")
    leila.funding_mode = "personal"
    sophie.status = EnrolmentStatus.CANCELLED  # cancelled after the request: covered, billed nothing
    db.session.commit()
    sources["hours"] = full_hours([awa, sophie])  # the sheets still count hours for her
    sources["certificates"] = {awa.id: {"realisation": object()}}
    sources["outdated"] = {sophie.id: ["heures suivies"]}
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
    db.session.commit()
    assert funding_service.preflight(claim) == []
    assert "Sophie Renaud" not in text(admin_client.get(f"/financement/demandes/{claim.id}"))


def test_refusing_an_agreement_locks_its_session(world, monkeypatch):
    agreement = factories.make_agreement(world["session"], world["enrolments"][:1], funder=world["funder"],
                                         status="requested")
    locked = []
    real_lock = funding_service.lock_session
    monkeypatch.setattr(funding_service, "lock_session", lambda session_id: locked.append(session_id)
                        or real_lock(session_id))
    funding_service.refuse(agreement, "Hors critères", date(2018, 11, 25))
    assert locked == [world["session"].id]


def test_a_period_claim_takes_the_sessions_ending_in_the_period(world, sources):
    first = world["session"]  # 11 -> 14 December 2018
    factories.make_agreement(first, world["enrolments"][:1], funder=world["funder"])
    across = factories.make_session(start=datetime(2018, 11, 29, 9, 30), end=datetime(2018, 12, 3, 18, 0))
    factories.make_agreement(across, [factories.make_enrolment(across)], funder=world["funder"])
    later = factories.make_session(start=datetime(2018, 12, 28, 9, 30), end=datetime(2019, 1, 4, 18, 0))
    factories.make_agreement(later, [factories.make_enrolment(later)], funder=world["funder"])
    with frozen_at(datetime(2019, 2, 1, 10)):
        claim = funding_service.create_claim(world["funder"], period_start=date(2018, 12, 1),
                                             period_end=date(2018, 12, 31))
    # begun in November, ended in December: claimed with December; ended in January: with January
    assert [s.id for s in claim.sessions] == [across.id, first.id]


def test_a_claim_total_beyond_what_the_database_stores_is_refused(world, sources):
    session, enrolments = world["session"], world["enrolments"]
    for enrolment in enrolments:
        enrolment.price_cents = None  # nothing caps the lines
    factories.make_agreement(session, enrolments, funder=world["funder"], hourly_rate_cents=1_000_000_000)
    sources["hours"] = full_hours(enrolments)
    with frozen_at(datetime(2019, 1, 10, 10)), pytest.raises(ServiceError, match="trop élevé"):
        funding_service.create_claim(world["funder"], session=session)
    db.session.rollback()
    assert db.session.scalar(db.select(FundingClaim)) is None


def test_a_draft_whose_total_grows_beyond_what_the_database_stores_keeps_its_figures_and_says_why(
        admin_client, world, sources):
    session, enrolments = world["session"], world["enrolments"]
    for enrolment in enrolments:
        enrolment.price_cents = None
    agreement = factories.make_agreement(session, enrolments, funder=world["funder"], hourly_rate_cents=1000)
    sources["hours"] = full_hours(enrolments)
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
    db.session.commit()
    total = claim.total_cents
    agreement.hourly_rate_cents = 1_000_000_000  # the agreement corrected while its claim is a draft
    db.session.commit()
    page = admin_client.get(f"/financement/demandes/{claim.id}")
    assert page.status_code == 200
    assert "Montant trop élevé : la demande atteindrait" in text(page)
    assert admin_client.get(f"/financement/demandes/{claim.id}/classeur.xlsx").status_code == 200
    claim_id = claim.id
    db.session.expire_all()
    assert db.session.get(FundingClaim, claim_id).total_cents == total
    deleted = admin_client.post(f"/financement/demandes/{claim_id}/supprimer")
    assert deleted.status_code == 302
    db.session.expire_all()
    assert db.session.get(FundingClaim, claim_id) is None


def test_payments_adding_up_beyond_what_the_database_stores_are_refused(admin_client, world, sources):
    claim = make_sent_claim(world, sources)
    with frozen_at(datetime(2019, 2, 1, 10)):
        funding_service.record_payment(claim, 1_000_000_000, date(2019, 2, 1))
        funding_service.record_payment(claim, 1_000_000_000, date(2019, 2, 1))
        db.session.commit()
        with pytest.raises(ServiceError, match="trop élevé"):
            funding_service.record_payment(claim, 1_000_000_000, date(2019, 2, 1))
    db.session.rollback()
    assert db.session.get(FundingClaim, claim.id).paid_cents == 2_000_000_000


def _draft(world, sources):
    factories.make_agreement(world["session"], world["enrolments"][:1], funder=world["funder"])
    sources["hours"] = full_hours(world["enrolments"][:1])
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=world["session"])
    db.session.commit()
    return claim


def test_the_admin_deletes_a_draft_claim_and_the_session_may_be_claimed_again(admin_client, world, sources):
    claim = _draft(world, sources)
    claim_id = claim.id
    page = text(admin_client.get(f"/financement/demandes/{claim_id}"))
    assert "Supprimer le brouillon" in page and f'action="/financement/demandes/{claim_id}/supprimer"' in page
    response = admin_client.post(f"/financement/demandes/{claim_id}/supprimer", follow_redirects=True)
    assert "Demande de paiement en brouillon supprimée." in text(response)
    db.session.expire_all()
    assert db.session.get(FundingClaim, claim_id) is None
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.entity_type == "funding_claims",
                                                          AuditEntry.entity_id == claim_id,
                                                          AuditEntry.action == "deleted"))
    assert entry.details["session_ids"] == [world["session"].id]
    with frozen_at(datetime(2019, 1, 11, 10)):
        again = funding_service.create_claim(world["funder"], session=world["session"])
    assert again.sessions == [world["session"]]


def test_a_sent_claim_cannot_be_deleted(admin_client, world, sources):
    claim = make_sent_claim(world, sources)
    assert "Supprimer le brouillon" not in text(admin_client.get(f"/financement/demandes/{claim.id}"))
    response = admin_client.post(f"/financement/demandes/{claim.id}/supprimer", follow_redirects=True)
    assert (f"Cette demande a été envoyée (n° {claim.number}) : elle ne peut plus être supprimée"
            in text(response))
    db.session.expire_all()
    assert db.session.get(FundingClaim, claim.id).status == "sent"


def test_a_numbered_draft_cannot_be_deleted(admin_client, world, sources):
    claim = _draft(world, sources)
    claim.number = "2019-0001"  # numbered by a sending rolled back before revision 0036: its number is kept
    db.session.commit()
    assert "Supprimer le brouillon" not in text(admin_client.get(f"/financement/demandes/{claim.id}"))
    with pytest.raises(ServiceError, match="Ce brouillon porte déjà le numéro de facture 2019-0001 : il ne peut"):
        funding_service.delete_draft(claim)


@pytest.mark.parametrize("role, expected", [("trainer", 403), ("anonymous", "sign-in"), ("trainee", "sign-in")])
def test_only_an_administrator_deletes_a_draft_claim(app, world, sources, role, expected):
    claim = _draft(world, sources)
    client = app.test_client()
    if role == "trainer":
        factories.login(client, factories.make_user("trainer"))
    elif role == "trainee":
        trainee = world["enrolments"][0].trainee
        assert client.get(factories.personal_path(trainee)).status_code == 200
    response = client.post(f"/financement/demandes/{claim.id}/supprimer")
    if expected == 403:
        assert response.status_code == 403
    else:
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.get(FundingClaim, claim.id) is not None


def test_the_workbook_says_why_hours_differ_from_the_planned_ones(world, sources):
    session, (awa, sophie, leila) = world["session"], world["enrolments"]
    factories.make_agreement(session, [awa, sophie, leila], funder=world["funder"], hourly_rate_cents=1500,
                             hourly_cap_cents=1200)
    sophie.status = EnrolmentStatus.WITHDRAWN  # left after the first day
    db.session.commit()
    sources["hours"] = {awa.id: funding_sources.Hours(1260, 1050, 210, 0),
                        sophie.id: funding_sources.Hours(1260, 420, 0, 0),
                        leila.id: funding_sources.Hours(1260, 1260, 0, 0)}
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
        content = funding_service.workbook_bytes(claim)
    sheet = openpyxl.load_workbook(io.BytesIO(content))["Stagiaires"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[-1] == "Observations"
    observations = {row[2].value: row[-1].value for row in sheet.iter_rows(min_row=2, max_row=4)}
    assert observations == {
        "Mme Awa DIALLO": "absence justifiée : 3 h 30 ; taux limité au plafond horaire (12,00\u202f€/h)",
        "Mme Sophie RENAUD": "abandon en cours de formation ; taux limité au plafond horaire (12,00\u202f€/h)",
        "Mme Leïla HADDAD": "taux limité au plafond horaire (12,00\u202f€/h)"}


def test_the_invoice_says_why_hours_differ_from_the_planned_ones(world, sources):
    session, (awa, sophie, _leila) = world["session"], world["enrolments"]
    factories.make_agreement(session, [awa, sophie], funder=world["funder"], hourly_rate_cents=1500)
    sophie.status = EnrolmentStatus.WITHDRAWN
    db.session.commit()
    sources["hours"] = {awa.id: funding_sources.Hours(1260, 1050, 0, 210),
                        sophie.id: funding_sources.Hours(1260, 420, 0, 0)}
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
        content = funding_service.invoice_bytes(claim)
    invoice = factories.docx_text(content)
    assert "Observations" in invoice
    assert "absence non justifiée : 3 h 30" in invoice and "abandon en cours de formation" in invoice


def test_a_payment_beyond_what_the_database_stores_is_refused_on_the_page(admin_client, world, sources):
    claim = make_sent_claim(world, sources)
    with frozen_at(datetime(2019, 2, 1, 10)):
        for _ in range(2):
            funding_service.record_payment(claim, 1_000_000_000, date(2019, 2, 1))
        db.session.commit()
        response = admin_client.post(f"/financement/demandes/{claim.id}/paiements", data={
            "received_on": "2019-02-01", "amount": "10000000", "payments_seen": "2"})
    assert response.status_code == 422 and "Montant trop élevé" in text(response)
    db.session.expire_all()
    assert db.session.get(FundingClaim, claim.id).paid_cents == 2_000_000_000
