"""E-mail, written with the transaction that decides it and sent only once that transaction has committed.

`queue()` writes the message as a row of `outgoing_mail` in the current transaction: a rollback drops
it, a commit keeps it whatever happens to the process afterwards. After the commit, with MAIL_SERVER,
this process's SMTP sender (threads of its own: no request waits for the SMTP server, see SmtpSender)
sends it and records the outcome on the row: sent, refused for good (failed), or still pending with
the server's answer. A pending message that its process could not send (the server unreachable for
longer than the sender's retries, the process stopped first) is sent again by `send_pending()`: every
MAIL_RETRY_MINUTES by each serving process, and by `flask send-mail`, until MAIL_GIVE_UP_HOURS after it
was written; then it is marked failed. Each pending message is held by one sender at a time (a random
claim, renewed while it waits; see send_pending and SmtpSender._still_ours), so that none is sent twice.
The office sees every message and its state on the outbox page, those failed or pending for more than
half an hour first (and on the dashboard), and sends a failed one again or files it.

Without MAIL_SERVER (development, tests) nothing is sent: messages are kept as "captured" rows, which the
outbox page shows (tests also read them in `app.extensions["outbox"]`).
"""
import atexit
import logging
import os
import queue as queues
import re
import secrets
import smtplib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, or_, select, update
from sqlalchemy import inspect as inspect_row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from training_app import after_commit
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
    record_id: int | None = None  # its row of outgoing_mail, once committed (with_id: at once; None: no row)
    claim: str = ""  # the sender's hold on its row: only the holder sends it and records what became of it
    claimed_at: datetime | None = None


UNEXPECTED_ERROR = "Erreur de l'application à l'envoi :"  # on a message's row (the sender's threads: no Babel)
LATE = timedelta(minutes=30)  # a message pending for longer is shown to the office (the server may be down)
PASSWORD_TAG = "password-reset:"  # a staff member's password link: dead after an hour, never sent again


def _new_claim() -> str:
    return secrets.token_hex(16)


def queue(to: str | list[str], subject: str, body: str, attachments=(), tag: str = "", *,
          with_id: bool = False) -> Mail:
    """Write a message in the current transaction; it leaves once the transaction commits. With `with_id`, the row
    is flushed at once and the message's record_id given (the caller keeps it: certificates, in their audit trail).

    The placeholder address of a trainee whose data was erased (services/personal_data) receives nothing: a
    message to nobody else is not written at all."""
    from training_app.services.personal_data import is_erased_address

    subject = " ".join(subject.split())  # one line: a line feed (a title typed so) makes no header
    message = Mail(to=[a for a in ([to] if isinstance(to, str) else list(to)) if not is_erased_address(a)],
                   subject=subject, body=body, attachments=list(attachments), tag=tag)
    if not message.to:
        return message
    sending = bool(current_app.config.get("MAIL_SERVER"))
    if sending:  # this process sends it, right after the commit
        message.claim, message.claimed_at = _new_claim(), message.queued_at
    record = OutgoingMail(
        recipients=message.to, subject=subject, body=body, tag=tag, queued_at=message.queued_at,
        attachment_names=[a.filename for a in message.attachments],
        attachments=[OutgoingMailAttachment(filename=a.filename, mimetype=a.mimetype, content=a.content)
                     for a in message.attachments],
        status=MailStatus.PENDING if sending else MailStatus.CAPTURED,
        claim=message.claim or None, claimed_at=message.claimed_at)
    db.session.add(record)
    if with_id:  # written at once: its id is known before the commit
        db.session.flush()
        message.record_id = record.id
    _after_this_transaction(message, record)
    return message


def reaches_mailboxes() -> bool:
    """Whether the e-mails queued reach their mailboxes: sent through MAIL_SERVER (the tests read their outbox as
    the mailboxes: MAIL_CAPTURED_AS_DELIVERED). Without, they are only kept in the outbox (« Conservé, non
    envoyé »): a page must not say they were sent."""
    config = current_app.config
    return bool(config.get("MAIL_SERVER") or config.get("MAIL_CAPTURED_AS_DELIVERED"))


