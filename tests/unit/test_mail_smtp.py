"""E-mail through a real SMTP server (aiosmtpd, on the loopback): what production does when MAIL_SERVER is set.

The sender is a thread of its own: a request never waits for the SMTP server, messages waiting together share a
connection, an unreachable server is tried again then the loss is logged, a refused recipient does not stop the
others."""
import asyncio
import email
import email.policy
import io
import logging
import re
import threading
from datetime import datetime, timedelta

import docx
import pytest
from aiosmtpd.controller import Controller

from tests import factories
from tests.web.test_public_registration import registration
from sqlalchemy import create_engine

from training_app.clock import frozen_at, utcnow
from training_app.extensions import db
from training_app.models import Enrolment, OutgoingMail, OutgoingMailAttachment, RegistrationRequest
from training_app.page_cache import data_token
from training_app.services import ServiceError, mail, users
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
    assert response.status_code == 200 and "Consultez votre messagerie" in response.get_data(as_text=True)
    assert smtp_server.holding.wait(WAIT)  # the request's message reached the server, which still holds it
    assert smtp_server.messages == [] and outbox == []  # answered meanwhile; nothing captured instead
    smtp_server.hold.set()
    assert _sender(smtp_app).wait(WAIT)
    [asking] = smtp_server.messages
    assert asking["To"] == "awa.diallo@example.org" and asking["Subject"] == "Confirmez votre demande d'inscription"
    link = re.search(r"http://\S+(/formations/inscription/confirmer/\S+)", asking.get_content()).group(1)
    # Sent: the row keeps the message without the link's secret (only the person proves the address).
    assert "/formations/inscription/confirmer/[masqué]" in db.session.scalar(db.select(OutgoingMail.body))

    smtp_server.hold.clear()
    response = client.post(link)  # the person confirms: enrolled, told, the office too
    assert 'data-testid="confirmed-now"' in response.get_data(as_text=True)
    assert db.session.scalar(db.select(Enrolment.status)) == "confirmed"
    assert smtp_server.holding.wait(WAIT)
    smtp_server.hold.set()
    assert _sender(smtp_app).wait(WAIT)
    to_person, to_office = sorted(smtp_server.messages[1:], key=lambda m: m["To"] == smtp_app.config["MAIL_OFFICE"])
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
    assert db.session.scalar(db.select(RegistrationRequest.email)) == "awa.diallo@example.org"
    messages = [r.getMessage() for r in caplog.records]
    retries = [m for m in messages if "tried again" in m]
    lost = [m for m in messages if m.startswith("could not send e-mail")]
    assert len(lost) == 1 and "awa.diallo@example.org" in lost[0]  # the confirmation link, still pending
    assert len(retries) == 2


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


def test_messages_left_when_the_process_ends_are_logged_as_kept_pending(smtp_app, smtp_server, caplog):
    sender = smtp_app.extensions["smtp_sender"] = mail.SmtpSender(smtp_app.config, smtp_app.logger, threads=1)
    sender.DRAIN_SECONDS = 0
    smtp_server.hold.clear()
    mail.deliver(mail.Mail(to=["premier@example.org"], subject="Premier", body="Corps"))
    mail.deliver(mail.Mail(to=["second@example.org"], subject="Second", body="Corps"))
    assert smtp_server.holding.wait(WAIT)
    with caplog.at_level(logging.WARNING):
        sender._drain_at_exit()  # what runs when the process ends
    assert any("2 e-mail(s) not sent" in r.getMessage() and "stay pending" in r.getMessage()
               for r in caplog.records)
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


# --- every message is a row: what became of it is recorded, and nothing is lost with a process -------------

def _records() -> list[OutgoingMail]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(OutgoingMail).order_by(OutgoingMail.id)))


def _queue(subject: str, to: str = "awa@example.org", attachments=()) -> None:
    mail.queue(to, subject, "Corps", attachments)
    db.session.commit()


