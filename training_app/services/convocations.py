"""Convocations: the Word document (certificates/convocation.docx) and the e-mail that carries it,
for one confirmed trainee or all of a session's confirmed trainees. Each sending is recorded
(when, to which address, by whom, the document sent, a fingerprint of what it states); the e-mail
leaves after the commit. A convocation whose session's half-days, place, access, modality or trainers, or
the employer of the trainee's course (enrolments.course_employers: the one the certificates name) changed
since is outdated: it no longer holds, and sending "to those who have not received it" sends it again."""
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from itertools import groupby

from docxtpl import Listing
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload

from training_app.clock import local_now, to_local, utcnow
from training_app.documents import storage, word
from training_app.extensions import db
from training_app.formatting import date_fr, datetime_fr, de, hours, label, time_fr
from training_app.models import (ConvocationSending, ConvocationText, Enrolment, EnrolmentStatus, Organisation,
                                 SessionStatus, Trainee, TrainingSession, User)
from training_app.services import ServiceError, edit_versions, mail
from training_app.services import organisation as organisation_service
from training_app.services.enrolments import course_employer, course_employers, lock_session
from training_app.services.registrations import EMPLOYER_FUNDED
from training_app.services.trainee_links import personal_url

TEMPLATE = "convocation.docx"
RESEND_GAP = timedelta(minutes=2)  # the same convocation to the same address this soon is a double click
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_OF_THE_COURSE = object()  # context(): the employer is the one of the enrolment's course (course_employer)


def texts(session: TrainingSession) -> ConvocationText:
    """The session's convocation texts (a new, unsaved row when none were written yet)."""
    return db.session.get(ConvocationText, session.id) or ConvocationText(
        session_id=session.id, what_to_bring="", absence_procedure="", message="")


def save_texts(session: TrainingSession, what_to_bring: str, absence_procedure: str, message: str, *,
               opened_version: int | None = None) -> ConvocationText:
    """Write the session's convocation texts, under the session row lock: two first saves at once are one
    after the other (the second finds the row the first wrote). With `opened_version` (the version the office's
    form was opened at), texts saved by someone else since are not overwritten: StaleEdit (edit_versions)."""
    lock_session(session.id)
    row = db.session.get(ConvocationText, session.id)
    if row is None:
        row = ConvocationText(session_id=session.id)
        db.session.add(row)
        db.session.flush()

    def write():
        row.what_to_bring = (what_to_bring or "").strip()
        row.absence_procedure = (absence_procedure or "").strip()
        row.message = (message or "").strip()

    if opened_version is None:
        write()
    else:
        edit_versions.save(row, opened_version, write)
    return row


def default_what_to_bring() -> str:
    return _("De quoi prendre des notes, et si vous le souhaitez des exemples de situations vécues dans votre "
             "travail. Une cuisine est à votre disposition pour le repas de midi.")


def default_absence_procedure(organisation: Organisation, *, employed: bool = True) -> str:
    """What to do when absent. The sentence about the employer and the funder only for a trainee whose course
    an employer or an OPCO pays, or who has an employer (`employed`): not for someone paying for themselves."""
    contact = " / ".join(part for part in (organisation.email, organisation.phone) if part) or organisation.name
    text = _("Prévenez-nous au plus tôt (%(contact)s) en indiquant votre nom et la session.", contact=contact)
    if not employed:
        return text
    return text + " " + _("Une absence doit être justifiée auprès de votre employeur : le financeur ne paie que "
                          "les heures suivies.")


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


def context(enrolment: Enrolment, *, for_office: bool = False, employer=_OF_THE_COURSE,
            common: "Common | None" = None) -> dict:
    """Plain data for the template (never ORM objects). `for_office`: the office's preview, whose personal
    link is shown as the outbox shows it (mail.shown_to_staff); `employer`: the employer of the course
    (course_employer, None: on their own account) when the caller has it, never the trainee's record now;
    `common`: what the session's convocations share, when the caller convokes several trainees (read once)."""
    session, trainee = enrolment.session, enrolment.trainee
    common = common or Common(session)
    course, organisation, own = common.course, common.organisation, common.texts
    if employer is _OF_THE_COURSE:
        employer = course_employer(enrolment)
    programme = session.programme
    contact = session.contact_person or " — ".join(
        part for part in (organisation.name, organisation.email, organisation.phone) if part)
    return {
        "organisation": {
            "name": organisation.name, "address": ", ".join(organisation.address.splitlines()),
            "declaration_number": organisation.declaration_number or "—",
            "email": organisation.email, "phone": organisation.phone,
        },
        "trainee_name": trainee.formal_name,
        "employer": _employer_name(employer),
        "title": course.title,
        "objectives": [objective.text for objective in course.objectives],
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
        "absence_procedure": Listing(own.absence_procedure or default_absence_procedure(
            organisation, employed=employer is not None or enrolment.funding_mode in EMPLOYER_FUNDED)),
        "personal_link": mail.shown_to_staff(personal_url(trainee)) if for_office else personal_url(trainee),
        "issued_place": organisation.city or "—",
        "issued_on": date_fr(local_now().date(), "d MMMM y"),
    }


