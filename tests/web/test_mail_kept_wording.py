"""Without a mail server the e-mails are only kept in the outbox (« Conservé, non envoyé »): the pages that queue
one say so, never that it was sent (mail.told_by_email, mail.reaches_mailboxes)."""
import pytest

from tests import factories
from tests.web.test_sessions import session_form
from training_app.extensions import db

KEPT = "e-mail conservé dans « Courriels », non envoyé : aucun serveur d'envoi n'est configuré"


@pytest.fixture
def no_mail_server(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    monkeypatch.setitem(app.config, "MAIL_CAPTURED_AS_DELIVERED", False)


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_a_cancellation_that_promotes_says_the_e_mail_is_kept_not_sent(admin_client, no_mail_server):
    session = factories.make_session(capacity=1)
    seated = factories.enrol(session)
    factories.enrol(session, factories.make_trainee("Bastien", "Riou"))
    page = _text(admin_client.post(f"/inscriptions/{seated.id}/annuler", data={"reason": "Arrêt maladie"},
                                   follow_redirects=True))
    assert f"Bastien Riou quitte la liste d'attente : sa place est confirmée ({KEPT})." in page
    assert "e-mail envoyé" not in page


def test_raising_the_capacity_says_the_e_mails_are_kept_not_sent(admin_client, no_mail_server):
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    factories.enrol(session)
    db.session.commit()
    page = _text(admin_client.post(f"/sessions/{session.id}/modifier", follow_redirects=True, data=session_form(
        session.programme, version=factories.version_of(session), capacity="2")))
    assert ("1 personne de la liste d'attente a obtenu une place (places ajoutées). L'e-mail qui la prévient est "
            "conservé dans « Courriels », sans être envoyé : aucun serveur d'envoi n'est configuré.") in page
    assert "prévenue par e-mail" not in page
