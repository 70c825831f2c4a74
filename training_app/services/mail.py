"""E-mail, written with the transaction that decides it and sent only once that transaction has committed.

`queue()` writes the message as a row of `outgoing_mail` in the current transaction: a rollback drops
it, a commit keeps it whatever happens to the process afterwards. After the commit, with MAIL_SERVER,
this process's SMTP sender (threads of its own: no request waits for the SMTP server, see SmtpSender)
sends it and records the outcome on the row: sent, refused for good (failed), or still pending with
the server's answer. A pending message that its process could not send (the server unreachable for
longer than the sender's retries, the process stopped first) is sent again by `send_pending()`: every
MAIL_RETRY_MINUTES by each serving process, and by `flask send-mail`, until MAIL_GIVE_UP_HOURS after it
was written; then it is marked failed. The office sees every message and its state on the outbox page
and can send a failed one again.

Without MAIL_SERVER (development, tests) nothing is sent: messages are kept as "captured" rows, which the
outbox page shows (tests also read them in `app.extensions["outbox"]`).
"""
import atexit
import logging
import os
import queue as queues
import re
import smtplib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, event, or_, select, update
from sqlalchemy import inspect as inspect_row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models import MailStatus, OutgoingMail, OutgoingMailAttachment
from training_app.services import ServiceError


@dataclass
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    tag: str = ""  # what the message is about, e.g. "convocation:12"
    message_id: str = ""  # given by the SMTP sender on the first attempt, kept by the next ones
    queued_at: datetime = field(default_factory=utcnow)  # UTC: when the application wrote it
    record_id: int | None = None  # its row of outgoing_mail, once committed (None: a message of no row)


def queue(to: str | list[str], subject: str, body: str, attachments=(), tag: str = "") -> Mail:
    """Write a message in the current transaction; it leaves once the transaction commits."""
    message = Mail(to=[to] if isinstance(to, str) else list(to), subject=subject, body=body,
                   attachments=list(attachments), tag=tag)
    sending = bool(current_app.config.get("MAIL_SERVER"))
    record = OutgoingMail(
        recipients=message.to, subject=subject, body=body, tag=tag, queued_at=message.queued_at,
        attachment_names=[a.filename for a in message.attachments],
        attachments=[OutgoingMailAttachment(filename=a.filename, mimetype=a.mimetype, content=a.content)
                     for a in message.attachments],
        status=MailStatus.PENDING if sending else MailStatus.CAPTURED,
        claimed_at=message.queued_at if sending else None)  # this process sends it, right after the commit
    db.session.add(record)
    db.session.info.setdefault("pending_mail", []).append((message, record))
    return message


def init_app(app) -> None:
    app.extensions["outbox"] = []
    event.listen(db.session, "after_commit", _after_commit)
    event.listen(db.session, "after_soft_rollback", _after_rollback)
    if app.config.get("MAIL_SERVER"):
        app.before_request(lambda: smtp_sender(app).start_retrying())


def _after_rollback(session, _transaction) -> None:
    """Drop the messages whose row the rollback took: every one for the transaction, those written since the
    savepoint for a savepoint (the messages written before it are still to be sent)."""
    pending = session.info.get("pending_mail")
    if pending:
        session.info["pending_mail"] = [(message, record) for message, record in pending if record in session]


def _after_commit(session) -> None:
    for message, record in session.info.pop("pending_mail", []):
        identity = inspect_row(record).identity  # no row read: the identity stays after the commit
        if identity is None:
            continue  # written in a savepoint that was rolled back: like its row, never sent
        message.record_id = identity[0]
        deliver(message)


def deliver(message: Mail) -> None:
    app = current_app
    if app.config.get("MAIL_SERVER"):
        smtp_sender(app).put(message)
    elif app.testing:
        app.extensions["outbox"].append(message)  # what the tests read; the row is kept as well


# The secret part of the links an e-mail may carry: a trainee's personal link (/moi/<token>/...) and a staff
# member's password link (/mot-de-passe-oublie/<link>). Whoever reads them can act as their owner.
_SECRET_LINKS = re.compile(r"(/moi/|/mot-de-passe-oublie/)[^\s/]+")


def mask_links(text: str) -> str:
    """`text` with the secret part of its personal and password links hidden."""
    return _SECRET_LINKS.sub(lambda found: found.group(1) + _("[masqué]"), text)


