"""The office's preview of a convocation: the same document as the one sent, but for the trainee's link."""
import re

import pytest

from tests import factories
from training_app.services import convocations
from training_app.services.trainee_links import trainee_from_token


@pytest.mark.parametrize("mail_server", ["127.0.0.1", None])
def test_the_preview_shows_the_personal_link_as_the_outbox_does(admin_client, app, monkeypatch, mail_server):
    """With a mail server, the trainee's personal link lets whoever holds it sign as them: the preview hides it
    (the convocation sent keeps it). Without one, the office hands convocations over itself: shown whole."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", mail_server)
    factories.make_organisation()
    enrolment = factories.make_enrolment(factories.make_session())

    def opens_their_space(text: str) -> bool:
        """The text holds a working personal link of this trainee (a token is signed at the second it is made:
        compare what it opens, not its characters)."""
        found = re.search(r"/moi/([^\s/\[]+)", text)
        return bool(found) and trainee_from_token(found.group(1)) == enrolment.trainee

    with app.test_request_context():
        assert opens_their_space(factories.docx_text(convocations.render(enrolment)))  # what the trainee receives
    response = admin_client.get(f"/inscriptions/{enrolment.id}/convocation.docx")
    text = factories.docx_text(response.data)
    assert response.status_code == 200 and "Votre espace personnel" in text
    with app.test_request_context():
        if mail_server:
            assert not opens_their_space(text) and "/moi/[masqué]" in text
        else:
            assert opens_their_space(text)
