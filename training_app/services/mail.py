"""E-mail, sent only once the database transaction has committed.

`queue()` attaches a message to the current SQLAlchemy session; the session's
after_commit hook delivers it, a rollback drops it. With MAIL_SERVER, delivering hands the
message to this process's SMTP sender, a thread of its own: no request waits for the SMTP
server (see SmtpSender). Without MAIL_SERVER (development, tests) messages are captured:
appended to <instance>/outbox.jsonl, where the administrators' outbox page reads them (tests:
kept in `app.extensions["outbox"]` instead).
"""
import atexit
import json
import logging
import os
import queue as queues
import smtplib
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import event

from training_app.clock import utcnow
from training_app.extensions import db


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


def queue(to: str | list[str], subject: str, body: str, attachments=(), tag: str = "") -> Mail:
    message = Mail(to=[to] if isinstance(to, str) else list(to), subject=subject, body=body,
                   attachments=list(attachments), tag=tag)
    db.session.connection()  # make sure a transaction is open, so that its rollback drops the mail
    db.session.info.setdefault("pending_mail", []).append(message)
    return message


def init_app(app) -> None:
    app.extensions["outbox"] = []
    event.listen(db.session, "after_commit", _after_commit)
    event.listen(db.session, "after_rollback", _after_rollback)


def _after_rollback(session) -> None:
    session.info.pop("pending_mail", None)


def _after_commit(session) -> None:
    for message in session.info.pop("pending_mail", []):
        deliver(message)


def deliver(message: Mail) -> None:
    app = current_app
    if app.config.get("MAIL_SERVER"):
        smtp_sender(app).put(message)
    else:
        _capture(app, message)


def outbox_path(app) -> str:
    return os.path.join(app.instance_path, "outbox.jsonl")


def captured(app) -> list[dict]:
    """Captured messages, newest first (development outbox page)."""
    path = outbox_path(app)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()][::-1]
    for record in records:  # "at": when the message was written (UTC)
        record["at"] = datetime.fromisoformat(record["at"]) if record.get("at") else None
    return records


def _capture(app, message: Mail) -> None:
    if app.testing:
        app.extensions["outbox"].append(message)  # what the tests read
        return
    # A serving process keeps nothing in memory (it would grow with every message): the file is the outbox.
    record = asdict(message)
    record["attachments"] = [a.filename for a in message.attachments]
    record["at"] = record.pop("queued_at").isoformat(timespec="seconds")
    with open(outbox_path(app), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def smtp_sender(app) -> "SmtpSender":
    """This application's SMTP sender in this process (created on first use)."""
    sender = app.extensions.get("smtp_sender")
    if sender is None:
        sender = app.extensions.setdefault("smtp_sender", SmtpSender(app.config, app.logger,
                                                                     threads=app.config["MAIL_SENDER_THREADS"]))
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
    are tried again after each of RETRY_DELAYS, then logged as lost. A message the server refuses
    for good (5xx: a bad recipient) is logged at once and the others go on. A message whose
    connection dropped after it was sent may arrive twice; both copies carry one Message-ID.
    When the process ends, the queue is emptied for at most DRAIN_SECONDS (gunicorn gives a
    stopping worker 30 s); the messages left then are logged as lost.
    """
    RETRY_DELAYS = (2.0, 10.0, 60.0)
    DRAIN_SECONDS = 20.0
    TIMEOUT = 20
    THREADS = 4

    def __init__(self, config, logger: logging.Logger, threads: int = THREADS):
        self.server, self.port = config["MAIL_SERVER"], config["MAIL_PORT"]
        self.use_tls, self.sender = config["MAIL_USE_TLS"], config["MAIL_SENDER"]
        self.username, self.password = config.get("MAIL_USERNAME"), config.get("MAIL_PASSWORD")
        self.domain = self.sender.rpartition("@")[2] or "localhost"  # of the Message-IDs (no DNS look-up)
        self.logger = logger
        self.threads = threads
        self.retry_delays = self.RETRY_DELAYS
        self.pause = time.sleep  # between attempts (tests replace it)
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        """Empty and without threads: new, or in a forked process, whose parent sends what it had queued."""
        self._queue: queues.Queue[Mail | None] = queues.Queue()
        self._unsent = 0  # queued and not yet sent (or given up)
        self._done = threading.Condition()
        self._running: list[threading.Thread] = []

    def put(self, message: Mail) -> None:
        with self._done:
            self._unsent += 1
            if not self._running:
                self._start()
        self._queue.put(message)

    def wait(self, timeout: float | None = None) -> bool:
        """Until every message queued so far is sent or given up; False when `timeout` ran out first."""
        with self._done:
            return self._done.wait_for(lambda: self._unsent == 0, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Send what is queued (see wait()), then stop the threads. False when `timeout` ran out first."""
        sent = self.wait(timeout)
        with self._done:
            running, self._running = self._running, []
        for _ in running:
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
            self.logger.error("process ending: %d e-mail(s) not sent after %s s, lost (the SMTP server %s "
                              "was slow or unreachable)", left, self.DRAIN_SECONDS, self.server)

    def _run(self) -> None:
        while (message := self._queue.get()) is not None:
            unsent = [message]
            try:
                self._send_with_retries(unsent)
            except Exception:  # the thread must outlive any message
                self.logger.exception("e-mail sender: unexpected error, %d message(s) lost", len(unsent))
                self._finished(len(unsent))

    def _send_with_retries(self, unsent: list[Mail]) -> None:
        for delay in (*self.retry_delays, None):
            try:
                self._send(unsent)
                return
            except (OSError, smtplib.SMTPException, TryAgainLater) as error:
                if delay is None:
                    for message in unsent:
                        self.logger.error("could not send e-mail %r to %s: %s", message.subject, message.to, error)
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