def shown_body(record: OutgoingMail) -> str:
    """What the outbox page shows of a message: with MAIL_SERVER, the links are the recipients' own (an
    administrator must not sign or sign in as them); without, nothing leaves and the page is the mailbox."""
    return mask_links(record.body) if current_app.config.get("MAIL_SERVER") else record.body


def outbox(limit: int = 200) -> list[OutgoingMail]:
    """The newest messages first (the outbox page)."""
    return list(db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(limit)))


def count_failed() -> int:
    return db.session.scalar(select(db.func.count()).where(OutgoingMail.status == MailStatus.FAILED))


def send_again(record: OutgoingMail) -> Mail:
    """The office sends a failed message again: pending anew, and sent after the commit like a new one."""
    if record.status != MailStatus.FAILED:
        raise ServiceError(_("Seul un courriel en échec peut être renvoyé."))
    if not current_app.config.get("MAIL_SERVER"):
        raise ServiceError(_("Aucun serveur SMTP n'est configuré : les courriels ne partent pas."))
    message = _mail_of(record)
    record.status, record.claimed_at, record.queued_at = MailStatus.PENDING, utcnow(), utcnow()
    db.session.info.setdefault("pending_mail", []).append((message, record))
    return message


def _mail_of(record: OutgoingMail) -> Mail:
    return Mail(to=list(record.recipients), subject=record.subject, body=record.body, tag=record.tag,
                attachments=[Attachment(a.filename, a.content, a.mimetype) for a in record.attachments],
                message_id=record.message_id, queued_at=record.queued_at, record_id=record.id)


def send_pending(app, now: datetime | None = None) -> int:
    """Hand this process's sender the pending messages nobody is sending (a claim older than
    MAIL_CLAIM_MINUTES, or none); mark failed those written more than MAIL_GIVE_UP_HOURS ago.
    Returns how many were handed over. Each message is claimed by one conditional UPDATE, so that two
    processes doing this at once never send the same message twice."""
    now = now or utcnow()
    stale = now - timedelta(minutes=app.config["MAIL_CLAIM_MINUTES"])
    unclaimed = (OutgoingMail.status == MailStatus.PENDING) & or_(OutgoingMail.claimed_at.is_(None),
                                                                  OutgoingMail.claimed_at < stale)
    db.session.execute(update(OutgoingMail).where(
        unclaimed, OutgoingMail.queued_at < now - timedelta(hours=app.config["MAIL_GIVE_UP_HOURS"]))
        .values(status=MailStatus.FAILED))
    ids = db.session.scalars(select(OutgoingMail.id).where(unclaimed).order_by(OutgoingMail.queued_at).limit(500))
    claimed = [record_id for record_id in ids.all()
               if db.session.execute(update(OutgoingMail).where(OutgoingMail.id == record_id, unclaimed)
                                     .values(claimed_at=now)).rowcount == 1]
    records = db.session.scalars(select(OutgoingMail).where(OutgoingMail.id.in_(claimed))
                                 .options(selectinload(OutgoingMail.attachments)).order_by(OutgoingMail.queued_at))
    messages = [_mail_of(record) for record in records]
    db.session.commit()
    sender = smtp_sender(app)
    for message in messages:
        sender.put(message)
    return len(messages)


class Outcomes:
    """Writes what became of each message on its row (from the sender's threads: a connection of their own)."""

    def __init__(self, engine, logger: logging.Logger):
        self.engine, self.logger = engine, logger

    def sent(self, message: Mail) -> None:
        """Sent: its files and the secret part of its links are not kept (nobody needs them any more)."""
        self._write(message, status=MailStatus.SENT, sent_at=utcnow(), message_id=message.message_id, error="",
                    body=mask_links(message.body), delete_files=True)

    def refused(self, message: Mail, error: str) -> None:
        self._write(message, status=MailStatus.FAILED, message_id=message.message_id, error=error)

    def not_taken(self, message: Mail, error: str) -> None:
        """Still pending: released, for send_pending() to try again later."""
        self._write(message, claimed_at=None, message_id=message.message_id, error=error)

    def _write(self, message: Mail, *, delete_files: bool = False, **values) -> None:
        if message.record_id is None or self.engine is None:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(update(OutgoingMail).where(OutgoingMail.id == message.record_id)
                                   .values(attempts=OutgoingMail.attempts + 1, **values))
                if delete_files and message.attachments:
                    connection.execute(delete(OutgoingMailAttachment)
                                       .where(OutgoingMailAttachment.mail_id == message.record_id))
        except SQLAlchemyError:  # the database away: the message stays pending, sent again once its claim ends
            self.logger.exception("e-mail %r to %s: could not record that it was %s", message.subject, message.to,
                                  values.get("status", "not taken"))