def told_by_email(count: int) -> str:
    """What a page says of the e-mails just queued to `count` people (one or more), true whether or not a mail
    server sends them (reaches_mailboxes)."""
    if reaches_mailboxes():
        return ngettext("La personne concernée est prévenue par e-mail.",
                        "Chaque personne concernée est prévenue par e-mail.", count)
    return ngettext("L'e-mail qui la prévient est conservé dans « Courriels », sans être envoyé : aucun serveur "
                    "d'envoi n'est configuré.",
                    "Les e-mails qui les préviennent sont conservés dans « Courriels », sans être envoyés : aucun "
                    "serveur d'envoi n'est configuré.", count)


def _after_this_transaction(message: Mail, record: OutgoingMail) -> None:
    """Deliver `message` once the current transaction commits; drop it if it (or its savepoint) rolls back."""
    after_commit.later("pending_mail", (message, record))


def init_app(app) -> None:
    app.extensions["outbox"] = []
    after_commit.listen(_after_commit, _after_rollback)
    if app.config.get("MAIL_SERVER"):
        app.before_request(lambda: smtp_sender(app).start_retrying())


def _after_rollback(session, rolled_back) -> None:
    after_commit.forget_rolled_back(session, rolled_back, "pending_mail")


def _after_commit(session) -> None:
    for message, record in after_commit.done(session, "pending_mail"):
        message.record_id = inspect_row(record).identity[0]  # no row read: the identity stays after the commit
        deliver(message)


def deliver(message: Mail) -> None:
    app = current_app
    if app.config.get("MAIL_SERVER"):
        smtp_sender(app).put(message)
    elif app.testing:
        app.extensions["outbox"].append(message)  # what the tests read; the row is kept as well


# The secret part of the links an e-mail may carry: a trainee's personal link (/moi/<token>/...), the link that
# confirms a request of the public registration page (/formations/inscription/confirmer/<request_token>) and a
# staff member's password link (/mot-de-passe-oublie/<link>). Whoever reads them can act as their owner.
_PERSONAL_LINKS = re.compile(r"(/moi/|/formations/inscription/confirmer/)[^\s/]+")
_PASSWORD_LINKS = re.compile(r"(/mot-de-passe-oublie/)[^\s/]+")


def _masked(pattern: re.Pattern, text: str) -> str:
    return pattern.sub(lambda found: found.group(1) + _("[masqué]"), text)


def mask_links(text: str) -> str:
    """`text` with the secret part of its personal and password links hidden."""
    return _masked(_PERSONAL_LINKS, _masked(_PASSWORD_LINKS, text))


def shown_to_staff(text: str) -> str:
    """What the office is shown of a text that holds recipients' links (a message in the outbox, a
    convocation's preview). A password link, always hidden: anybody may ask for one for an administrator's
    address on the public « Mot de passe oublié ? » page, and whoever opens it takes the account (without
    MAIL_SERVER, an administrator sets a temporary password instead). A trainee's personal link: hidden with
    MAIL_SERVER, where it is the trainee's own (nobody may sign as them); without, nothing leaves and the office
    hands the messages over itself. A request's confirmation link likewise (only the person may prove that the
    address is theirs)."""
    text = _masked(_PASSWORD_LINKS, text)
    return _masked(_PERSONAL_LINKS, text) if current_app.config.get("MAIL_SERVER") else text


def shown_body(record: OutgoingMail) -> str:
    """What the outbox page shows of a message (shown_to_staff)."""
    return shown_to_staff(record.body)


def outbox(limit: int = 200) -> list[OutgoingMail]:
    """The newest messages first (the outbox page)."""
    return list(db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.queued_at.desc(),
                                                                 OutgoingMail.id.desc()).limit(limit)))


def _needing_attention():
    """Failed, or pending for longer than LATE (the SMTP server refuses the login, is down...)."""
    return or_(OutgoingMail.status == MailStatus.FAILED,
               (OutgoingMail.status == MailStatus.PENDING) & (OutgoingMail.queued_at < utcnow() - LATE))


def needing_attention(limit: int = 200) -> list[OutgoingMail]:
    """The messages the office should look at, oldest first, however old (the outbox page's first list)."""
    return list(db.session.scalars(select(OutgoingMail).where(_needing_attention()).order_by(OutgoingMail.id)
                                   .limit(limit)))


