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
    response = admin_client.get(f"/sessions/{session.id}/creneaux")  # adds a half-day: POST only
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 405 and "Cette action n'est pas possible ici." in page
    assert f'href="/sessions/{session.id}" data-testid="error-back"' in page


def test_the_way_back_is_offered_only_when_the_address_above_is_a_page(client):
    response = client.get("/connexion/inexistante/envoyer")
    assert response.status_code == 404 and 'data-testid="error-back"' not in response.get_data(as_text=True)
