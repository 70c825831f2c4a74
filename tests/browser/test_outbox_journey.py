"""The office sees what became of the e-mail the application wrote: a convocation whose address the SMTP
server refused is shown failed, with the server's words; once the cause is dealt with, the office sends it
again and the page shows it sent."""
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from tests import factories
from tests.conftest import serve
from tests.unit.test_mail_smtp import WAIT, Recorder
from training_app.services import mail

pytestmark = pytest.mark.browser


@pytest.fixture
def smtp_server():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=factories.free_port())
    controller.start()
    yield recorder, controller.port
    controller.stop()


@pytest.fixture
def live_server(app, smtp_server):
    """As tests/conftest.py's, with e-mail sent to the SMTP server above (as production sends it)."""
    for served in serve(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server[1], MAIL_USE_TLS=False):
        yield served
        assert mail.smtp_sender(served).close(WAIT)  # its threads stop (the retrying one too)


def test_a_refused_convocation_is_shown_failed_then_sent_again(page, live_server, smtp_server):
    recorder, _port = smtp_server
    recorder.refuse.add("awa.diallo@example.org")  # e.g. the employer's server did not know her yet
    factories.make_organisation()
    admin = factories.make_user("admin", name="Claire Bernard")
    session = factories.make_session(programme=factories.make_programme(title="Du dialogue à la négociation"))
    enrolment = factories.enrol(session, factories.make_trainee(first_name="Awa", last_name="Diallo",
                                                                email="awa.diallo@example.org"))
    sender = mail.smtp_sender(live_server)

    factories.sign_in_browser(page, admin)
    page.goto(f"/inscriptions/{enrolment.id}")
    page.get_by_role("button", name="Envoyer la convocation").click()
    expect(page.get_by_role("status").first).to_contain_text("Convocation envoyée")
    assert sender.wait(WAIT)

    page.get_by_role("link", name="Courriels").click()
    # Listed first, among the messages to look at (and again among the newest).
    message = page.get_by_test_id("mail-attention").get_by_test_id("outbox-message").filter(
        has_text="Convocation : Du dialogue à la négociation")
    expect(message.get_by_test_id("mail-status")).to_have_text("En échec")
    message.locator("summary").click()
    expect(message.get_by_test_id("mail-error")).to_contain_text("Destinataire inconnu")
    assert recorder.messages == []

    recorder.refuse.clear()  # the address now exists
    message.get_by_role("button", name="Renvoyer").click()
    expect(page.get_by_role("status").first).to_contain_text("Le courriel à awa.diallo@example.org est remis en file d'envoi.")
    assert sender.wait(WAIT)
    page.reload()
    expect(page.get_by_test_id("mail-attention")).to_have_count(0)  # nothing left to look at
    message = page.get_by_test_id("outbox-message").filter(has_text="Convocation : Du dialogue à la négociation")
    expect(message.get_by_test_id("mail-status")).to_have_text("Envoyé")
    (received,) = recorder.messages
    assert received["To"] == "awa.diallo@example.org"
    (attachment,) = received.iter_attachments()
    assert attachment.get_filename().endswith(".docx")