def count_needing_attention() -> int:
    return db.session.scalar(select(db.func.count()).where(_needing_attention()))


def send_again(record: OutgoingMail) -> Mail:
    """The office sends a failed message again: pending anew (one UPDATE conditional on its being failed: a
    second click, or another administrator at the same moment, sends nothing more), sent after the commit.
    A message that no longer holds (outdated_reason) is refused: the office redoes the sending instead."""
    if not current_app.config.get("MAIL_SERVER"):
        raise ServiceError(_("Aucun serveur SMTP n'est configuré : les courriels ne partent pas."))
    if record.tag.startswith(PASSWORD_TAG):
        raise ServiceError(_("Le lien de ce courriel ne sert qu'une heure : la personne doit en demander un "
                             "nouveau (« Mot de passe oublié ? ») ou recevoir un mot de passe temporaire."))
    reason = outdated_reason(record) if record.status == MailStatus.FAILED else None
    if reason:
        raise ServiceError(_("Ce courriel n'est plus à jour : il n'est pas renvoyé. %(reason)s Refaites l'envoi "
                             "depuis l'inscription s'il y a lieu, puis classez ce courriel.", reason=reason))
    claim, now = _new_claim(), utcnow()
    if not _change_if_failed(record, status=MailStatus.PENDING, claim=claim, claimed_at=now):
        raise ServiceError(_("Seul un courriel en échec peut être renvoyé."))
    message = _mail_of(record, claim, now)
    _after_this_transaction(message, record)
    return message


# Tags "<kind>:<enrolment id>[:...]" of the messages to an enrolment's trainee, "trainee_link:<trainee id>" of
# those carrying a new personal link. Others name what they are about in the same way: "office:cancelled:<id>",
# "survey_reminder:<survey id>"..., up to their first number (_subject_of).
_TO_THE_TRAINEE = ("convocation", "enrolment", "cancelled", "session_cancelled", "certificates")
_TRAINEE_LINK = "trainee_link"


def outdated_reason(record: OutgoingMail) -> str | None:
    """Why a message written earlier would be wrong if sent now (a French sentence), or None: a message to a
    trainee whose address changed since, or whose personal links in it no longer open (revoked, as when the
    office corrects the address, or expired); a newer message on the same subject to the same recipients; a
    convocation for an enrolment that may no longer be convoked, or that states what the session no longer
    does (convocations.resending_refusal); certificates no longer current or outdated (certificates.resending_refusal);
    a notice of an enrolment's state that changed since."""
    from training_app.formatting import label
    from training_app.models import Enrolment, Trainee
    from training_app.services import convocations
    from training_app.services.trainee_links import LinkError, trainee_from_token

    kind, number = _subject_of(record.tag)
    trainee = enrolment = None
    if kind in _TO_THE_TRAINEE and number is not None:
        enrolment = db.session.get(Enrolment, number)
        if enrolment is None:
            return _("L'inscription qu'il concerne n'existe plus.")
        trainee = enrolment.trainee
    elif kind == _TRAINEE_LINK and number is not None:
        trainee = db.session.get(Trainee, number) or _ERASED
    if trainee is not None and (reason := _not_to_the_trainee(record, trainee)):
        return reason
    for token in _LINK_TOKENS.findall(record.body):
        try:
            linked = trainee_from_token(token)
        except LinkError:
            return _("Le lien personnel qu'il contient ne fonctionne plus (révoqué, par exemple après une "
                     "correction de l'adresse, ou expiré).")
        if reason := _not_to_the_trainee(record, linked):
            return reason
    if _newer_on_the_same_subject(record, kind, number):
        return _("Un courriel plus récent sur le même sujet a été écrit depuis.")
    if kind == "convocation" and enrolment is not None:
        return convocations.resending_refusal(enrolment)
    if kind == "certificates" and enrolment is not None:
        from training_app.services import certificates
        return certificates.resending_refusal(enrolment, list(record.attachment_names or []))
    if kind == "enrolment" and enrolment is not None and record.tag.split(":")[2:] != [enrolment.status]:
        return _("L'inscription a changé d'état depuis : elle est maintenant « %(state)s ».",
                 state=label(enrolment.status))
    return None


