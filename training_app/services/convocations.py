"""Convocations: the Word document (certificates/convocation.docx) and the e-mail that carries it,
for one confirmed trainee or all of a session's confirmed trainees. Each sending is recorded
(when, to which address, by whom, the document sent, a fingerprint of what it states); the e-mail
leaves after the commit. A convocation whose session's half-days or place changed since is outdated:
it no longer holds, and sending "to those who have not received it" sends it again."""
import hashlib
import json
import re
import unicodedata
from datetime import timedelta
from itertools import groupby

from docxtpl import Listing
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload

from training_app.clock import local_now, to_local, utcnow
from training_app.documents import storage, word
from training_app.extensions import db
from training_app.formatting import date_fr, datetime_fr, hours, label, time_fr
from training_app.models import (ConvocationSending, ConvocationText, Enrolment, EnrolmentStatus, Organisation,
                                 SessionStatus, Trainee, TrainingSession, User)
from training_app.services import ServiceError, mail
from training_app.services import organisation as organisation_service
from training_app.services.enrolments import lock_session
from training_app.services.trainee_links import personal_url

TEMPLATE = "convocation.docx"
RESEND_GAP = timedelta(minutes=2)  # the same convocation to the same address this soon is a double click
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def texts(session: TrainingSession) -> ConvocationText:
    """The session's convocation texts (a new, unsaved row when none were written yet)."""
    return db.session.get(ConvocationText, session.id) or ConvocationText(
        session_id=session.id, what_to_bring="", absence_procedure="", message="")


def save_texts(session: TrainingSession, what_to_bring: str, absence_procedure: str, message: str) -> ConvocationText:
    row = db.session.get(ConvocationText, session.id)
    if row is None:
        row = ConvocationText(session_id=session.id)
        db.session.add(row)
    row.what_to_bring = (what_to_bring or "").strip()
    row.absence_procedure = (absence_procedure or "").strip()
    row.message = (message or "").strip()
    return row


def default_what_to_bring() -> str:
    return _("De quoi prendre des notes, et si vous le souhaitez des exemples de situations vécues dans votre "
             "travail. Une cuisine est à votre disposition pour le repas de midi.")


def default_absence_procedure(organisation: Organisation) -> str:
    contact = " / ".join(part for part in (organisation.email, organisation.phone) if part) or organisation.name
    return _("Prévenez-nous au plus tôt (%(contact)s) en indiquant votre nom et la session. Une absence doit "
             "être justifiée auprès de votre employeur : le financeur ne paie que les heures suivies.",
             contact=contact)


def long_datetime(value) -> str:
    """"mardi 11 décembre 2018 à 14h00"."""
    return _("%(day)s à %(time)s", day=date_fr(value), time=time_fr(value))


def day_by_day(session: TrainingSession) -> list[dict]:
    """One line per day: "mardi 11 décembre 2018", "9h30 – 12h30 et 14h00 – 18h00", "7 h"."""
    days = []
    for day, slots in groupby(session.slots, key=lambda slot: slot.date):
        slots = list(slots)
        days.append({
            "date": date_fr(day),
            "times": _(" et ").join(f"{time_fr(s.start_time)} – {time_fr(s.end_time)}" for s in slots),
            "hours": hours(sum(s.minutes for s in slots)),
        })
    return days


def context(enrolment: Enrolment, *, for_office: bool = False) -> dict:
    """Plain data for the template (never ORM objects). `for_office`: the office's preview, whose personal
    link is shown as the outbox shows it (mail.shown_to_staff)."""
    session, trainee = enrolment.session, enrolment.trainee
    programme = session.programme
    organisation = Organisation.get()
    own = texts(session)
    contact = session.contact_person or " — ".join(
        part for part in (organisation.name, organisation.email, organisation.phone) if part)
    return {
        "organisation": {
            "name": organisation.name, "address": ", ".join(organisation.address.splitlines()),
            "declaration_number": organisation.declaration_number or "—",
            "email": organisation.email, "phone": organisation.phone,
        },
        "trainee_name": trainee.formal_name,
        "employer": trainee.employer.name if trainee.employer else "",
        "title": session.course.title,
        "objectives": [objective.text for objective in session.course.objectives],
        "start": long_datetime(session.start_at),
        "end": long_datetime(session.end_at),
        "days": day_by_day(session),
        "total_hours": hours(session.planned_minutes),
        "place": Listing(session.place or _("à préciser")),
        "access_info": Listing(session.access_info or _("Nous contacter.")),
        "modality": label(session.modality),
        "trainers": _(" et ").join(t.name for t in session.trainers) or _("à désigner"),
        "contact_person": contact,
        "disability_contact": Listing(programme.accessibility_contact or organisation.accessibility_contact
                                      or contact),
        "what_to_bring": Listing(own.what_to_bring or default_what_to_bring()),
        "absence_procedure": Listing(own.absence_procedure or default_absence_procedure(organisation)),
        "personal_link": mail.shown_to_staff(personal_url(trainee)) if for_office else personal_url(trainee),
        "issued_place": organisation.city or "—",
        "issued_on": date_fr(local_now().date(), "d MMMM y"),
    }