def render(enrolment: Enrolment, *, for_office: bool = False, employer=_OF_THE_COURSE,
           common: "Common | None" = None) -> bytes:
    return word.render(word.template_path(TEMPLATE), context(enrolment, for_office=for_office, employer=employer,
                                                             common=common))


def _employer_name(employer) -> str:
    return employer.name if employer else ""


def filename(enrolment: Enrolment) -> str:
    trainee = enrolment.trainee
    raw = f"convocation-{trainee.last_name}-{trainee.first_name}"
    ascii_name = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9-]+", "-", ascii_name).strip("-").lower() + ".docx"


FINGERPRINT_VERSION = "v4:"
EMPLOYER_FINGERPRINT_VERSION = "v3:"  # sendings recorded before the course's title, objectives and contact person
SESSION_FINGERPRINT_VERSION = "v2:"  # sendings recorded before the employer was covered: the session's part only
# Sendings before "v2:" hold a bare hash of the half-days and the place only (_first_fingerprint).


def fingerprint(session: TrainingSession, employer) -> str:
    """A hash of what a trainee's convocation states that later changes can make wrong: the session's half-days
    (so the dates and the day-by-day timetable), the place, how to get there, the modality and the trainers,
    and the employer of the course (`employer`: course_employer, None: on their own account), the course's title
    and objectives and the person to contact. It fits the 64 characters of ConvocationSending.fingerprint.
    For several trainees of a session, Fingerprints reads the session's part once."""
    return Fingerprints(session).now(employer)


class Fingerprints:
    """The fingerprints of a session's convocations for one call: what the session states (its half-days,
    place, trainers, course's title and objectives...) is read once, the hash made once per employer, so that
    checking every trainee's convocation runs as many queries as checking one."""

    def __init__(self, session: TrainingSession):
        self.session = session
        self._hashes: dict[tuple[str, str], str] = {}

    def now(self, employer) -> str:
        """What fingerprint(self.session, employer) gives."""
        return self._hash(FINGERPRINT_VERSION, employer)

    def no_longer_holds(self, stated: str, employer) -> bool:
        """Whether a sending's fingerprint (`stated`) differs from what the trainee's convocation would state
        now (`employer`: the employer of their course now). Sendings recorded without a fingerprint are not
        known to be outdated; older ones are compared on what they covered. Once the session is over or
        cancelled no new convocation can go (_session_refusal): the one sent stays valid as what the trainee
        was told (an employer corrected after the course, as funding often asks, does not void it)."""
        if not stated or _session_refusal(self.session) is not None:
            return False
        for version in (FINGERPRINT_VERSION, EMPLOYER_FINGERPRINT_VERSION, SESSION_FINGERPRINT_VERSION):
            if stated.startswith(version):
                return stated != self._hash(version, employer)
        return stated != self._hash("", None)

    def _hash(self, version: str, employer) -> str:
        name = _employer_name(employer) if version in (FINGERPRINT_VERSION, EMPLOYER_FINGERPRINT_VERSION) else ""
        key = (version, name)
        if key not in self._hashes:
            self._hashes[key] = self._made(version, name)
        return self._hashes[key]

    def _made(self, version: str, employer_name: str) -> str:
        if version == FINGERPRINT_VERSION:  # the keys in this order: the hashes recorded since stay equal
            return _hashed(version, {**self._session_part, "employer": employer_name, **self._course_part})
        if version == EMPLOYER_FINGERPRINT_VERSION:
            return _hashed(version, {**self._session_part, "employer": employer_name})
        if version == SESSION_FINGERPRINT_VERSION:
            return _hashed(version, self._session_part)
        return _first_fingerprint(self.session)  # before SESSION_FINGERPRINT_VERSION: a bare hash

    @cached_property
    def _session_part(self) -> dict:
        return _stated(self.session)

    @cached_property
    def course(self):
        """The session's CourseContent, its objectives read once (the convocations rendered with them too)."""
        return self.session.course

    @cached_property
    def _course_part(self) -> dict:
        course = self.course
        return {"title": course.title, "objectives": [objective.text for objective in course.objectives],
                "contact_person": self.session.contact_person or ""}