def test_what_the_server_took_is_recorded_sent_with_its_message_id(smtp_app, smtp_server):
    _queue("Votre convocation", attachments=[mail.Attachment("convocation.docx", b"PK-contenu", DOCX_MIMETYPE)])
    assert _sender(smtp_app).wait(WAIT)
    (record,) = _records()
    (received,) = smtp_server.messages
    assert (record.status, record.attempts, record.error) == ("sent", 1, "")
    assert record.sent_at is not None and record.message_id == received["Message-ID"]
    assert record.attachment_names == ["convocation.docx"]
    assert db.session.scalar(db.select(db.func.count()).select_from(OutgoingMailAttachment)) == 0  # sent: gone


def test_a_refused_address_is_recorded_failed_with_the_server_s_words_then_sent_again(smtp_app, smtp_server,
                                                                                       admin_client):
    smtp_server.refuse.add("inconnu@example.org")
    _queue("Votre lien personnel", to="inconnu@example.org")
    assert _sender(smtp_app).wait(WAIT)
    (record,) = _records()
    assert record.status == "failed" and "550" in record.error and "Destinataire inconnu" in record.error
    page = admin_client.get("/admin/courriels").get_data(as_text=True)
    assert "En échec" in page and "Destinataire inconnu" in page and "Renvoyer" in page
    assert "1 courriel n'a pas pu partir" in admin_client.get("/tableau-de-bord").get_data(as_text=True)

    smtp_server.refuse.clear()  # e.g. the mailbox was created meanwhile
    answer = admin_client.post(f"/admin/courriels/{record.id}/renvoyer", follow_redirects=True)
    assert "Le courriel à inconnu@example.org est remis en file" in answer.get_data(as_text=True)
    assert _sender(smtp_app).wait(WAIT)
    assert [m["Subject"] for m in smtp_server.messages] == ["Votre lien personnel"]
    assert _records()[0].status == "sent"
    assert "pas pu partir" not in admin_client.get("/tableau-de-bord").get_data(as_text=True)


def test_only_a_failed_message_can_be_sent_again(smtp_app, smtp_server, admin_client):
    _queue("Bienvenue")
    assert _sender(smtp_app).wait(WAIT)
    (record,) = _records()
    answer = admin_client.post(f"/admin/courriels/{record.id}/renvoyer", follow_redirects=True)
    assert "Seul un courriel en échec peut être renvoyé." in answer.get_data(as_text=True)
    assert len(smtp_server.messages) == 1 and _records()[0].attempts == 1
    assert admin_client.post("/admin/courriels/999999/renvoyer").status_code == 404


def test_a_server_away_longer_than_the_retries_leaves_the_messages_pending_until_it_is_back(smtp_app, caplog):
    """Before, such messages were logged as lost; the registration's e-mail with the personal link never came."""
    sender = mail.smtp_sender(smtp_app)
    sender.retry_delays = (0,)
    with caplog.at_level(logging.WARNING):
        _queue("Votre inscription est confirmée")
        assert sender.wait(WAIT)
    (record,) = _records()
    assert record.status == "pending" and record.claimed_at is None and record.attempts == 1
    assert "Connection refused" in record.error or "Errno" in record.error
    assert any("left pending" in r.getMessage() for r in caplog.records)

    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=smtp_app.config["MAIL_PORT"])
    controller.start()
    try:
        assert mail.send_pending(smtp_app) == 1
        assert sender.wait(WAIT)
    finally:
        controller.stop()
    assert [m["Subject"] for m in recorder.messages] == ["Votre inscription est confirmée"]
    assert _records()[0].status == "sent"
    assert mail.send_pending(smtp_app) == 0  # nothing twice


