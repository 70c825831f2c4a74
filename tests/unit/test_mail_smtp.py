"""E-mail through a real SMTP server (aiosmtpd, on the loopback): what production does when MAIL_SERVER is set.

The sender is a thread of its own: a request never waits for the SMTP server, messages waiting together share a
connection, an unreachable server is tried again then the loss is logged, a refused recipient does not stop the
others."""
import asyncio
import email
import email.policy
import io
import logging
import threading

import docx
import pytest
from aiosmtpd.controller import Controller

from tests import factories
from tests.web.test_public_registration import registration
from training_app.extensions import db
from training_app.models import Enrolment
from training_app.services import mail
from training_app.services.convocations import DOCX_MIMETYPE

WAIT = 30  # seconds: the most a test waits for the sender (it returns as soon as the messages are sent)


class Recorder:
    """An SMTP server's handler that keeps what it receives; `hold` cleared makes it wait before taking a message."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.connections = 0
        self.refuse: set[str] = set()
        self.busy: dict[str, int] = {}  # address -> how many times it is answered "try again later" first
        self.hold = threading.Event()
        self.hold.set()
        self.holding = threading.Event()  # set once a message waits for `hold`
        self.held = 0  # messages waiting for `hold` at this moment
        self.changed = threading.Condition()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Destinataire inconnu"
        if self.busy.get(address):
            self.busy[address] -= 1
            return "450 4.2.0 Boîte occupée, réessayez plus tard"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if not self.hold.is_set():
            self._count_held(+1)
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait)  # released at teardown at last
            self._count_held(-1)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def _count_held(self, change: int) -> None:
        with self.changed:
            self.held += change
            self.changed.notify_all()

    def wait_until_held(self, count: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.held == count, WAIT)


@pytest.fixture
def smtp_app(app, monkeypatch):
    """The application with MAIL_SERVER set, and a sender of its own (made again from this configuration)."""
    port = factories.free_port()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    monkeypatch.delitem(app.extensions, "smtp_sender", raising=False)
    yield app
    sender = app.extensions.pop("smtp_sender", None)
    assert sender is None or sender.close(WAIT), "the sender still had messages at the end of the test"


@pytest.fixture
def smtp_server(smtp_app):
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=smtp_app.config["MAIL_PORT"])
    controller.start()
    yield recorder
    recorder.hold.set()
    sender = smtp_app.extensions.get("smtp_sender")
    assert sender is None or sender.wait(WAIT), "the sender still had messages at the end of the test"
    controller.stop()


def _sender(app) -> mail.SmtpSender:
    return app.extensions["smtp_sender"]


def test_a_registration_is_answered_without_waiting_for_the_smtp_server(smtp_app, smtp_server, client, outbox):
    smtp_server.hold.clear()  # the server takes nothing until told
    session = factories.make_session(capacity=2)
    response = client.post(f"/formations/sessions/{session.id}/inscription", data=registration())
    assert response.status_code == 200 and "Votre inscription est confirmée." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(Enrolment.status)) == "confirmed"
    assert smtp_server.holding.wait(WAIT)  # the first message reached the server, which still holds it
    assert smtp_server.messages == [] and outbox == []  # answered meanwhile; nothing captured instead
    smtp_server.hold.set()
    assert _sender(smtp_app).wait(WAIT)
    to_person, to_office = sorted(smtp_server.messages, key=lambda m: m["To"] == smtp_app.config["MAIL_OFFICE"])
    assert to_person["To"] == "awa.diallo@example.org"
    assert to_person["Subject"] == "Votre inscription est confirmée"
    assert to_person["From"] == smtp_app.config["MAIL_SENDER"]
    assert to_person["Message-ID"].endswith("@example.org>") and to_person["Message-ID"] != to_office["Message-ID"]
    body = to_person.get_content()
    assert "Bonjour Awa Diallo," in body and "/moi/" in body
    assert to_office["To"] == smtp_app.config["MAIL_OFFICE"] and "Awa Diallo" in to_office["Subject"]


def test_messages_waiting_go_over_the_open_connection(smtp_app, smtp_server):
    smtp_app.extensions["smtp_sender"] = mail.SmtpSender(smtp_app.config, smtp_app.logger, threads=1)
    smtp_server.hold.clear()
    mail.deliver(mail.Mail(to=["premier@example.org"], subject="Premier", body="Corps"))
    assert smtp_server.holding.wait(WAIT)  # the first connection is busy with the first message
    for n in range(4):
        mail.deliver(mail.Mail(to=[f"personne{n}@example.org"], subject=f"Message {n}", body="Corps"))
    smtp_server.hold.set()
    assert _sender(smtp_app).wait(WAIT)
    assert [m["Subject"] for m in smtp_server.messages] == ["Premier"] + [f"Message {n}" for n in range(4)]
    assert smtp_server.connections == 1  # the four that waited went over the first message's connection


def test_the_number_of_connections_is_a_setting(smtp_app, monkeypatch):
    monkeypatch.setitem(smtp_app.config, "MAIL_SENDER_THREADS", 2)
    assert mail.smtp_sender(smtp_app).threads == 2


def test_the_threads_send_at_the_same_time(smtp_app, smtp_server):
    """A slow server does not make the messages queue behind each other: each thread has its connection."""
    smtp_server.hold.clear()
    for n in range(mail.SmtpSender.THREADS):
        mail.deliver(mail.Mail(to=[f"personne{n}@example.org"], subject=f"Message {n}", body="Corps"))
    assert smtp_server.wait_until_held(mail.SmtpSender.THREADS)  # all of them at the server at once
    smtp_server.hold.set()
    assert _sender(smtp_app).wait(WAIT)
    assert sorted(m["Subject"] for m in smtp_server.messages) == [f"Message {n}" for n in range(4)]
    assert smtp_server.connections == mail.SmtpSender.THREADS


def test_an_attachment_arrives_whole(smtp_app, smtp_server):
    document = docx.Document()
    document.add_paragraph("Convocation à la formation « Négocier »")
    content = io.BytesIO()
    document.save(content)
    mail.deliver(mail.Mail(to=["awa@example.org"], subject="Votre convocation", body="Ci-joint.",
                           attachments=[mail.Attachment("convocation.docx", content.getvalue(),
                                                        mimetype=DOCX_MIMETYPE)]))
    assert _sender(smtp_app).wait(WAIT)
    (received,) = smtp_server.messages
    (attachment,) = received.iter_attachments()
    assert attachment.get_filename() == "convocation.docx"
    assert attachment.get_content() == content.getvalue()
    assert "Négocier" in docx.Document(io.BytesIO(attachment.get_content())).paragraphs[0].text


def test_a_refused_recipient_is_logged_and_the_others_are_sent(smtp_app, smtp_server, caplog):
    smtp_server.refuse.add("inconnu@example.org")
    smtp_app.extensions["smtp_sender"] = mail.SmtpSender(smtp_app.config, smtp_app.logger, threads=1)
    smtp_server.hold.clear()
    mail.deliver(mail.Mail(to=["premier@example.org"], subject="Premier", body="Corps"))
    assert smtp_server.holding.wait(WAIT)
    mail.deliver(mail.Mail(to=["inconnu@example.org"], subject="Refusé", body="Corps"))
    mail.deliver(mail.Mail(to=["awa@example.org"], subject="Accepté", body="Corps"))
    with caplog.at_level(logging.WARNING):
        smtp_server.hold.set()
        assert _sender(smtp_app).wait(WAIT)
    assert [m["Subject"] for m in smtp_server.messages] == ["Premier", "Accepté"]
    assert any("'Refusé'" in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)


def test_an_unreachable_server_is_tried_again_then_the_loss_is_logged(smtp_app, client, caplog):
    # Nothing listens on MAIL_PORT. The registration is committed and answered all the same.
    smtp_app.extensions["smtp_sender"] = sender = mail.SmtpSender(smtp_app.config, smtp_app.logger)
    sender.retry_delays = (0, 0)
    session = factories.make_session(capacity=2)
    with caplog.at_level(logging.WARNING):
        response = client.post(f"/formations/sessions/{session.id}/inscription", data=registration())
        assert response.status_code == 200
        assert sender.wait(WAIT)
    assert db.session.scalar(db.select(Enrolment.status)) == "confirmed"
    messages = [r.getMessage() for r in caplog.records]
    retries = [m for m in messages if "tried again" in m]
    lost = [m for m in messages if m.startswith("could not send e-mail")]
    assert len(lost) == 2 and any("awa.diallo@example.org" in m for m in lost)
    assert len(retries) == 4  # two for each message (each thread takes one)


def test_a_server_back_after_a_failure_gets_the_messages(smtp_app):
    """The first attempt finds no server; the retry finds it: nothing is lost."""
    sender = smtp_app.extensions["smtp_sender"] = mail.SmtpSender(smtp_app.config, smtp_app.logger)
    recorder, started = Recorder(), []

    def start_server_then_wait(_delay):  # the sender's pause before retrying: the server comes up meanwhile
        controller = Controller(recorder, hostname="127.0.0.1", port=smtp_app.config["MAIL_PORT"])
        controller.start()
        started.append(controller)

    sender.retry_delays = (0,)
    sender.pause = start_server_then_wait
    try:
        mail.deliver(mail.Mail(to=["awa@example.org"], subject="Bienvenue", body="Corps"))
        assert sender.wait(WAIT)
        assert [m["Subject"] for m in recorder.messages] == ["Bienvenue"]
    finally:
        for controller in started:
            controller.stop()


def test_a_temporary_refusal_is_tried_again(smtp_app, smtp_server, caplog):
    """450 (greylisting, a full mailbox): not a refusal for good; the message goes once the server takes it."""
    sender = smtp_app.extensions["smtp_sender"] = mail.SmtpSender(smtp_app.config, smtp_app.logger)
    sender.pause = lambda _delay: None
    smtp_server.busy["awa@example.org"] = 2
    with caplog.at_level(logging.WARNING):
        mail.deliver(mail.Mail(to=["awa@example.org"], subject="Bienvenue", body="Corps"))
        assert sender.wait(WAIT)
    assert [m["Subject"] for m in smtp_server.messages] == ["Bienvenue"]
    assert len([r for r in caplog.records if "tried again" in r.getMessage()]) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_messages_left_when_the_process_ends_are_logged_as_lost(smtp_app, smtp_server, caplog):
    sender = smtp_app.extensions["smtp_sender"] = mail.SmtpSender(smtp_app.config, smtp_app.logger, threads=1)
    sender.DRAIN_SECONDS = 0
    smtp_server.hold.clear()
    mail.deliver(mail.Mail(to=["premier@example.org"], subject="Premier", body="Corps"))
    mail.deliver(mail.Mail(to=["second@example.org"], subject="Second", body="Corps"))
    assert smtp_server.holding.wait(WAIT)
    with caplog.at_level(logging.ERROR):
        sender._drain_at_exit()  # what runs when the process ends
    assert any("2 e-mail(s) not sent" in r.getMessage() for r in caplog.records)
    smtp_server.hold.set()
    assert sender.wait(WAIT)  # this process goes on: they are sent


def test_a_forked_process_does_not_send_its_parent_s_messages(smtp_app, smtp_server):
    """A gunicorn worker is a fork: it starts with an empty queue and threads of its own."""
    import os
    sender = smtp_app.extensions["smtp_sender"] = mail.SmtpSender(smtp_app.config, smtp_app.logger, threads=1)
    smtp_server.hold.clear()
    mail.deliver(mail.Mail(to=["premier@example.org"], subject="Premier", body="Corps"))
    assert smtp_server.holding.wait(WAIT)
    mail.deliver(mail.Mail(to=["second@example.org"], subject="Second", body="Corps"))  # waits in the queue
    child = os.fork()
    if child == 0:  # the child: nothing inherited to send, nothing to wait for
        os._exit(0 if (sender._unsent, sender._queue.qsize(), sender._running, sender.wait(0)) == (0, 0, [], True)
                 else 1)
    _, status = os.waitpid(child, 0)
    smtp_server.hold.set()
    assert sender.wait(WAIT)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [m["Subject"] for m in smtp_server.messages] == ["Premier", "Second"]  # each once