_LINK_TOKENS = re.compile(r"/moi/([^\s/]+)")  # a trainee's personal link (_PERSONAL_LINKS): its token
_ERASED = object()  # a trainee no longer in the database


def _not_to_the_trainee(record: OutgoingMail, trainee) -> str | None:
    """Why `record` is no longer a message to `trainee` (_ERASED: gone), or None."""
    from training_app.formatting import de

    if trainee is _ERASED or trainee.erased_at is not None:
        return _("Les données de la personne ont été effacées.")
    if _addresses(record.recipients) != _addresses([trainee.email]):
        return _("L'adresse %(of_name)s est maintenant %(email)s.", of_name=de(trainee.full_name),
                 email=trainee.email)
    return None


def _subject_of(tag: str) -> tuple[str, int | None]:
    """("convocation", 12) of "convocation:12", ("office:cancelled", 5) of "office:cancelled:5",
    ("survey_reminder", 3) of "survey_reminder:3"; (the tag, None) when it names no number."""
    parts = tag.split(":")
    for position, part in enumerate(parts):
        if part.isdigit():
            return ":".join(parts[:position]), int(part)
    return tag, None


def _newer_on_the_same_subject(record: OutgoingMail, kind: str, number: int | None) -> bool:
    """Whether a message on the same subject (its tag up to its number: "enrolment:5:waitlisted" is then followed
    by "enrolment:5:confirmed") to the same recipients was written after `record`."""
    if number is None:
        return False
    subject = f"{kind}:{number}"
    newer = db.session.scalars(select(OutgoingMail.recipients).where(
        OutgoingMail.id > record.id,
        or_(OutgoingMail.tag == subject, OutgoingMail.tag.startswith(subject + ":", autoescape=True))))
    return any(_addresses(recipients) == _addresses(record.recipients) for recipients in newer)


def _addresses(recipients) -> list[str]:
    """Recipients written as the application stores addresses (registrations.email_to_look_up: in lower case,
    a punycode domain in Unicode), so that « Marie@Exemple.fr » and « marie@exemple.fr » are one person."""
    from training_app.services.registrations import email_to_look_up

    return [email_to_look_up(address) for address in recipients]


def dismiss(record: OutgoingMail) -> None:
    """The office has dealt with a failed message otherwise (a corrected address, a phone call): it is filed
    and no longer shown as needing attention."""
    if not _change_if_failed(record, status=MailStatus.DISMISSED):
        raise ServiceError(_("Seul un courriel en échec peut être classé."))


def _change_if_failed(record: OutgoingMail, **values) -> bool:
    changed = db.session.execute(update(OutgoingMail).where(
        OutgoingMail.id == record.id, OutgoingMail.status == MailStatus.FAILED).values(**values)).rowcount == 1
    db.session.refresh(record)
    return changed


def _mail_of(record: OutgoingMail, claim: str, claimed_at: datetime) -> Mail:
    return Mail(to=list(record.recipients), subject=record.subject, body=record.body, tag=record.tag,
                attachments=[Attachment(a.filename, a.content, a.mimetype) for a in record.attachments],
                message_id=record.message_id, queued_at=record.queued_at, record_id=record.id,
                claim=claim, claimed_at=claimed_at)


def send_pending(app, now: datetime | None = None) -> int:
    """Hand this process's sender the pending messages nobody is sending (a claim older than
    MAIL_CLAIM_MINUTES, or none), but those already in its queue; mark failed those written more than
    MAIL_GIVE_UP_HOURS ago. Returns how many were handed over. Each message is claimed by one conditional
    UPDATE, so that two processes doing this at once never both send it."""
    now = now or utcnow()
    sender = smtp_sender(app)
    sender.outcomes.record_unrecorded()
    stale = now - timedelta(minutes=app.config["MAIL_CLAIM_MINUTES"])
    unclaimed = (OutgoingMail.status == MailStatus.PENDING) & or_(OutgoingMail.claimed_at.is_(None),
                                                                  OutgoingMail.claimed_at < stale)
    gave_up = db.session.execute(update(OutgoingMail).where(
        unclaimed, OutgoingMail.queued_at < now - timedelta(hours=app.config["MAIL_GIVE_UP_HOURS"]))
        .values(status=MailStatus.FAILED)).rowcount
    queued_here = sender.queued_ids()
    candidates = select(OutgoingMail.id).where(unclaimed).order_by(OutgoingMail.queued_at).limit(500)
    if queued_here:
        candidates = candidates.where(OutgoingMail.id.not_in(queued_here))
    claims = {}
    for record_id in db.session.scalars(candidates).all():
        claim = _new_claim()
        if db.session.execute(update(OutgoingMail).where(OutgoingMail.id == record_id, unclaimed)
                              .values(claim=claim, claimed_at=now)).rowcount == 1:
            claims[record_id] = claim
    if not gave_up and not claims:
        db.session.rollback()  # nothing written: the cached pages stay valid (page_cache.py)
        return 0
    records = db.session.scalars(select(OutgoingMail).where(OutgoingMail.id.in_(claims))
                                 .options(selectinload(OutgoingMail.attachments)).order_by(OutgoingMail.queued_at))
    messages = [_mail_of(record, claims[record.id], now) for record in records]
    db.session.commit()
    for message in messages:
        sender.put(message)
    return len(messages)


