"""Correcting a sheet that a claim sent to the funder bills: the correction stays possible, the office is told.
Before: the sheet's correction form, its reopening and the reopened sheet name the claims (number, funder, date
sent) and say the dossier sent stays as it is. After a correction that makes the hours billed differ from the
sheets: a warning in the trainee's card names the claim, with a link to its page (where the difference shows)."""
from datetime import datetime, timedelta

import pytest

from tests import factories
from training_app.clock import frozen_at

KEEPS = "Le dossier envoyé reste tel qu'il est"


def _billed_course(trainer, status: str):
    """Awa billed by a claim to Uniformation in `status`, Julien by none (factories.make_billed_course)."""
    return factories.make_billed_course(trainer, status)


def _sheet_url(session) -> str:
    return f"/sessions/{session.id}/emargement/{session.slots[0].id}"


def _correct(client, session, enrolment, status: str, **fields):
    return client.post(f"{_sheet_url(session)}/statut/{enrolment.id}", data={
        f"r{enrolment.id}-status": status, f"r{enrolment.id}-reason": "Correction d'après la feuille papier",
        **{f"r{enrolment.id}-{name}": value for name, value in fields.items()}})


@pytest.mark.parametrize("status", ["sent", "paid"])
def test_the_correction_form_and_the_reopening_name_the_claim_sent_before_acting(admin_client, trainer, status):
    session, awa, julien, claim = _billed_course(trainer, status)
    page = admin_client.get(f"{_sheet_url(session)}?corriger={awa.id}").get_data(as_text=True)
    assert page.count('data-testid="billing-claims"') == 1  # in Awa's correction form
    assert page.count('data-testid="reopen-billing-claims"') == 1  # beside the reopening
    assert "Les heures d&#39;Awa Stagiaire00 sont facturées au financeur, cette demi-journée comprise, par" in page
    assert (f"la demande de paiement n° {claim.number}, envoyée le 20/03/2030 à Uniformation"
            f"{' (payée)' if status == 'paid' else ''}") in page
    assert f'href="/financement/demandes/{claim.id}"' in page
    assert page.count(KEEPS) == 2 and "la différence est à régler avec le financeur" in page
    # Julien is billed by no claim: his correction form says nothing of it (the reopening still does)
    page = admin_client.get(f"{_sheet_url(session)}?corriger={julien.id}").get_data(as_text=True)
    assert 'data-testid="billing-claims"' not in page and page.count('data-testid="reopen-billing-claims"') == 1


@pytest.mark.parametrize("status", ["draft", "rejected"])
def test_a_draft_or_a_rejected_claim_is_not_named_on_the_sheet(admin_client, trainer, status):
    session, awa, _julien, claim = _billed_course(trainer, status)
    page = admin_client.get(f"{_sheet_url(session)}?corriger={awa.id}").get_data(as_text=True)
    assert "billing-claims" not in page and KEEPS not in page
    assert _correct(admin_client, session, awa, "absent_unjustified").status_code == 302
    page = admin_client.get(_sheet_url(session)).get_data(as_text=True)
    assert "Statut d&#39;Awa Stagiaire00 enregistré." in page
    assert 'data-testid="row-warning"' not in page and f"/financement/demandes/{claim.id}" not in page


def test_a_correction_changing_billed_hours_is_followed_by_a_warning_linking_the_claim(admin_client, trainer):
    session, awa, _julien, claim = _billed_course(trainer, "sent")
    response = _correct(admin_client, session, awa, "absent_unjustified")
    assert response.status_code == 302 and response.location.endswith(f"#stagiaire-{awa.id}")
    page = admin_client.get(_sheet_url(session)).get_data(as_text=True)
    assert page.count('data-testid="row-warning"') == 1
    assert (f"Les heures d&#39;Awa Stagiaire00 facturées dans la demande de paiement n° {claim.number}, envoyée le "
            "20/03/2030 à Uniformation ne correspondent plus aux feuilles d&#39;émargement : 21 h facturées, 17 h sur "
            "les feuilles. Le dossier envoyé reste tel qu&#39;il est, la différence est à régler avec le financeur.") in page
    assert (f'<a href="/financement/demandes/{claim.id}">Voir la demande de paiement n° {claim.number}</a>'
            in page)
    assert 'data-testid="row-warning"' not in admin_client.get(_sheet_url(session)).get_data(as_text=True)  # once
    # the claim's page lists the difference
    page = admin_client.get(f"/financement/demandes/{claim.id}").get_data(as_text=True)
    assert 'data-testid="hours-change"' in page


def test_a_correction_of_a_trainee_no_claim_bills_warns_of_nothing(admin_client, trainer):
    session, _awa, julien, _claim = _billed_course(trainer, "sent")
    assert _correct(admin_client, session, julien, "absent_unjustified").status_code == 302
    assert 'data-testid="row-warning"' not in admin_client.get(_sheet_url(session)).get_data(as_text=True)


def test_the_reopened_sheet_names_the_claim_above_its_rows(admin_client, trainer):
    session, awa, _julien, claim = _billed_course(trainer, "partially_paid")
    response = admin_client.post(f"{_sheet_url(session)}/rouvrir", data={"reason": "Retard oublié"})
    assert response.status_code == 302
    page = admin_client.get(_sheet_url(session)).get_data(as_text=True)
    assert "Feuille rouverte." in page
    assert page.count('data-testid="billing-claims"') == 1 and "reopen-billing-claims" not in page
    assert f"la demande de paiement n° {claim.number}, envoyée le 20/03/2030 à Uniformation (payée en partie)" in page
    # marking on the reopened sheet (its day over) is a correction too
    with frozen_at(datetime(2030, 3, 21, 10)):
        assert _correct(admin_client, session, awa, "left_early", departure_time="17:00").status_code == 302
    page = admin_client.get(_sheet_url(session)).get_data(as_text=True)
    assert "21 h facturées, 20 h sur les feuilles." in page


def test_a_trainer_reading_the_sheet_is_not_shown_the_claims(trainer_client, trainer):
    session, _awa, _julien, _claim = _billed_course(trainer, "sent")
    page = trainer_client.get(_sheet_url(session)).get_data(as_text=True)
    assert "billing-claims" not in page and "/financement/demandes/" not in page


def test_a_trainer_correcting_a_sheet_the_office_reopened_is_not_told_of_the_claim(admin_client, trainer_client,
                                                                                   trainer):
    """The claims are the office's business (their page is the office's): a trainer marking a trainee on a sheet
    reopened during the half-day gets the usual notice, no claim named."""
    session, awa, _julien, claim = _billed_course(trainer, "sent")
    slot = session.slots[0]
    with frozen_at(slot.ends_at - timedelta(minutes=30)):
        assert admin_client.post(f"{_sheet_url(session)}/rouvrir", data={"reason": "Retard oublié"}).status_code == 302
        assert _correct(trainer_client, session, awa, "absent_unjustified").status_code == 302
        page = trainer_client.get(_sheet_url(session)).get_data(as_text=True)
    assert "enregistré." in page  # the status was saved
    assert 'data-testid="row-warning"' not in page and claim.number not in page and "Uniformation" not in page
