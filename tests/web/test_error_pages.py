"""Error pages: an unexpected error is logged as Flask does, without the secret that personal, confirmation and
password links carry in their path, and the visitor gets the French 500 page; an action's address opened as a
page offers the way back to the page it belongs to."""
import logging

import pytest

from tests import factories
from training_app.access import PUBLIC, access
from training_app.extensions import db


@pytest.fixture
def failing_view(app, monkeypatch):
    """Every view replaced by one that fails; errors handled as in production (not raised into the test)."""
    @access(PUBLIC)
    def fails(**_arguments):
        raise RuntimeError("panne imprévue")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    for endpoint in list(app.view_functions):
        if endpoint != "static":
            monkeypatch.setitem(app.view_functions, endpoint, fails)


@pytest.mark.parametrize("path", ["/moi/SECRET-du-stagiaire-123", "/formations/inscription/confirmer/SECRET-abc",
                                  "/mot-de-passe-oublie/SECRET.xyz", "/emargement/salle/SECRET-qr",
                                  "/verifier/SECRET-CODE"])
def test_an_unexpected_error_is_logged_without_the_links_secret(client, failing_view, caplog, path):
    with caplog.at_level(logging.ERROR):
        response = client.get(path)
    assert response.status_code == 500 and "Une erreur inattendue" in response.get_data(as_text=True)
    [logged] = [record for record in caplog.records if record.getMessage().startswith("Exception on")]
    assert "SECRET" not in logged.getMessage() and "[masqué]" in logged.getMessage()
    assert logged.exc_info and "panne imprévue" in str(logged.exc_info[1])  # the error itself is still logged
    db.session.rollback()


def test_an_actions_address_opened_as_a_page_leads_back_to_its_page(admin_client):
    """« Erreur 405 » with only « Retour à l'accueil » was a dead end for a link copied from a form."""
    session = factories.make_session()
    slot_url = f"/sessions/{session.id}/creneaux/{session.slots[0].id}"
    response = admin_client.get(f"{slot_url}/supprimer")  # removes a half-day: POST only
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 405 and "Cette action n'est pas possible ici." in page
    assert f'href="{slot_url}" data-testid="error-back"' in page


def test_a_refused_half_days_address_reopened_leads_back_to_its_form(admin_client):
    """A half-day refused leaves …/creneaux#ajout-demi-journee in the address bar: Enter there reopens the form,
    not « Erreur 405 »."""
    session = factories.make_session()
    response = admin_client.post(f"/sessions/{session.id}/creneaux", data={
        "date": "2030-03-11", "start_time": "14:00", "end_time": "13:00"})
    assert response.status_code == 422
    response = admin_client.get(f"/sessions/{session.id}/creneaux")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sessions/{session.id}#ajout-demi-journee")
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="slot-form"' in page
    assert admin_client.get("/sessions/999999/creneaux").status_code == 404


def test_the_way_back_is_offered_only_when_the_address_above_is_a_page(client):
    response = client.get("/connexion/inexistante/envoyer")
    assert response.status_code == 404 and 'data-testid="error-back"' not in response.get_data(as_text=True)
