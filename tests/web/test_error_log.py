"""An unexpected error is logged as Flask does, without the secret that personal, confirmation and password
links carry in their path; the visitor gets the French 500 page."""
import logging

import pytest

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
                                  "/mot-de-passe-oublie/SECRET.xyz"])
def test_an_unexpected_error_is_logged_without_the_links_secret(client, failing_view, caplog, path):
    with caplog.at_level(logging.ERROR):
        response = client.get(path)
    assert response.status_code == 500 and "Une erreur inattendue" in response.get_data(as_text=True)
    [logged] = [record for record in caplog.records if record.getMessage().startswith("Exception on")]
    assert "SECRET" not in logged.getMessage() and "[masqué]" in logged.getMessage()
    assert logged.exc_info and "panne imprévue" in str(logged.exc_info[1])  # the error itself is still logged
    db.session.rollback()