class Outcomes:
    """Writes what became of each message on its row, from the sender's threads (a connection of their own),
    only while the sender still holds the row's claim: a sender whose claim ran out records nothing over
    another's. An outcome the database could not take is kept and written again at the next round of
    send_pending(), before the claim runs out: a message sent is not sent again for want of its record."""

    def __init__(self, engine, logger: logging.Logger):
        self.engine, self.logger = engine, logger
        self._unrecorded: list[tuple[Mail, dict]] = []
        self._lock = threading.Lock()

    def sent(self, message: Mail, refused: str = "") -> None:
        """Sent: its files and the secret part of its links are not kept (nobody needs them any more)."""
        self._write(message, status=MailStatus.SENT, sent_at=utcnow(), message_id=message.message_id,
                    error=refused, body=mask_links(message.body))

    def refused(self, message: Mail, error: str) -> None:
        self._write(message, status=MailStatus.FAILED, message_id=message.message_id, error=error)

    def not_taken(self, message: Mail, error: str) -> None:
        """Still pending: released, for send_pending() to try again later."""
        self._write(message, claim=None, claimed_at=None, message_id=message.message_id, error=error)

    def renew(self, message: Mail, now: datetime) -> bool:
        """Hold the row a while longer; False when the claim was lost (another sender has it, or it is no
        longer pending): then this sender must not send it."""
        if message.record_id is None or self.engine is None:
            return True
        try:
            with self.engine.begin() as connection:
                held = connection.execute(self._ours(message).values(claimed_at=now)).rowcount == 1
        except SQLAlchemyError:  # the database away: nobody else can claim it meanwhile
            self.logger.exception("e-mail %r to %s: could not renew its claim", message.subject, message.to)
            return True
        if held:
            message.claimed_at = now
        return held

    def record_unrecorded(self) -> None:
        with self._lock:
            waiting, self._unrecorded = self._unrecorded, []
        for message, values in waiting:
            self._write(message, **values)

    @staticmethod
    def _ours(message: Mail):
        return update(OutgoingMail).where(OutgoingMail.id == message.record_id, OutgoingMail.claim == message.claim,
                                          OutgoingMail.status == MailStatus.PENDING)

    def _write(self, message: Mail, **values) -> None:
        if message.record_id is None or self.engine is None:
            return
        try:
            with self.engine.begin() as connection:
                if connection.execute(self._ours(message).values(
                        attempts=OutgoingMail.attempts + 1, **values)).rowcount and values.get("status") == "sent":
                    connection.execute(delete(OutgoingMailAttachment)
                                       .where(OutgoingMailAttachment.mail_id == message.record_id))
        except SQLAlchemyError:  # the database away: written again at the next round of send_pending()
            self.logger.exception("e-mail %r to %s: could not record what became of it (kept for the next round)",
                                  message.subject, message.to)
            with self._lock:
                self._unrecorded.append((message, values))


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
        self._engine = db.engine if app is not None else None
        self.retry_every = 60 * config.get("MAIL_RETRY_MINUTES", 5)
        # A message whose claim is older than this is claimed again before it is sent (see _still_ours).
        self.renew_after = timedelta(minutes=config.get("MAIL_CLAIM_MINUTES", 10)) / 2
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        """Empty and without threads: new, or in a forked process, whose parent sends what it had queued."""
        self._queue: queues.Queue[Mail | None] = queues.Queue()
        self._unsent = 0  # queued and not yet sent (or given up)
        self._queued_ids: set[int] = set()  # the rows of the messages queued: send_pending() leaves them alone
        self._done = threading.Condition()
        self._running: list[threading.Thread] = []
        self._retrying: threading.Thread | None = None
        self._stop_retrying = threading.Event()
        self.outcomes = Outcomes(self._engine, self.logger)  # its lock and list are this process's own

    def put(self, message: Mail) -> None:
        with self._done:
            self._unsent += 1
            if message.record_id is not None:
                self._queued_ids.add(message.record_id)
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

    def queued_ids(self) -> set[int]:
        with self._done:
            return set(self._queued_ids)

    def wait(self, timeout: float | None = None) -> bool:
        """Until every message queued so far is sent or given up; False when `timeout` ran out first."""
        with self._done:
            return self._done.wait_for(lambda: self._unsent == 0, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Stop retrying (after the round under way), send what is queued (see wait()), then stop the threads.
        False when `timeout` ran out first."""
        self._stop_retrying.set()
        if self._retrying is not None:
            self._retrying.join(timeout)
        sent = self.wait(timeout)
        with self._done:
            running, self._running = self._running, []
        for _thread in running:
            self._queue.put(None)
        for thread in running:
            thread.join(timeout)
        return sent

    def _finished(self, messages: list[Mail]) -> None:
        with self._done:
            self._unsent -= len(messages)
            self._queued_ids.difference_update(m.record_id for m in messages)
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
            except Exception as error:  # the thread must outlive any message
                self.logger.exception("e-mail sender: unexpected error, %d message(s) refused", len(unsent))
                for left in unsent:  # failed, with the reason, for the office to see: not retried unseen for days
                    self.outcomes.refused(left, f"{UNEXPECTED_ERROR} {type(error).__name__}: {error}")
                self._finished(unsent)

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
                    self._finished(unsent)
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
                if self._still_ours(message):
                    try:
                        refused = smtp.send_message(self._email(message))
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
                            smtplib.SMTPNotSupportedError) as error:
                        if _temporary(error):
                            raise TryAgainLater(str(error)) from error
                        self.logger.error("e-mail %r to %s refused by the SMTP server: %s", message.subject,
                                          message.to, error)
                        self.outcomes.refused(message, _answer(error))
                    else:  # some of several recipients may have been refused: said on the row
                        self.outcomes.sent(message, _recipients_answer(refused))
                unsent.pop(0)
                self._finished([message])
                if not unsent:
                    try:
                        if (following := self._queue.get_nowait()) is None:
                            self._queue.put(None)  # close(): for this thread's next turn
                        else:
                            unsent.append(following)
                    except queues.Empty:
                        pass

    def _still_ours(self, message: Mail) -> bool:
        """False when the message waited here so long that its claim ran out and another sender took it (or
        the office filed it): then it is not sent twice. Renewed once it is half-way to running out."""
        if message.claimed_at is None or utcnow() - message.claimed_at < self.renew_after:
            return True
        if self.outcomes.renew(message, utcnow()):
            return True
        self.logger.info("e-mail %r to %s: taken by another sender meanwhile, not sent from here", message.subject,
                         message.to)
        return False

    def _email(self, message: Mail) -> EmailMessage:
        message.message_id = message.message_id or make_msgid(domain=self.domain)
        email = EmailMessage()
        email["Message-ID"] = message.message_id
        email["From"] = self.sender
        email["To"] = ", ".join(message.to)
        email["Subject"] = " ".join(message.subject.split())  # a row written before queue() made it one line
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
        return _recipients_answer(error.recipients)
    text = getattr(error, "smtp_error", b"")
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text or error)
    return f"{getattr(error, 'smtp_code', '')} {text}".strip()


def _recipients_answer(recipients: dict) -> str:
    """{address: (code, text)}, as the SMTP library gives the recipients it refused: "address : code text; ..."."""
    return "; ".join(f"{address} : {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                     for address, (code, text) in recipients.items())