class Common:
    """What every trainee's convocation of a session shares, read once for a call: sending to thirty trainees
    runs as many queries as sending to two. The course (its objectives) and the fingerprints (Fingerprints), the
    organisation and the session's texts (kept here: the session's identity map would let them go, and texts not
    written yet are no row at all)."""

    def __init__(self, session: TrainingSession):
        self.session = session
        self.fingerprints = Fingerprints(session)

    @property
    def course(self):
        return self.fingerprints.course

    @cached_property
    def organisation(self) -> Organisation:
        return Organisation.get()

    @cached_property
    def texts(self) -> ConvocationText:
        return texts(self.session)


def _stated(session: TrainingSession) -> dict:
    return {"slots": _stated_slots(session), "place": session.place or "",
            "access_info": session.access_info or "", "modality": str(session.modality or ""),
            "trainers": sorted(trainer.name for trainer in session.trainers)}


def _hashed(version: str, stated: dict) -> str:
    digest = hashlib.sha256(json.dumps(stated).encode()).hexdigest()
    return version + digest[:64 - len(version)]


def _first_fingerprint(session: TrainingSession) -> str:
    """The fingerprint sendings recorded before SESSION_FINGERPRINT_VERSION: the half-days and the place."""
    stated = {"slots": _stated_slots(session), "place": session.place or ""}
    return hashlib.sha256(json.dumps(stated).encode()).hexdigest()


def _stated_slots(session: TrainingSession) -> list:
    return sorted((s.date.isoformat(), s.start_time.isoformat(), s.end_time.isoformat()) for s in session.slots)


def _no_longer_holds(stated: str, session: TrainingSession, employer) -> bool:
    """Fingerprints.no_longer_holds for one sending (several of a session: one Fingerprints for all)."""
    return Fingerprints(session).no_longer_holds(stated, employer)


def missing_identity() -> list[str]:
    """The organisation's settings to fill in before a convocation can be sent (French names)."""
    return organisation_service.missing_for_documents()


def may_be_convoked(enrolment: Enrolment) -> bool:
    """Whether the enrolment may (still) receive a convocation: confirmed, in a session neither cancelled nor
    ended. The organisation's identity, also needed before sending, is the office's business."""
    return _refusal(enrolment) is None


def _refusal(enrolment: Enrolment) -> str | None:
    if enrolment.status != EnrolmentStatus.CONFIRMED:
        return _("La convocation n'est envoyée qu'aux inscriptions confirmées (%(name)s : %(state)s).",
                 name=enrolment.trainee.full_name, state=label(enrolment.status))
    return _session_refusal(enrolment.session)


def _session_refusal(session: TrainingSession) -> str | None:
    if session.status == SessionStatus.CANCELLED:
        return _("Cette session est annulée : pas de convocation.")
    if session.end_at < local_now():
        return _("Cette session est terminée : pas de convocation.")
    return None


def resending_refusal(enrolment: Enrolment) -> str | None:
    """Why the convocation last e-mailed to the enrolment's trainee may not be sent again as written (the
    outbox's « Renvoyer », services/mail.outdated_reason), or None: the enrolment may no longer be convoked, or
    the convocation states what the session or the course no longer does."""
    refusal = _refusal(enrolment)
    if refusal:
        return refusal
    last = last_sent_document(enrolment)
    if last is not None and is_outdated(last):
        return _("La convocation qu'il porte n'est plus à jour : les dates, les horaires, le lieu, l'accès, les "
                 "modalités, l'intitulé, les objectifs, la personne à contacter, les formateur·rices ou la "
                 "structure employeuse ont changé depuis.")
    return None


def _check_sendable(enrolment: Enrolment) -> None:
    refusal = _refusal(enrolment)
    if refusal:
        raise ServiceError(refusal)
    _check_identity()


