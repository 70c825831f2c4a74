"""The office's preview of a convocation: the same document as the one sent, but for the trainee's link."""
import pytest

from tests import factories
from training_app.services import convocations
from training_app.services.trainee_links import personal_url


@pytest.mark.parametrize("mail_server", ["127.0.0.1", None])
def test_the_preview_shows_the_personal_link_as_the_outbox_does(admin_client, app, monkeypatch, mail_server):
    """With a mail server, the trainee's personal link lets whoever holds it sign as them: the preview hides it
    (the convocation sent keeps it). Without one, the office hands convocations over itself: shown whole."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", mail_server)
    factories.make_organisation()
    enrolment = factories.make_enrolment(factories.make_session())
    with app.test_request_context():
        link = personal_url(enrolment.trainee)
        sent = factories.docx_text(convocations.render(enrolment))  # what the trainee receives
    assert link in sent
    response = admin_client.get(f"/inscriptions/{enrolment.id}/convocation.docx")
    text = factories.docx_text(response.data)
    assert response.status_code == 200 and "Votre espace personnel" in text
    if mail_server:
        assert link not in text and "/moi/[masqué]" in text
    else:
        assert link in text