def render(enrolment: Enrolment, *, for_office: bool = False) -> bytes:
    return word.render(word.template_path(TEMPLATE), context(enrolment, for_office=for_office))


def filename(enrolment: Enrolment) -> str:
    trainee = enrolment.trainee
    raw = f"convocation-{trainee.last_name}-{trainee.first_name}"
    ascii_name = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9-]+", "-", ascii_name).strip("-").lower() + ".docx"


def fingerprint(session: TrainingSession) -> str:
    """A hash of what a convocation states that the session's later changes can make wrong: the
    half-days (so the dates and the day-by-day timetable) and the place."""
    stated = {"slots": sorted((s.date.isoformat(), s.start_time.isoformat(), s.end_time.isoformat())
                              for s in session.slots),
              "place": session.place or ""}
    return hashlib.sha256(json.dumps(stated).encode()).hexdigest()


def missing_identity() -> list[str]:
    """The organisation's settings to fill in before a convocation can be sent (French names)."""
    return organisation_service.missing_for_documents()


def may_be_convoked(enrolment: Enrolment) -> bool:
    """Whether the enrolment may (still) receive a convocation: confirmed, in a session neither cancelled nor
    ended. The organisation's identity, also needed before sending, is the office's business."""
    return _refusal(enrolment) is None


def _refusal(enrolment: Enrolment) -> str | None:
    session = enrolment.session
    if enrolment.status != EnrolmentStatus.CONFIRMED:
        return _("La convocation n'est envoyée qu'aux inscriptions confirmées (%(name)s : %(state)s).",
                 name=enrolment.trainee.full_name, state=label(enrolment.status))
    if session.status == SessionStatus.CANCELLED:
        return _("Cette session est annulée : pas de convocation.")
    if session.end_at < local_now():
        return _("Cette session est terminée : pas de convocation.")
    return None


def _check_sendable(enrolment: Enrolment) -> None:
    refusal = _refusal(enrolment)
    if refusal:
        raise ServiceError(refusal)
    missing = missing_identity()
    if missing:
        raise ServiceError(_("Complétez d'abord les informations de l'organisme, imprimées sur la convocation : "
                             "%(fields)s.", fields=", ".join(missing)))


def send_one(enrolment: Enrolment, *, actor: User | None = None) -> ConvocationSending:
    """The office's "send the convocation" to one trainee, under the session row lock (as send_all): a double
    click waits for the first request, then finds its sending and is refused (RESEND_GAP)."""
    lock_session(enrolment.session_id)
    return send(enrolment, actor=actor)


def send(enrolment: Enrolment, *, actor: User | None = None, actor_label: str = "") -> ConvocationSending:
    """Render the convocation, keep it, record the sending and queue the e-mail (sent after commit).
    The same convocation (same half-days and place) to the same address within RESEND_GAP is refused."""
    _check_sendable(enrolment)
    stated = fingerprint(enrolment.session)
    just_sent = _just_sent(enrolment, stated)
    if just_sent is not None:
        raise ServiceError(_("La convocation de %(name)s vient de lui être envoyée (à %(time)s) : pour l'envoyer de "
                             "nouveau, attendez quelques minutes.", name=enrolment.trainee.full_name,
                             time=time_fr(to_local(just_sent))))
    return _send(enrolment, stated, actor, actor_label)


def _send(enrolment: Enrolment, stated: str, actor: User | None, actor_label: str) -> ConvocationSending:
    session, trainee = enrolment.session, enrolment.trainee
    content = render(enrolment)
    name = filename(enrolment)
    path = storage.save(f"convocations/{session.id}", name, content)
    sending = ConvocationSending(enrolment=enrolment, sent_to=trainee.email, channel="email", actor=actor,
                                 actor_label=actor_label or (actor.name if actor else ""), document_path=path,
                                 fingerprint=stated)
    db.session.add(sending)
    own = texts(session)
    body = "\n\n".join(part for part in [
        _("Bonjour %(name)s,", name=trainee.full_name),
        own.message,
        _("Vous trouverez ci-joint votre convocation à la formation « %(title)s », du %(start)s au %(end)s.",
          title=session.title, start=datetime_fr(session.start_at), end=datetime_fr(session.end_at)),
        _("Lieu : %(place)s", place=session.place or _("à préciser")),
        _("Horaires :") + "\n" + "\n".join(f"- {d['date']} : {d['times']}" for d in day_by_day(session)),
        _("Votre espace personnel : %(url)s", url=personal_url(trainee)),
    ] if part) + "\n"
    mail.queue(trainee.email, _("Convocation : %(title)s", title=session.title), body,
               attachments=[mail.Attachment(name, content, DOCX_MIMETYPE)], tag=f"convocation:{enrolment.id}")
    return sending


