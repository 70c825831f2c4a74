"""Requests made on the public registration page, and their confirmation through the address typed (double
opt-in).

A request (`ask`) writes a RegistrationRequest and one e-mail to the address typed, with a link, and nothing
else: no trainee, employer or enrolment, no seat nor waiting-list place, no e-mail to the office. What was typed
is checked at once, as the page always did (registrations.check_public_request), so that the person sees a
mistake on the form. The link carries a random secret, of which only the SHA-256 is stored (token_hash); it
works REGISTRATION_CONFIRM_HOURS. Opening it shows the request (`find`); only its button, a POST, confirms it
(mail scanners open links): `confirm` then enrols as the public page used to (registrations.register_public:
the trainee found or created, a seat or the waiting list decided now, under the session's lock, the state
e-mailed with the personal link, the office told). A request is confirmed once: its row is locked first, and a
second confirmation finds it done and shows what became of it (`outcome`), writing nothing. A request keeps the
programme it was made for (PROGRAMME_KEY): a session moved to another one since refuses its confirmation.

Personal data: `flask purge-expired` deletes the requests whose link has expired, confirmed or not (the
enrolment holds the data once confirmed: expired_ids); an erasure deletes those of the person's enrolments and
those made with one of their addresses while it was theirs (of_person narrows, personal_data decides). Lock
order: the request's row, then the session's and the trainee's (enrolments.enrol); an erasure deletes the
person's requests before it locks the trainee.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import joinedload

from training_app.clock import local_now, utcnow
from training_app.extensions import db
from training_app.formatting import datetime_fr, utc_datetime_fr
from training_app.models import Enrolment, Programme, RegistrationRequest, SessionStatus, TrainingSession
from training_app.services import ServiceError, enrolments, mail, registrations
from training_app.services.registrations import PersonDetails
from training_app.urls import public_url

CONFIRM_ENDPOINT = "enrolments.public_confirm"
# What a request keeps of the details typed, besides the address (its own column).
KEPT_DETAILS = ("civility", "first_name", "last_name", "phone", "job_title", "employer_name", "employer_siret",
                "category")
# The programme the request was made for, kept in `details` beside what was typed (no column of its own): the
# session may move to another programme while the request is being recorded (ask() takes no lock, and
# sessions._check_programme_changeable sees the request only once committed); its confirmation is then refused
# (closed_since, and enrolments.enrol under the session's lock). A request recorded before it was kept has none.
PROGRAMME_KEY = "programme_id"


def token_hash(token: str) -> str:
    return hashlib.sha256(f"registration-request:{token}".encode()).hexdigest()


def confirm_url(token: str) -> str:
    return public_url(CONFIRM_ENDPOINT, request_token=token)


# --- the request ----------------------------------------------------------------------------------------

def ask(session: TrainingSession, details: PersonDetails, funding_mode: str) -> RegistrationRequest:
    """Record a request of the public page and e-mail its confirmation link to the address typed (sent after the
    commit). Refused, nothing written, when the form's details are wrong or registrations are closed. The
    programme the session runs as read here is kept (PROGRAMME_KEY): the person asked for that course."""
    details = registrations.check_public_request(session, details, funding_mode)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    kept = {key: getattr(details, key) for key in KEPT_DETAILS} | {PROGRAMME_KEY: session.programme_id}
    asked = RegistrationRequest(
        session=session, email=details.email, details=kept,
        funding_mode=funding_mode, token_hash=token_hash(token), requested_at=now,
        expires_at=now + timedelta(hours=current_app.config["REGISTRATION_CONFIRM_HOURS"]))
    db.session.add(asked)
    db.session.flush()  # its id, for the e-mail's tag
    _mail_link(asked, token)
    return asked


def _mail_link(asked: RegistrationRequest, token: str) -> None:
    session = asked.session
    hours = current_app.config["REGISTRATION_CONFIRM_HOURS"]
    body = "\n\n".join([
        _("Bonjour %(name)s,", name=asked.full_name),
        _("Nous avons reçu une demande d'inscription à la formation « %(title)s » (du %(start)s au %(end)s) pour "
          "cette adresse e-mail.", title=session.title, start=datetime_fr(session.start_at),
          end=datetime_fr(session.end_at)),
        ngettext("Pour la confirmer, ouvrez ce lien d'ici le %(until)s (il est valable %(num)d heure), puis cliquez "
                 "sur « Confirmer ma demande » :",
                 "Pour la confirmer, ouvrez ce lien d'ici le %(until)s (il est valable %(num)d heures), puis "
                 "cliquez sur « Confirmer ma demande » :", hours, until=utc_datetime_fr(asked.expires_at)),
        confirm_url(token),
        _("Votre place n'est pas réservée tant que la demande n'est pas confirmée. Si cette demande ne vient pas "
          "de vous, ignorez ce message : aucune inscription ne sera faite, et la demande sera supprimée une fois le "
          "lien expiré."),
    ]) + "\n"
    mail.queue(asked.email, _("Confirmez votre demande d'inscription"), body, tag=f"registration_request:{asked.id}")


# --- the link -------------------------------------------------------------------------------------------

class RequestLinkError(Exception):
    """The link names no request ("unknown": mistyped, altered, or deleted since) or an expired one ("expired")."""

    def __init__(self, reason: str, asked: RegistrationRequest | None = None):
        super().__init__(reason)
        self.reason, self.asked = reason, asked


def find(token: str, *, lock: bool = False) -> RegistrationRequest:
    """The request the link names, whose link still works, with its session, programme and cycle (one
    statement); RequestLinkError otherwise. With `lock`, its row is locked until the end of the transaction
    (and read again: a confirmation that held it has committed)."""
    query = (select(RegistrationRequest).where(RegistrationRequest.token_hash == token_hash(token))
             .options(joinedload(RegistrationRequest.session).joinedload(TrainingSession.programme)
                      .joinedload(Programme.cycle)))
    if lock:
        query = query.with_for_update(of=RegistrationRequest).execution_options(populate_existing=True)
    return _usable(db.session.scalar(query))


def _usable(asked: RegistrationRequest | None) -> RegistrationRequest:
    if asked is None:
        raise RequestLinkError("unknown")
    if asked.expires_at <= utcnow():
        raise RequestLinkError("expired", asked)
    return asked


@dataclass
class Outcome:
    """What became of a confirmed request: its enrolment now (None: deleted since), its waiting-list place."""
    asked: RegistrationRequest
    enrolment: Enrolment | None
    position: int | None = None
    preregistration: bool = False  # requested before the session opens: given a seat at the opening
    just_confirmed: bool = False  # by this request (otherwise confirmed before: shown again)


def outcome(asked: RegistrationRequest, *, position: int | None = None, just_confirmed: bool = False) -> Outcome:
    enrolment = asked.enrolment
    if enrolment is None:
        return Outcome(asked, None, just_confirmed=just_confirmed)
    return Outcome(asked, enrolment, position=position or enrolments.waitlist_position(enrolment),
                   preregistration=(enrolment.session.status == SessionStatus.PLANNED
                                    and enrolments.is_preregistration(enrolment)),
                   just_confirmed=just_confirmed)


def confirm(token: str) -> Outcome:
    """The person confirms their request (the button of the link's page): enrolled as registrations.register_public
    decides, once. A request confirmed before (a second click, two at the same moment: the second waits for the
    request's row) gives its outcome again and writes nothing. Refused (ServiceError, nothing written) when the
    session was cancelled, has started, closed its registrations or moved to another programme since the
    request (the last checked again under the session's lock); RequestLinkError when the link expired or names
    no request (gone since)."""
    asked = find(token, lock=True)
    if asked.confirmed_at is not None:
        return outcome(asked)
    _refuse_closed(asked)
    details = PersonDetails(email=asked.email, **{key: value or "" for key, value in typed(asked).items()})
    registration = registrations.register_public(asked.session, details, asked.funding_mode,
                                                 programme_id=asked_programme_id(asked))
    asked.confirmed_at = utcnow()
    asked.enrolment = registration.enrolment
    asked.duplicate = registration.duplicate
    return outcome(asked, position=registration.position, just_confirmed=True)


def typed(asked: RegistrationRequest) -> dict:
    """What the person typed on the form, besides the address (KEPT_DETAILS: not the programme kept beside it)."""
    return {key: asked.details.get(key) for key in KEPT_DETAILS}


def asked_programme_id(asked: RegistrationRequest) -> int | None:
    """The programme the request was made for; None for a request recorded before it was kept."""
    return asked.details.get(PROGRAMME_KEY)


def closed_since(asked: RegistrationRequest) -> str:
    """Why the request can no longer be confirmed (its session was cancelled, has started, moved to another
    programme or closed its registrations since), in the person's words; "" while it can (register_public checks
    again, under the session's lock)."""
    session = asked.session
    if session.status == SessionStatus.CANCELLED:
        return _("Cette session a été annulée : votre demande ne peut plus être confirmée.")
    if session.start_at <= local_now():
        return _("Cette session a commencé : votre demande ne peut plus être confirmée.")
    programme_id = asked_programme_id(asked)
    if programme_id is not None and programme_id != session.programme_id:
        return enrolments.programme_changed_refusal()
    if registrations.closed_to_registration(session):
        return _("Les inscriptions à cette session sont closes : votre demande ne peut plus être confirmée.")
    return ""


def _refuse_closed(asked: RegistrationRequest) -> None:
    refusal = closed_since(asked)
    if refusal:
        raise ServiceError(refusal)


# --- the office -----------------------------------------------------------------------------------------

def _waiting(session: TrainingSession):
    """The conditions of the session's requests waiting for their confirmation: not confirmed yet, their link still
    working, made for the programme the session runs (or before the programme was kept, PROGRAMME_KEY). One made
    for another programme (the session moved while it was being recorded) can no longer be confirmed whatever the
    session runs next (closed_since): the office has nothing to wait for, the person is told on the link's page.
    The session's page, the list of them all and the check of a change of programme (sessions) count the same."""
    asked_for = RegistrationRequest.details[PROGRAMME_KEY].as_integer()
    return (RegistrationRequest.session_id == session.id, RegistrationRequest.confirmed_at.is_(None),
            RegistrationRequest.expires_at > utcnow(),
            or_(asked_for.is_(None), asked_for == session.programme_id))


def unconfirmed(session: TrainingSession) -> list[RegistrationRequest]:
    """The session's requests waiting for their confirmation (_waiting), oldest first: those a change of programme
    would betray (sessions._check_programme_changeable)."""
    return list(db.session.scalars(select(RegistrationRequest).where(*_waiting(session))
                                   .order_by(RegistrationRequest.requested_at, RegistrationRequest.id)))


def unconfirmed_query(session: TrainingSession):
    """The same requests, newest first (the office looks for someone who says they just asked and got nothing:
    their request is there, and until when its link works), to paginate."""
    return (select(RegistrationRequest).where(*_waiting(session))
            .order_by(RegistrationRequest.requested_at.desc(), RegistrationRequest.id.desc()))


@dataclass
class Waiting:
    """The newest requests waiting for their confirmation, and how many wait in all."""
    newest: list[RegistrationRequest]
    total: int


def newest_unconfirmed(session: TrainingSession, limit: int) -> Waiting:
    """The session's page: its `limit` newest requests waiting, and their number (two statements, however many
    there are; the others on a page of their own)."""
    total = db.session.scalar(select(func.count(RegistrationRequest.id)).where(*_waiting(session)))
    newest = list(db.session.scalars(unconfirmed_query(session).limit(limit))) if total else []
    return Waiting(newest, total)


# --- personal data --------------------------------------------------------------------------------------

def of_person(emails: set[str], enrolment_ids: list[int]) -> list[RegistrationRequest]:
    """The requests made with one of these addresses, or that became one of these enrolments (personal_data keeps
    those made while the address was the person's)."""
    if not emails and not enrolment_ids:
        return []
    return list(db.session.scalars(
        select(RegistrationRequest).where(or_(RegistrationRequest.email.in_(sorted(emails)),
                                              RegistrationRequest.enrolment_id.in_(enrolment_ids)))
        .order_by(RegistrationRequest.requested_at, RegistrationRequest.id)))


def expired_ids() -> list[int]:
    """The requests whose link has expired, confirmed or not (`flask purge-expired` deletes them)."""
    return list(db.session.scalars(select(RegistrationRequest.id).where(RegistrationRequest.expires_at <= utcnow())
                                   .order_by(RegistrationRequest.id)))


def delete_requests(ids: list[int]) -> int:
    """Delete these requests: confirmed or not (one waiting can then no longer be confirmed: its link is unknown)."""
    if ids:
        db.session.execute(delete(RegistrationRequest).where(RegistrationRequest.id.in_(ids)))
    return len(ids)