def test_messages_of_a_process_that_stopped_are_sent_by_another_once_their_claim_ran_out(smtp_app, smtp_server):
    """A message is written with its process's claim: another process leaves it alone for MAIL_CLAIM_MINUTES
    (its own process may still be sending it), then sends it."""
    with frozen_at(datetime(2030, 3, 1, 9, 0)):
        mail.queue("awa@example.org", "Convocation", "Corps")
        smtp_app.extensions["smtp_sender"] = stopped = mail.SmtpSender(smtp_app.config, smtp_app.logger, app=smtp_app)
        stopped.put = lambda message: None  # the process stops before its sender sends anything
        db.session.commit()
    smtp_app.extensions.pop("smtp_sender")
    assert _records()[0].status == "pending"
    with frozen_at(datetime(2030, 3, 1, 9, 5)):  # 5 minutes later: still claimed
        assert mail.send_pending(smtp_app) == 0
    with frozen_at(datetime(2030, 3, 1, 9, 11)):
        assert mail.send_pending(smtp_app) == 1
    assert _sender(smtp_app).wait(WAIT)
    assert [m["Subject"] for m in smtp_server.messages] == ["Convocation"]


def test_a_message_not_taken_for_days_is_marked_failed(smtp_app):
    with frozen_at(datetime(2030, 3, 1, 10, 0)):
        mail.queue("awa@example.org", "Convocation", "Corps")
        db.session.info["pending_mail"] = []  # not handed to a sender: left pending, unclaimed after 10 minutes
        db.session.commit()
    with frozen_at(datetime(2030, 3, 4, 10, 30)):  # more than MAIL_GIVE_UP_HOURS (72) later
        assert mail.send_pending(smtp_app) == 0
    assert _records()[0].status == "failed"
    assert mail.count_needing_attention() == 1