def _check_identity() -> None:
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
    The same convocation (same fingerprint) to the same address within RESEND_GAP is refused."""
    _check_sendable(enrolment)
    employer = course_employer(enrolment)
    common = Common(enrolment.session)
    stated = common.fingerprints.now(employer)
    last = _last_sendings(enrolment_id=enrolment.id).get(enrolment.id)
    if _just_sent(last, enrolment, stated):
        raise ServiceError(_("La convocation %(of_name)s vient de lui être envoyée (à %(time)s) : pour l'envoyer de "
                             "nouveau, attendez quelques minutes.", of_name=de(enrolment.trainee.full_name),
                             time=time_fr(to_local(last.sent_at))))
    return _send(enrolment, employer, common, actor, actor_label)


def _send(enrolment: Enrolment, employer, common: Common, actor: User | None, actor_label: str) -> ConvocationSending:
    session, trainee = enrolment.session, enrolment.trainee
    content = render(enrolment, employer=employer, common=common)
    name = filename(enrolment)
    path = storage.save_in_transaction(f"convocations/{session.id}", name, content)
    sending = ConvocationSending(enrolment=enrolment, sent_to=trainee.email, channel="email", actor=actor,
                                 actor_label=actor_label or (actor.name if actor else ""), document_path=path,
                                 fingerprint=common.fingerprints.now(employer), sent_at=utcnow())
    db.session.add(sending)
    own = common.texts
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


def _last_sendings(*, session_id: int | None = None, enrolment_id: int | None = None) -> dict:
    """The latest sending (sent_at, sent_to, fingerprint) of each confirmed enrolment of a session, or of one
    enrolment, by enrolment id, in one query."""
    query = (db.select(ConvocationSending.enrolment_id, ConvocationSending.sent_at, ConvocationSending.sent_to,
                       ConvocationSending.fingerprint)
             .order_by(ConvocationSending.sent_at, ConvocationSending.id))
    if enrolment_id is not None:
        query = query.where(ConvocationSending.enrolment_id == enrolment_id)
    if session_id is not None:
        query = query.join(ConvocationSending.enrolment).where(Enrolment.session_id == session_id,
                                                               Enrolment.status == EnrolmentStatus.CONFIRMED)
    return {row.enrolment_id: row for row in db.session.execute(query)}  # the latest of each one wins


def _just_sent(last, enrolment: Enrolment, stated: str) -> bool:
    """Whether `last` (the enrolment's latest sending, or None) is the same convocation (`stated`: fingerprint)
    to the trainee's address less than RESEND_GAP ago."""
    return (last is not None and utcnow() - last.sent_at < RESEND_GAP and last.sent_to == enrolment.trainee.email
            and last.fingerprint == stated)


@dataclass
class SendAllResult:
    """What send_all() did: the convocations it sent, and the trainees it left out because theirs had just
    gone (`skipped`, enrolments)."""
    sent: list[ConvocationSending]
    skipped: list[Enrolment]


def send_all(session: TrainingSession, *, only_new: bool = False, actor: User | None = None) -> SendAllResult:
    """Send the convocation to every confirmed trainee of the session (with only_new, only to those not
    convoked yet or whose convocation is outdated).

    Who is confirmed and who was convoked are read under the session row lock: a double click
    waits for the first request, then finds its sendings and sends nothing twice. A trainee whose same
    convocation went less than RESEND_GAP ago is left out (`skipped`); if all were, it is refused.
    """
    session = lock_session(session.id)
    if session.status == SessionStatus.CANCELLED:
        raise ServiceError(_("Cette session est annulée : pas de convocation."))
    confirmed = confirmed_enrolments(session)
    if not confirmed:
        raise ServiceError(_("Aucune inscription confirmée : aucune convocation à envoyer."))
    employers = course_employers(confirmed)
    common = Common(session)
    fingerprints = common.fingerprints
    last = _last_sendings(session_id=session.id)
    if only_new:
        confirmed = [enrolment for enrolment in confirmed if enrolment.id not in last
                     or fingerprints.no_longer_holds(last[enrolment.id].fingerprint, employers[enrolment.id])]
    skipped = [enrolment for enrolment in confirmed
               if _just_sent(last.get(enrolment.id), enrolment, fingerprints.now(employers[enrolment.id]))]
    if confirmed and len(skipped) == len(confirmed):  # "send to all" clicked twice
        raise ServiceError(_("Ces convocations viennent d'être envoyées : pour les envoyer de nouveau, attendez "
                             "quelques minutes."))
    wanted = [enrolment for enrolment in confirmed if enrolment not in skipped]
    if wanted:
        refusal = _session_refusal(session)
        if refusal:
            raise ServiceError(refusal)
        _check_identity()
    return SendAllResult([_send(enrolment, employers[enrolment.id], common, actor, "")
                          for enrolment in wanted], skipped)


def confirmed_enrolments(session: TrainingSession) -> list[Enrolment]:
    """With their trainee and the employer kept on the enrolment (course_employers reads no more of them)."""
    return list(db.session.scalars(
        db.select(Enrolment).join(Enrolment.trainee)
        .where(Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.CONFIRMED)
        .options(contains_eager(Enrolment.trainee), joinedload(Enrolment.employer))
        .order_by(Trainee.last_name, Trainee.first_name)))


def sent_enrolment_ids(session: TrainingSession) -> set[int]:
    return set(db.session.scalars(
        db.select(ConvocationSending.enrolment_id).join(ConvocationSending.enrolment)
        .where(Enrolment.session_id == session.id)))


def outdated_enrolment_ids(session: TrainingSession, employers: dict | None = None) -> set[int]:
    """The confirmed enrolments whose last convocation states other half-days, place, access, modality or
    trainers than the session now has, or another employer than the one of their course now (`employers`:
    course_employers of the session's enrolments, when the caller has them). Sendings recorded without a
    fingerprint are not known to be outdated."""
    last = _last_sendings(session_id=session.id)
    if employers is None:
        employers = course_employers(db.session.scalars(
            db.select(Enrolment).where(Enrolment.id.in_(list(last))).options(joinedload(Enrolment.employer)))
            if last else [])
    fingerprints = Fingerprints(session)
    return {enrolment_id for enrolment_id, sending in last.items()
            if fingerprints.no_longer_holds(sending.fingerprint, employers.get(enrolment_id))}


def is_outdated(sending: ConvocationSending) -> bool:
    enrolment = sending.enrolment
    return _no_longer_holds(sending.fingerprint, enrolment.session, course_employer(enrolment))


def outdated_notice() -> str:
    """What the trainee reads instead of an outdated convocation."""
    return _("Les dates, les horaires, le lieu, l'accès, les modalités, l'intitulé, les objectifs, la personne à "
             "contacter ou les formateur·rices de la formation, ou la structure employeuse pour laquelle vous la "
             "suivez, ont changé depuis l'envoi de votre convocation : "
             "elle n'est plus valable. Une nouvelle convocation vous sera envoyée par e-mail.")


def sendings(*, enrolment: Enrolment | None = None, session: TrainingSession | None = None,
             trainee_id: int | None = None) -> list[ConvocationSending]:
    """Sendings, latest first, with the trainee and the sender loaded (one query)."""
    query = (db.select(ConvocationSending).join(ConvocationSending.enrolment)
             .options(contains_eager(ConvocationSending.enrolment).joinedload(Enrolment.trainee),
                      joinedload(ConvocationSending.actor))
             .order_by(ConvocationSending.sent_at.desc(), ConvocationSending.id.desc()))
    if enrolment is not None:
        query = query.where(ConvocationSending.enrolment_id == enrolment.id)
    if session is not None:
        query = query.where(Enrolment.session_id == session.id)
    if trainee_id is not None:
        query = query.where(Enrolment.trainee_id == trainee_id)
    return list(db.session.scalars(query))


def still_valid(enrolment: Enrolment) -> bool:
    """A convocation sent for a cancelled enrolment, or a cancelled session, no longer holds."""
    return enrolment.status != EnrolmentStatus.CANCELLED and enrolment.session.status != SessionStatus.CANCELLED


def last_sent_document(enrolment: Enrolment) -> ConvocationSending | None:
    found = sendings(enrolment=enrolment)
    return found[0] if found else None


def last_sent_documents(trainee_id: int) -> dict[int, tuple[ConvocationSending, bool]]:
    """enrolment id -> (last_sent_document(), whether it is_outdated()), for every enrolment of the trainee that
    was sent one (two queries)."""
    last: dict[int, ConvocationSending] = {}
    for sending in sendings(trainee_id=trainee_id):
        last.setdefault(sending.enrolment_id, sending)
    employers = course_employers([sending.enrolment for sending in last.values()])
    by_session: dict[int, Fingerprints] = {}
    return {enrolment_id: (sending, by_session.setdefault(sending.enrolment.session_id, Fingerprints(
        sending.enrolment.session)).no_longer_holds(sending.fingerprint, employers[enrolment_id]))
            for enrolment_id, sending in last.items()}