def smtp_sender(app) -> "SmtpSender":
    """This application's SMTP sender in this process (created on first use)."""
    sender = app.extensions.get("smtp_sender")
    if sender is None:
        sender = app.extensions.setdefault("smtp_sender", SmtpSender(
            app.config, app.logger, threads=app.config["MAIL_SENDER_THREADS"], app=app))
    return sender


class TryAgainLater(Exception):
    """The server answered a message with a temporary error (4xx: greylisting, a full queue): send it later."""


class SmtpSender:
    """Sends this process's e-mail to the SMTP server from threads of their own.

    A request only puts its messages in the sender's queue: it never waits for the SMTP server,
    which takes from a few to hundreds of milliseconds a message, and up to the 20-second timeout
    when it is unreachable (4 workers waiting on it would stop the whole site). Each of `threads`
    threads (MAIL_SENDER_THREADS) takes a message, opens a connection, and sends over it whatever
    else is waiting.

    When the connection fails, or the server answers a temporary error (4xx), the thread's messages
    are tried again after each of RETRY_DELAYS, then left pending on their rows for send_pending(),
    which this sender runs every MAIL_RETRY_MINUTES once start_retrying() was called. A message the
    server refuses for good (5xx: a bad recipient) is marked failed at once and the others go on. A
    message whose connection dropped after it was sent may arrive twice; both copies carry one
    Message-ID. When the process ends, the queue is emptied for at most DRAIN_SECONDS (gunicorn gives
    a stopping worker 30 s); the messages left then stay pending on their rows, for another process.
    Each outcome is written on the message's row (see Outcomes) when the sender has an application.
    """
    RETRY_DELAYS = (2.0, 10.0, 60.0)
    DRAIN_SECONDS = 20.0
    TIMEOUT = 20
    THREADS = 4

    def __init__(self, config, logger: logging.Logger, threads: int = THREADS, app=None):
        self.server, self.port = config["MAIL_SERVER"], config["MAIL_PORT"]
        self.use_tls, self.sender = config["MAIL_USE_TLS"], config["MAIL_SENDER"]
        self.username, self.password = config.get("MAIL_USERNAME"), config.get("MAIL_PASSWORD")
        self.domain = self.sender.rpartition("@")[2] or "localhost"  # of the Message-IDs (no DNS look-up)
        self.logger = logger
        self.threads = threads
        self.retry_delays = self.RETRY_DELAYS
        self.pause = time.sleep  # between attempts (tests replace it)
        self.app = app
        self.outcomes = Outcomes(db.engine if app is not None else None, logger)
        self.retry_every = 60 * config.get("MAIL_RETRY_MINUTES", 5)
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        """Empty and without threads: new, or in a forked process, whose parent sends what it had queued."""
        self._queue: queues.Queue[Mail | None] = queues.Queue()
        self._unsent = 0  # queued and not yet sent (or given up)
        self._done = threading.Condition()
        self._running: list[threading.Thread] = []
        self._retrying: threading.Thread | None = None
        self._stop_retrying = threading.Event()

    def put(self, message: Mail) -> None:
        with self._done:
            self._unsent += 1
            if not self._running:
                self._start()
        self._queue.put(message)

    def start_retrying(self) -> None:
        """Run send_pending() now and every MAIL_RETRY_MINUTES in a thread of this process (once)."""
        if self._retrying is not None or self.app is None:
            return
        with self._done:
            if self._retrying is None:
                self._retrying = threading.Thread(target=self._retry_pending, name="smtp-retry", daemon=True)
                self._retrying.start()

    def _retry_pending(self) -> None:
        while True:
            try:
                with self.app.app_context():
                    send_pending(self.app)
            except Exception:  # the thread must outlive a database that is away for a while
                self.logger.exception("e-mail sender: could not look for pending messages")
            if self._stop_retrying.wait(self.retry_every):
                return

    def wait(self, timeout: float | None = None) -> bool:
        """Until every message queued so far is sent or given up; False when `timeout` ran out first."""
        with self._done:
            return self._done.wait_for(lambda: self._unsent == 0, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Send what is queued (see wait()), then stop the threads. False when `timeout` ran out first."""
        sent = self.wait(timeout)
        self._stop_retrying.set()
        with self._done:
            running, self._running = self._running, []
        for _thread in running:
            self._queue.put(None)
        for thread in running:
            thread.join(timeout)
        return sent

    def _finished(self, count: int = 1) -> None:
        with self._done:
            self._unsent -= count
            self._done.notify_all()

    def _start(self) -> None:
        self._running = [threading.Thread(target=self._run, name=f"smtp-sender-{n}", daemon=True)
                         for n in range(self.threads)]
        for thread in self._running:
            thread.start()
        atexit.register(self._drain_at_exit)

    def _drain_at_exit(self) -> None:
        if not self.wait(self.DRAIN_SECONDS):
            with self._done:
                left = self._unsent
            self.logger.warning("process ending: %d e-mail(s) not sent after %s s (the SMTP server %s was slow "
                                "or unreachable): they stay pending, for another process to send", left,
                                self.DRAIN_SECONDS, self.server)

    def _run(self) -> None:
        while (message := self._queue.get()) is not None:
            unsent = [message]
            try:
                self._send_with_retries(unsent)
            except Exception:  # the thread must outlive any message
                self.logger.exception("e-mail sender: unexpected error, %d message(s) left pending", len(unsent))
                self._finished(len(unsent))

    def _send_with_retries(self, unsent: list[Mail]) -> None:
        for delay in (*self.retry_delays, None):
            try:
                self._send(unsent)
                return
            except (OSError, smtplib.SMTPException, TryAgainLater) as error:
                if delay is None:
                    for message in unsent:
                        self.logger.error("could not send e-mail %r to %s, left pending: %s", message.subject,
                                          message.to, error)
                        self.outcomes.not_taken(message, str(error))
                    self._finished(len(unsent))
                    unsent.clear()
                    return
                self.logger.warning("SMTP server %s unavailable (%s): %d message(s) tried again in %s s",
                                    self.server, error, len(unsent), delay)
                self.pause(delay)

    def _send(self, unsent: list[Mail]) -> None:
        """Send `unsent` over one connection, then whatever else is waiting; each message leaves `unsent` once
        the server took it or refused it for good."""
        with smtplib.SMTP(self.server, self.port, timeout=self.TIMEOUT) as smtp:
            if self.use_tls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            while unsent:
                message = unsent[0]
                try:
                    smtp.send_message(self._email(message))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
                        smtplib.SMTPNotSupportedError) as error:
                    if _temporary(error):
                        raise TryAgainLater(str(error)) from error
                    self.logger.error("e-mail %r to %s refused by the SMTP server: %s", message.subject,
                                      message.to, error)
                    self.outcomes.refused(message, _answer(error))
                else:
                    self.outcomes.sent(message)
                unsent.pop(0)
                self._finished()
                if not unsent:
                    try:
                        if (following := self._queue.get_nowait()) is None:
                            self._queue.put(None)  # close(): for this thread's next turn
                        else:
                            unsent.append(following)
                    except queues.Empty:
                        pass

    def _email(self, message: Mail) -> EmailMessage:
        message.message_id = message.message_id or make_msgid(domain=self.domain)
        email = EmailMessage()
        email["Message-ID"] = message.message_id
        email["From"] = self.sender
        email["To"] = ", ".join(message.to)
        email["Subject"] = message.subject
        email.set_content(message.body)
        for attachment in message.attachments:
            maintype, _, subtype = attachment.mimetype.partition("/")
            email.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                                 filename=attachment.filename)
        return email


def _temporary(error: smtplib.SMTPException) -> bool:
    """A 4xx answer (try again later), as opposed to a 5xx refusal (or a feature the server lacks)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(400 <= code < 500 for code, _ in error.recipients.values())
    return 400 <= getattr(error, "smtp_code", 0) < 500


def _answer(error: smtplib.SMTPException) -> str:
    """The server's own words, as the outbox page shows them."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{address} : {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                         for address, (code, text) in error.recipients.items())
    text = getattr(error, "smtp_error", b"")
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text or error)
    return f"{getattr(error, 'smtp_code', '')} {text}".strip()