def _just_sent(enrolment: Enrolment, stated: str):
    """When the same convocation (`stated`: fingerprint) went to the trainee's address less than RESEND_GAP
    ago (UTC), else None."""
    last = db.session.execute(
        db.select(ConvocationSending.sent_at, ConvocationSending.sent_to, ConvocationSending.fingerprint)
        .where(ConvocationSending.enrolment_id == enrolment.id)
        .order_by(ConvocationSending.sent_at.desc(), ConvocationSending.id.desc()).limit(1)).first()
    if (last is not None and utcnow() - last.sent_at < RESEND_GAP and last.sent_to == enrolment.trainee.email
            and last.fingerprint == stated):
        return last.sent_at
    return None


class Sendings(list):
    """The convocations send_all() sent; `skipped`: the trainees it left out because theirs had just gone."""

    def __init__(self, sent, skipped):
        super().__init__(sent)
        self.skipped = skipped


def send_all(session: TrainingSession, *, only_new: bool = False, actor: User | None = None) -> Sendings:
    """Send the convocation to every confirmed trainee of the session (with only_new, only to those not
    convoked yet or whose convocation is outdated).

    Who is confirmed and who was convoked are read under the session row lock: a double click
    waits for the first request, then finds its sendings and sends nothing twice. A trainee whose same
    convocation went less than RESEND_GAP ago is left out (Sendings.skipped); if all were, it is refused.
    """
    session = lock_session(session.id)
    if session.status == SessionStatus.CANCELLED:
        raise ServiceError(_("Cette session est annulée : pas de convocation."))
    confirmed = confirmed_enrolments(session)
    if not confirmed:
        raise ServiceError(_("Aucune inscription confirmée : aucune convocation à envoyer."))
    already = sent_enrolment_ids(session) - outdated_enrolment_ids(session) if only_new else set()
    stated = fingerprint(session)
    wanted = [enrolment for enrolment in confirmed if enrolment.id not in already]
    skipped = [enrolment for enrolment in wanted if _just_sent(enrolment, stated) is not None]
    if wanted and len(skipped) == len(wanted):  # "send to all" clicked twice
        raise ServiceError(_("Ces convocations viennent d'être envoyées : pour les envoyer de nouveau, attendez "
                             "quelques minutes."))
    sent = []
    for enrolment in wanted:
        if enrolment not in skipped:
            _check_sendable(enrolment)
            sent.append(_send(enrolment, stated, actor, ""))
    return Sendings(sent, skipped)


def confirmed_enrolments(session: TrainingSession) -> list[Enrolment]:
    return list(db.session.scalars(
        db.select(Enrolment).join(Enrolment.trainee)
        .where(Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.CONFIRMED)
        .order_by(Trainee.last_name, Trainee.first_name)))


def sent_enrolment_ids(session: TrainingSession) -> set[int]:
    return set(db.session.scalars(
        db.select(ConvocationSending.enrolment_id).join(ConvocationSending.enrolment)
        .where(Enrolment.session_id == session.id)))


def outdated_enrolment_ids(session: TrainingSession) -> set[int]:
    """The confirmed enrolments whose last convocation states other half-days or another place than the
    session now has (sendings recorded without a fingerprint are not known to be outdated)."""
    rows = db.session.execute(
        db.select(ConvocationSending.enrolment_id, ConvocationSending.fingerprint).join(ConvocationSending.enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.CONFIRMED)
        .order_by(ConvocationSending.sent_at, ConvocationSending.id))
    last = {enrolment_id: stated for enrolment_id, stated in rows}  # the latest sending of each one wins
    current = fingerprint(session)
    return {enrolment_id for enrolment_id, stated in last.items() if stated and stated != current}


def is_outdated(sending: ConvocationSending) -> bool:
    return bool(sending.fingerprint) and sending.fingerprint != fingerprint(sending.enrolment.session)


def outdated_notice() -> str:
    """What the trainee reads instead of an outdated convocation."""
    return _("Les dates, les horaires ou le lieu de la formation ont changé depuis l'envoi de votre convocation : "
             "elle n'est plus valable. Une nouvelle convocation vous sera envoyée par e-mail.")


def sendings(*, enrolment: Enrolment | None = None, session: TrainingSession | None = None) -> list[ConvocationSending]:
    """Sendings, latest first, with the trainee and the sender loaded (one query)."""
    query = (db.select(ConvocationSending).join(ConvocationSending.enrolment)
             .options(contains_eager(ConvocationSending.enrolment).joinedload(Enrolment.trainee),
                      joinedload(ConvocationSending.actor))
             .order_by(ConvocationSending.sent_at.desc(), ConvocationSending.id.desc()))
    if enrolment is not None:
        query = query.where(ConvocationSending.enrolment_id == enrolment.id)
    if session is not None:
        query = query.where(Enrolment.session_id == session.id)
    return list(db.session.scalars(query))


def still_valid(enrolment: Enrolment) -> bool:
    """A convocation sent for a cancelled enrolment, or a cancelled session, no longer holds."""
    return enrolment.status != EnrolmentStatus.CANCELLED and enrolment.session.status != SessionStatus.CANCELLED


def last_sent_document(enrolment: Enrolment) -> ConvocationSending | None:
    found = sendings(enrolment=enrolment)
    return found[0] if found else None
