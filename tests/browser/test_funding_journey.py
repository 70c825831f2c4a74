"""An administrator records a funder's agreement, builds the claim, sends it and records a partial payment."""
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.test_attendance_journey import accept_dialogs
from tests.web.test_funding import issued, set_organisation, stub_certificates
from training_app.services import funding_sources

pytestmark = pytest.mark.browser


def test_admin_builds_sends_and_follows_a_claim(page, monkeypatch):
    admin = factories.make_user("admin", name="Claire Bernard")
    set_organisation()
    funder = factories.make_funder("Uniformation")
    employer = factories.make_employer("CCAS de Rennes", siret="78324521000001", funder=funder)
    session = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30),
                                     status="completed")
    awa = factories.make_enrolment(session, factories.make_trainee("Awa", "Diallo", employer=employer))
    julien = factories.make_enrolment(session, factories.make_trainee("Julien", "Le Bihan", employer=employer))
    hours = {awa.id: funding_sources.Hours(1260, 1260, 0, 0), julien.id: funding_sources.Hours(1260, 1020, 0, 240)}
    monkeypatch.setattr(funding_sources, "hours_by_enrolment", lambda s: hours)
    monkeypatch.setattr(funding_sources, "open_slots", lambda s: [])
    stub_certificates(monkeypatch, lambda s: {e: {"realisation": issued(h)} for e, h in hours.items()})

    factories.sign_in_browser(page, admin)
    page.goto(f"/sessions/{session.id}")
    page.get_by_role("link", name="Accords de prise en charge et demandes de paiement").click()
    page.get_by_role("link", name="Nouvelle demande de prise en charge").click()

    page.get_by_label("Financeur (OPCO)").select_option(label="Uniformation")
    page.get_by_label("Awa Diallo (CCAS de Rennes)").check()
    page.get_by_label("Julien Le Bihan (CCAS de Rennes)").check()
    page.get_by_label("Date de la demande").fill("2018-11-02")
    page.get_by_label("Numéro de dossier").fill("UNI-2018-0042")
    page.get_by_label("Taux horaire accordé (€/h)").fill("15.00")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    assert "Demande de prise en charge enregistrée" in page.get_by_role("status").first.inner_text()

    grant = page.locator("form", has=page.get_by_role("button", name="Enregistrer l'accord"))
    grant.get_by_label("Montant accordé (€)").fill("630")
    grant.get_by_role("button", name="Enregistrer l'accord").click()
    assert page.get_by_test_id("agreement-status").inner_text() == "Accordé"

    page.get_by_role("link", name=session.title).first.click()
    page.get_by_label("Financeur").select_option(label="Uniformation")
    page.get_by_role("button", name="Préparer la demande de paiement").click()
    expect(page.get_by_test_id("no-problem")).to_be_visible()
    lines = page.get_by_test_id("claim-line")
    assert lines.count() == 2
    assert "17 h" in lines.nth(1).inner_text() and "255,00\u202f€" in lines.nth(1).inner_text()
    assert "570,00\u202f€" in page.get_by_test_id("claim-total").inner_text()

    page.get_by_role("button", name="Marquer comme envoyée").click()
    assert page.get_by_test_id("claim-status").inner_text() == "Envoyée"
    payment = page.locator("form", has=page.get_by_role("button", name="Enregistrer le paiement"))
    payment.get_by_label("Montant reçu (€)").fill("500")
    payment.get_by_role("button", name="Enregistrer le paiement").click()
    assert page.get_by_test_id("claim-status").inner_text() == "Payée en partie"
    assert "70,00\u202f€" in page.get_by_test_id("claim-balance").inner_text()

    # another claim's transfer recorded here by mistake: cancelled, with its reason, after the page's question
    payment.get_by_label("Montant reçu (€)").fill("50")
    payment.get_by_role("button", name="Enregistrer le paiement").click()
    assert "20,00\u202f€" in page.get_by_test_id("claim-balance").inner_text()
    questions = accept_dialogs(page)
    mistake = page.get_by_test_id("payment").filter(has_text=": 50,00")
    mistake.locator("summary").click()
    mistake.get_by_label("Motif de l'annulation").fill("Virement d'une autre demande")
    mistake.get_by_role("button", name="Annuler ce paiement").click()
    expect(page.get_by_test_id("payment-cancelled")).to_contain_text("Virement d'une autre demande")
    assert questions and questions[0].startswith("Annuler le paiement de 50,00\u202f€ reçu le")
    assert page.get_by_test_id("claim-status").inner_text() == "Payée en partie"
    assert "70,00\u202f€" in page.get_by_test_id("claim-balance").inner_text()

    page.get_by_role("link", name="Financement", exact=True).click()
    assert "70,00\u202f€" in page.get_by_test_id("expected").inner_text()
    assert "500,00\u202f€" in page.get_by_test_id("received").inner_text()