def test_two_processes_looking_for_pending_messages_at_once_send_each_once(smtp_app, smtp_server):
    for n in range(20):
        mail.queue(f"personne{n}@example.org", f"Message {n}", "Corps")
    db.session.info["pending_mail"] = []
    db.session.commit()
    db.session.execute(db.update(OutgoingMail).values(claimed_at=None))
    db.session.commit()
    handed, barrier = [], threading.Barrier(2)

    def look():
        with smtp_app.app_context():
            barrier.wait()
            handed.append(mail.send_pending(smtp_app))
            db.session.remove()

    threads = [threading.Thread(target=look) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert _sender(smtp_app).wait(WAIT)
    assert sum(handed) == 20
    assert sorted(m["Subject"] for m in smtp_server.messages) == sorted(f"Message {n}" for n in range(20))
    assert {r.status for r in _records()} == {"sent"}


def test_flask_send_mail_sends_what_is_pending(smtp_app, smtp_server):
    mail.queue("awa@example.org", "Convocation", "Corps")
    db.session.info["pending_mail"] = []
    db.session.commit()
    db.session.execute(db.update(OutgoingMail).values(claimed_at=None))
    db.session.commit()
    result = smtp_app.test_cli_runner().invoke(args=["send-mail", "--wait", str(WAIT)])
    assert result.exit_code == 0, result.output
    assert "1 courriel en attente repris" in result.output and "0 à regarder" in result.output
    assert [m["Subject"] for m in smtp_server.messages] == ["Convocation"]
    assert _records()[0].status == "sent"


def test_flask_send_mail_without_a_server_says_so(app):
    result = app.test_cli_runner().invoke(args=["send-mail"])
    assert result.exit_code != 0 and "Aucun serveur SMTP" in result.output


def test_the_office_never_sees_the_recipients_links(smtp_app, smtp_server, client, admin_client):
    """A trainee's personal link lets whoever holds it sign as the trainee; a request's confirmation link, prove
    an address that is not theirs; a password link, sign in as its owner. The outbox page hides them, and a sent
    message keeps no working link."""
    smtp_server.refuse.add("karim.benali@example.org")
    session = factories.make_session(capacity=2)
    assert client.post(f"/formations/sessions/{session.id}/inscription", data=registration()).status_code == 200
    assert client.post(f"/formations/sessions/{session.id}/inscription", data=registration(
        first_name="Karim", last_name="Benali", email="karim.benali@example.org")).status_code == 200
    assert _sender(smtp_app).wait(WAIT)
    (asking,) = [m for m in smtp_server.messages if m["To"] == "awa.diallo@example.org"]
    confirming = re.search(r"/formations/inscription/confirmer/[^\s/]+", asking.get_content()).group(0)
    assert client.post(confirming).status_code == 200  # Awa confirms her request: her state, her link
    assert _sender(smtp_app).wait(WAIT)
    (received,) = [m for m in smtp_server.messages if m["To"] == "awa.diallo@example.org" and m is not asking]
    link = re.search(r"/moi/[^\s/]+", received.get_content()).group(0)
    assert len(link) > len("/moi/") + 20  # the real link went to Awa

    sent = next(r for r in _records() if r.recipients == ["awa.diallo@example.org"] and "/moi/" in r.body)
    failed = next(r for r in _records() if r.recipients == ["karim.benali@example.org"])
    assert sent.status == "sent" and link not in sent.body and "/moi/[masqué]" in sent.body
    secret = r"/formations/inscription/confirmer/[^\s/\[]{20,}"
    assert failed.status == "failed" and re.search(secret, failed.body)  # kept whole: sent again
    page = admin_client.get("/admin/courriels").get_data(as_text=True)
    assert link not in page and not re.search(r"/moi/[^\s/\[]{20,}", page) and "/moi/[masqué]" in page
    assert confirming not in page and not re.search(secret, page)
    assert "/formations/inscription/confirmer/[masqué]" in page


# --- claims: a message is sent once, whatever waits, fails or is clicked twice ------------------------------

def test_a_message_waiting_in_its_process_past_its_claim_is_not_sent_twice(smtp_app, smtp_server):
    """A slow server: the second message waits in this process's queue while the retry round comes (later
    than MAIL_CLAIM_MINUTES): that round leaves it to the queue instead of sending a second copy."""
    smtp_app.extensions["smtp_sender"] = mail.SmtpSender(smtp_app.config, smtp_app.logger, threads=1, app=smtp_app)
    smtp_server.hold.clear()
    _queue("Premier", to="a@example.org")
    _queue("Second", to="b@example.org")
    assert smtp_server.holding.wait(WAIT)  # the first at the server, the second in the queue
    assert mail.send_pending(smtp_app, now=utcnow() + timedelta(minutes=11)) == 0
    smtp_server.hold.set()
    assert _sender(smtp_app).wait(WAIT)
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Premier", "Second"]
    assert {r.status for r in _records()} == {"sent"}


def test_a_message_another_process_claimed_meanwhile_is_left_to_it(smtp_app, smtp_server, caplog):
    """This process's copy waited past half its claim: before sending, it renews the claim, finds the row
    held by another process (which claimed it once the claim ran out) and sends nothing."""
    sender = smtp_app.extensions["smtp_sender"] = mail.SmtpSender(smtp_app.config, smtp_app.logger, threads=1,
                                                                  app=smtp_app)
    smtp_server.hold.clear()
    _queue("Premier", to="a@example.org")
    assert smtp_server.holding.wait(WAIT)
    message = mail.queue("b@example.org", "Second", "Corps")
    db.session.info["pending_mail"] = []  # handed to the sender by hand below, aged
    db.session.commit()
    record = _records()[-1]
    message.record_id, message.claimed_at = record.id, utcnow() - timedelta(minutes=11)
    db.session.execute(db.update(OutgoingMail).where(OutgoingMail.id == record.id)
                       .values(claim="another-process", claimed_at=utcnow()))
    db.session.commit()
    sender.put(message)
    with caplog.at_level(logging.INFO):
        smtp_server.hold.set()
        assert sender.wait(WAIT)
    assert [m["Subject"] for m in smtp_server.messages] == ["Premier"]
    assert _records()[-1].status == "pending" and _records()[-1].claim == "another-process"
    assert any("taken by another sender" in r.getMessage() for r in caplog.records)


def test_send_again_twice_at_once_sends_once(smtp_app, smtp_server, app):
    """Two administrators (or a double click): both read the row failed; the second is told, nothing sent."""
    smtp_server.refuse.add("x@example.org")
    _queue("Lien", to="x@example.org")
    assert _sender(smtp_app).wait(WAIT)
    record_id = _records()[0].id
    smtp_server.refuse.clear()
    db.session.remove()
    first, second = app.app_context(), app.app_context()
    first.push()
    seen_by_first = db.session.get(OutgoingMail, record_id)
    assert seen_by_first.status == "failed"
    second.push()
    mail.send_again(db.session.get(OutgoingMail, record_id))
    db.session.commit()
    second.pop()
    with pytest.raises(ServiceError, match="Seul un courriel en échec"):
        mail.send_again(seen_by_first)
    db.session.rollback()
    first.pop()
    assert _sender(smtp_app).wait(WAIT)
    assert [m["Subject"] for m in smtp_server.messages] == ["Lien"]


def test_a_send_again_rolled_back_sends_nothing(smtp_app, smtp_server):
    smtp_server.refuse.add("x@example.org")
    _queue("Lien", to="x@example.org")
    assert _sender(smtp_app).wait(WAIT)
    smtp_server.refuse.clear()
    mail.send_again(_records()[0])
    db.session.rollback()  # whatever made the request give up
    factories.make_trainee()  # a later commit in the same session
    assert _sender(smtp_app).wait(WAIT)
    assert smtp_server.messages == [] and _records()[0].status == "failed"


def test_a_sent_message_the_database_could_not_record_is_recorded_later_not_sent_again(smtp_app, smtp_server):
    outcomes = mail.smtp_sender(smtp_app).outcomes
    outcomes.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")  # the database away
    _queue("Une fois")
    assert _sender(smtp_app).wait(WAIT)  # taken by the server; its record failed
    assert _records()[0].status == "pending"
    outcomes.engine = db.engine  # back
    assert mail.send_pending(smtp_app, now=utcnow() + timedelta(minutes=11)) == 0
    assert _sender(smtp_app).wait(WAIT)
    assert [m["Subject"] for m in smtp_server.messages] == ["Une fois"]
    assert _records()[0].status == "sent"


def test_some_recipients_refused_is_said_on_a_sent_message(smtp_app, smtp_server):
    smtp_server.refuse.add("bad@example.org")
    mail.queue(["ok@example.org", "bad@example.org"], "Deux", "Corps")
    db.session.commit()
    assert _sender(smtp_app).wait(WAIT)
    (record,) = _records()
    assert record.status == "sent" and "bad@example.org" in record.error and "550" in record.error


def test_a_round_with_nothing_to_send_writes_nothing(smtp_app):
    """Kept pages (page_cache.py) last until the data changes: a round that changed nothing keeps them."""
    factories.make_trainee()
    before = data_token()
    assert mail.send_pending(smtp_app) == 0
    assert data_token() == before


# --- what the office does with a message that did not leave -------------------------------------------------

def test_a_failed_message_dealt_with_otherwise_is_filed(smtp_app, smtp_server, admin_client):
    smtp_server.refuse.add("inconnu@example.org")
    _queue("Convocation", to="inconnu@example.org")
    assert _sender(smtp_app).wait(WAIT)
    (record,) = _records()
    answer = admin_client.post(f"/admin/courriels/{record.id}/classer", follow_redirects=True)
    assert "Le courriel à inconnu@example.org est classé." in answer.get_data(as_text=True)
    assert _records()[0].status == "dismissed" and mail.count_needing_attention() == 0
    assert "pas pu partir" not in admin_client.get("/tableau-de-bord").get_data(as_text=True)
    again = admin_client.post(f"/admin/courriels/{record.id}/classer", follow_redirects=True)
    assert "Seul un courriel en échec peut être classé." in again.get_data(as_text=True)


def test_a_password_link_is_never_sent_again(smtp_app, smtp_server, admin_client):
    """It works an hour: sent days later it would only be a dead link."""
    camille = factories.make_user("trainer", email="camille@example.org")
    smtp_server.refuse.add("camille@example.org")
    users.send_reset_link(camille.email)  # « Mot de passe oublié ? »
    db.session.commit()
    assert _sender(smtp_app).wait(WAIT)
    (record,) = _records()
    page = admin_client.get("/admin/courriels").get_data(as_text=True)
    assert "Classer (traité autrement)" in page and "Renvoyer" not in page
    answer = admin_client.post(f"/admin/courriels/{record.id}/renvoyer", follow_redirects=True)
    assert "ne sert qu" in answer.get_data(as_text=True) and _records()[0].status == "failed"


def test_messages_pending_for_half_an_hour_are_shown_to_the_office_however_old(smtp_app, admin_client):
    """A wrong SMTP password leaves every message pending: the office is told within half an hour, not after
    the three days of retries; old ones stay listed above the newest 200."""
    with frozen_at(datetime(2030, 3, 1, 9, 0)):
        mail.queue("awa@example.org", "Convocation ancienne", "Corps")
        db.session.info["pending_mail"] = []  # the server refused the login: never taken
        db.session.commit()
    with frozen_at(datetime(2030, 3, 1, 9, 40)):
        for n in range(3):
            mail.queue(f"personne{n}@example.org", f"Récent {n}", "Corps")
        db.session.info["pending_mail"] = []
        db.session.commit()
    with frozen_at(datetime(2030, 3, 1, 9, 45)):
        assert [r.subject for r in mail.needing_attention()] == ["Convocation ancienne"]
        assert mail.count_needing_attention() == 1
        dashboard = admin_client.get("/tableau-de-bord").get_data(as_text=True)
        page = admin_client.get("/admin/courriels").get_data(as_text=True)
    assert "1 courriel n'a pas pu partir" in dashboard.replace("&#39;", "'")
    attention = page.split('data-testid="mail-attention"')[1].split("Derniers courriels")[0]
    assert "Convocation ancienne" in attention and "Récent" not in attention


def test_each_serving_process_sends_what_is_pending_from_its_first_request(app, smtp_server):
    """With MAIL_SERVER set when the application starts (production), the first request starts the retrying
    thread, which sends at once the messages no process holds (e.g. left by a worker that stopped)."""
    from tests.conftest import serve
    mail.queue("awa@example.org", "Laissée par un autre processus", "Corps")
    db.session.info["pending_mail"] = []
    db.session.commit()
    db.session.execute(db.update(OutgoingMail).values(status="pending", claim=None, claimed_at=None))
    db.session.commit()
    for served in serve(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=app.config["MAIL_PORT"], MAIL_USE_TLS=False):
        assert served.test_client().get("/healthz").status_code == 200
        sender = mail.smtp_sender(served)
        assert sender.close(WAIT)
    assert [m["Subject"] for m in smtp_server.messages] == ["Laissée par un autre processus"]
    assert _records()[0].status == "sent"


# --- « Renvoyer » refuses a message that no longer holds: the office redoes the sending instead -------------

REDO = "refaites l'envoi depuis l'inscription"


def _failed_convocation(app, server, enrolment, admin) -> OutgoingMail:
    """A convocation the server refused (a full mailbox, say), then the server takes mail again."""
    from training_app.services import convocations
    server.refuse.add(enrolment.trainee.email)
    convocations.send(enrolment, actor=admin)
    db.session.commit()
    assert _sender(app).wait(WAIT)
    server.refuse.clear()
    (record,) = [r for r in _records() if r.tag == f"convocation:{enrolment.id}" and r.status == "failed"]
    return record


def _send_again_refused(admin_client, record: OutgoingMail, reason: str) -> None:
    answer = admin_client.post(f"/admin/courriels/{record.id}/renvoyer", follow_redirects=True)
    text = answer.get_data(as_text=True).replace("&#39;", "'")
    assert answer.status_code == 200 and REDO in text.lower() and reason in text, text
    db.session.refresh(record)
    assert record.status == "failed"


@pytest.fixture
def convoked(smtp_app, smtp_server, admin):
    factories.make_organisation(email="contact@example.org", phone="02 99 00 00 00")
    enrolment = factories.enrol(factories.make_session(), factories.make_trainee("Awa", "Diallo"))
    with frozen_at(datetime(2030, 2, 1, 10, 0)):
        yield enrolment, _failed_convocation(smtp_app, smtp_server, enrolment, admin)


def _convocations_received(server) -> list:
    return [m for m in server.messages if m["Subject"].startswith("Convocation")]


def test_a_failed_convocation_still_valid_is_sent_again(smtp_app, smtp_server, convoked, admin_client):
    _enrolment, record = convoked
    answer = admin_client.post(f"/admin/courriels/{record.id}/renvoyer", follow_redirects=True)
    assert "est remis en file" in answer.get_data(as_text=True)
    assert _sender(smtp_app).wait(WAIT)
    db.session.refresh(record)
    assert len(_convocations_received(smtp_server)) == 1 and record.status == "sent"


def test_a_convocation_of_an_enrolment_cancelled_since_is_not_sent_again(smtp_app, smtp_server, convoked, admin,
                                                                          admin_client):
    from training_app.services import enrolments
    enrolment, record = convoked
    enrolments.cancel(enrolment, "annulée par le bureau", actor=admin)
    db.session.commit()
    _send_again_refused(admin_client, record, "La convocation n'est envoyée qu'aux inscriptions confirmées")
    assert _sender(smtp_app).wait(WAIT) and _convocations_received(smtp_server) == []


def test_a_convocation_outdated_or_superseded_since_is_not_sent_again(smtp_app, smtp_server, convoked, admin,
                                                                       admin_client):
    from training_app.services import convocations
    enrolment, record = convoked
    enrolment.session.place = "Maison des associations, Rennes"
    db.session.commit()
    _send_again_refused(admin_client, record, "La convocation qu'il porte n'est plus à jour")
    convocations.send(enrolment, actor=admin)  # the new place
    db.session.commit()
    assert _sender(smtp_app).wait(WAIT)
    _send_again_refused(admin_client, record, "Un courriel plus récent sur le même sujet a été écrit depuis.")
    assert len(_convocations_received(smtp_server)) == 1


def test_a_message_to_an_address_corrected_since_is_not_sent_again(smtp_app, smtp_server, convoked, admin,
                                                                     admin_client):
    from training_app.services import registrations
    enrolment, record = convoked
    trainee = enrolment.trainee
    registrations.update_trainee(trainee, registrations.PersonDetails(
        first_name=trainee.first_name, last_name=trainee.last_name, email="awa.diallo@example.org",
        civility=trainee.civility, category=trainee.category), actor=admin)  # revokes the personal links
    db.session.commit()
    assert _sender(smtp_app).wait(WAIT)
    _send_again_refused(admin_client, record, "L'adresse d'Awa Diallo est maintenant awa.diallo@example.org.")
    assert _convocations_received(smtp_server) == []


def test_a_message_whose_personal_link_was_revoked_since_is_not_sent_again(app, admin):
    from training_app.services import trainee_links
    trainee = factories.make_trainee("Awa", "Diallo")
    mail.queue(trainee.email, "Questionnaire", f"Répondre : {trainee_links.personal_url(trainee)}\n",
               tag="survey_reminder:1")
    db.session.commit()
    (record,) = _records()
    assert mail.outdated_reason(record) is None
    trainee_links.revoke_links(trainee, actor=admin, reason="Téléphone perdu")
    db.session.commit()
    assert "ne fonctionne plus" in mail.outdated_reason(record)


def test_a_newer_message_on_the_same_subject_to_the_same_people_outdates_a_message(app):
    """A reminder of the same survey to another trainee leaves it alone; a newer notice of the same enrolment's
    state, or the same reminder to the same trainee, does not."""
    mail.queue("awa@example.org", "Relance", "Corps", tag="survey_reminder:7")
    mail.queue("julien@example.org", "Relance", "Corps", tag="survey_reminder:7")
    mail.queue("office@example.org", "Annulation", "Corps", tag="office:cancelled:3")
    mail.queue("office@example.org", "Annulation", "Corps", tag="office:cancelled:31")
    db.session.commit()
    awa, _julien, office, _other = _records()
    assert mail.outdated_reason(awa) is None and mail.outdated_reason(office) is None
    mail.queue("awa@example.org", "Relance", "Corps", tag="survey_reminder:7")
    mail.queue("office@example.org", "Annulation", "Corps", tag="office:cancelled:3")
    db.session.commit()
    assert "plus récent" in mail.outdated_reason(awa) and "plus récent" in mail.outdated_reason(office)


def test_a_newer_message_to_the_same_address_written_otherwise_outdates_a_message(app):
    """« Marie@Exemple.fr » and « marie@exemple.fr » are one person: the newer reminder outdates the older."""
    mail.queue("Marie@Exemple.fr", "Relance", "Corps", tag="survey_reminder:7")
    db.session.commit()
    (marie,) = _records()
    assert mail.outdated_reason(marie) is None
    mail.queue("marie@exemple.fr", "Relance", "Corps", tag="survey_reminder:7")
    db.session.commit()
    assert mail.outdated_reason(marie) == "Un courriel plus récent sur le même sujet a été écrit depuis."


def test_a_message_to_the_trainee_s_address_written_otherwise_is_still_to_them(app):
    """A punycode domain and upper case letters: the address the trainee has, written otherwise."""
    trainee = factories.make_trainee("Élodie", "Martin", email="élodie@café.fr")
    mail.queue("Élodie@XN--CAF-DMA.FR", "Relance", "Corps", tag=f"trainee_link:{trainee.id}")
    db.session.commit()
    (record,) = _records()
    assert mail.outdated_reason(record) is None


def test_a_notice_of_an_enrolment_state_that_changed_since_is_not_sent_again(app):
    from training_app.services import enrolments
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    waiting = factories.enrol(session)
    enrolments.notify_state(waiting)  # on the waiting list: told so
    db.session.commit()
    (record,) = [r for r in _records() if r.tag == f"enrolment:{waiting.id}:waitlisted"]
    assert mail.outdated_reason(record) is None
    waiting.status = "confirmed"  # a seat freed (the notice of it may not have been written: the state decides)
    db.session.commit()
    assert "L'inscription a changé d'état depuis : elle est maintenant « Confirmée »." == mail.outdated_reason(record)


# --- what the sender did not expect is said on the message, not left pending unseen -----------------------

def test_an_unexpected_error_while_sending_marks_the_messages_failed_with_the_reason(smtp_app, smtp_server,
                                                                                     monkeypatch, caplog):
    def broken(self, message):
        raise RuntimeError("en-tête illisible")
    monkeypatch.setattr(mail.SmtpSender, "_email", broken)
    _queue("Votre convocation")
    assert _sender(smtp_app).wait(WAIT)
    (record,) = _records()
    assert (record.status, record.attempts) == ("failed", 1) and record.claim is not None
    assert record.error == f"{mail.UNEXPECTED_ERROR} RuntimeError: en-tête illisible"
    assert smtp_server.messages == [] and "unexpected error" in caplog.text and mail.count_needing_attention() == 1


def test_a_subject_is_one_line_whatever_it_was_written_with(smtp_app, smtp_server):
    """A line feed (a programme title or a name typed with one, a cell of an imported list) makes no header."""
    _queue("Inscription annulée :  Du dialogue\nà la négociation\r\n")
    assert _sender(smtp_app).wait(WAIT)
    (record,) = _records()
    assert record.subject == "Inscription annulée : Du dialogue à la négociation" and record.status == "sent"
    assert [m["Subject"] for m in smtp_server.messages] == [record.subject]


@pytest.mark.parametrize("hours, said", [(72, "toujours pas parti après 3 jours"), (24, "après 1 jour,"),
                                         (36, "après 36 heures"), (1, "après 1 heure,")])
def test_the_outbox_says_when_a_message_not_taken_is_given_up(smtp_app, admin_client, monkeypatch, hours, said):
    monkeypatch.setitem(smtp_app.config, "MAIL_GIVE_UP_HOURS", hours)
    assert said in admin_client.get("/admin/courriels").get_data(as_text=True)
