"""E-mail, sent only once the database transaction has committed.

`queue()` attaches a message to the current SQLAlchemy session; the session's
after_commit hook delivers it, a rollback drops it. Without MAIL_SERVER (development,
tests) messages are captured: appended to <instance>/outbox.jsonl, where the administrators'
outbox page reads them (tests: kept in `app.extensions["outbox"]` instead).
"""
import json
import os
import smtplib
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage

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
        _send_smtp(app, message)
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
        return [json.loads(line) for line in handle if line.strip()][::-1]


def _capture(app, message: Mail) -> None:
    if app.testing:
        app.extensions["outbox"].append(message)  # what the tests read
        return
    # A serving process keeps nothing in memory (it would grow with every message): the file is the outbox.
    record = asdict(message)
    record["attachments"] = [a.filename for a in message.attachments]
    record["at"] = utcnow().isoformat(timespec="seconds")
    with open(outbox_path(app), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _send_smtp(app, message: Mail) -> None:
    email = EmailMessage()
    email["From"] = app.config["MAIL_SENDER"]
    email["To"] = ", ".join(message.to)
    email["Subject"] = message.subject
    email.set_content(message.body)
    for attachment in message.attachments:
        maintype, _, subtype = attachment.mimetype.partition("/")
        email.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                             filename=attachment.filename)
    try:
        with smtplib.SMTP(app.config["MAIL_SERVER"], app.config["MAIL_PORT"], timeout=20) as smtp:
            if app.config["MAIL_USE_TLS"]:
                smtp.starttls()
            if app.config.get("MAIL_USERNAME"):
                smtp.login(app.config["MAIL_USERNAME"], app.config["MAIL_PASSWORD"])
            smtp.send_message(email)
    except (OSError, smtplib.SMTPException):
        # The transaction is committed; losing the e-mail must not turn into a 500.
        app.logger.exception("could not send e-mail %r to %s", message.subject, message.to)
