"""People who ask for a place: finding or creating the trainee and their employer, the
public registration form and the office's "enrol someone" form both end in enrolments.enrol()."""
import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import set_committed_value

from training_app.clock import local_now
from training_app.extensions import db, dialect_insert, lowered
from training_app.formatting import datetime_fr, label
from training_app.identifiers import is_valid_siret
from training_app.models import (Employer, Enrolment, ProgrammeKind, SessionStatus, Trainee, TraineeCategory,
                                 TrainingSession, User)
from training_app.services import ServiceError, audit, enrolments, flush_or_refuse, mail, trainee_links
from training_app.urls import public_url

# What a form or a list may write, to the civilities stored (those the forms offer and the certificates print:
# « Mme Awa DIALLO, salariée de… »). « Mademoiselle » is no longer used by the administration: Mme.
CIVILITIES = {"": "", "mme": "Mme", "mme.": "Mme", "madame": "Mme", "mlle": "Mme", "mlle.": "Mme",
              "mademoiselle": "Mme", "m": "M.", "m.": "M.", "mr": "M.", "mr.": "M.", "monsieur": "M.",
              "mx": "Mx", "mx.": "Mx"}
FUNDING_LABELS = {
    "opco": _l("Par l'employeur, avec une prise en charge de son OPCO (ex. Uniformation)"),
    "employer": _l("Par l'employeur, sur ses fonds propres"),
    "personal": _l("À titre personnel"),
    "other": _l("Autre (France Travail, CPF, à préciser avec nous)"),
}
FUNDING_MODES = tuple(FUNDING_LABELS)
EMPLOYER_FUNDED = ("opco", "employer")  # a public registration naming these modes names its employer
PUBLIC_LABEL = enrolments.PUBLIC_LABEL


# What no name holds, but a link or an address does: a name is printed at the head of the e-mails the
# organisation sends ("Bonjour …"), and the public form must not let anyone write a link there.
_NOT_IN_A_NAME = re.compile(r"[:/@<>]|www\.", re.IGNORECASE)


@dataclass
class PersonDetails:
    """What we learn about a person asking for a place (public form, office form, import row)."""
    first_name: str
    last_name: str
    email: str
    civility: str = ""
    phone: str = ""
    job_title: str = ""
    employer_name: str = ""
    employer_siret: str = ""
    category: str = ""

    def cleaned(self) -> "PersonDetails":
        """Trimmed values, e-mail in lower case, civility and SIRET normalised; raises ServiceError."""
        details = self.trimmed()
        details.email = normalise_email(details.email)
        details.civility = normalise_civility(details.civility)
        details.employer_siret = normalise_siret(details.employer_siret)
        for field, message in details.mistakes():
            raise ServiceError(message, field)
        if not details.category:
            details.category = "employee" if details.employer_name else "individual"
        return details

    def trimmed(self) -> "PersonDetails":
        """The values with their blanks trimmed and folded, nothing else changed."""
        return PersonDetails(**{k: " ".join(str(v or "").split()) for k, v in self.__dict__.items()})

    def mistakes(self) -> list[tuple[str, str]]:
        """(field, French message) for each rule the details break besides the e-mail's, civility's and SIRET's
        own (normalise_*), in the order cleaned() refuses them; on trimmed() details. The public form shows them
        all at once (PublicRegistrationForm)."""
        found = [(field, message) for field, message in (("first_name", _("Indiquez le prénom.")),
                                                         ("last_name", _("Indiquez le nom.")))
                 if not getattr(self, field)]
        for field, named in (("first_name", _("Le prénom")), ("last_name", _("Le nom"))):
            if _NOT_IN_A_NAME.search(getattr(self, field)):
                found.append((field, _("%(field)s ne peut contenir ni adresse web ni les signes « : », « / », "
                                       "« @ », « < », « > ».", field=named)))
        if phone_mistake(self.phone):
            found.append(("phone", phone_mistake(self.phone)))
        if _siret_digits(self.employer_siret) and not self.employer_name:
            found.append(("employer_name", _("Indiquez le nom de la structure employeuse qui a ce SIRET.")))
        return found + too_long(self.__dict__)


# What a phone number typed may hold: digits, spaces, dots, hyphens, parentheses, a "+" only in front.
_PHONE = re.compile(r"\+?[0-9 .()-]*")
PHONE_MIN_DIGITS = 6


def phone_mistake(phone: str) -> str | None:
    """Why `phone` (as typed; blank: none given) is not a phone number, or None: the one rule of every form
    where a phone is typed (forms.PhoneNumber) and of PersonDetails.cleaned(), which every enrolment goes
    through."""
    phone = (phone or "").strip()
    if not phone or (_PHONE.fullmatch(phone) and sum(c.isdigit() for c in phone) >= PHONE_MIN_DIGITS):
        return None
    return _("Ce numéro de téléphone n'est pas valide : il s'écrit avec des chiffres (au moins %(min)d), et "
             "seulement des espaces, points, tirets ou parenthèses entre eux, et un « + » au début s'il y a lieu.",
             min=PHONE_MIN_DIGITS)


def person_mistakes(details: PersonDetails) -> list[tuple[str, str]]:
    """(field, French message) for each rule that a person's details typed break (the SIRET's included, as
    normalise_siret says it): a form shows them all on one submit (the office's EnrolForm), the service refusing
    the first one again when it saves (cleaned())."""
    typed = details.trimmed()
    try:
        normalise_siret(typed.employer_siret)
        found = []
    except ServiceError as error:
        found, typed.employer_siret = [("employer_siret", error.message)], ""
    return found + typed.mistakes()


# The longest text each detail may hold: its column's size (PostgreSQL refuses longer text).
MAX_LENGTHS = {
    "first_name": (Trainee.first_name, _l("Le prénom")), "last_name": (Trainee.last_name, _l("Le nom")),
    "phone": (Trainee.phone, _l("Le téléphone")), "job_title": (Trainee.job_title, _l("La fonction")),
    "employer_name": (Employer.name, _l("Le nom de la structure")),
}


def too_long(values: dict) -> list[tuple[str, str]]:
    """(field, French message) for each value longer than its column allows."""
    found = []
    for field, (column, what) in MAX_LENGTHS.items():
        limit = column.type.length
        if len(values.get(field) or "") > limit:
            found.append((field, _("%(what)s dépasse %(max)d caractères.", what=what, max=limit)))
    return found


def funding_label(mode: str) -> str:
    return str(FUNDING_LABELS.get(mode, mode or "—"))


def normalise_email(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(_("Indiquez l'adresse e-mail."), "email")
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ServiceError(_("L'adresse e-mail « %(value)s » n'est pas valide.", value=value), "email") from None


def email_to_look_up(value: str) -> str:
    """An address typed to find an account or a trainee (signing in, asking for a link), written as the
    addresses are stored (normalise_email: a punycode domain in Unicode, say); one that is not valid as typed,
    stripped and in lower case (it matches nobody)."""
    try:
        return normalise_email(value)
    except ServiceError:
        return (value or "").strip().lower()


def normalise_civility(value: str) -> str:
    key = (value or "").strip().lower()
    if key not in CIVILITIES:
        raise ServiceError(_("Civilité inconnue « %(value)s » : Mme, M., Mx ou vide.", value=value), "civility")
    return CIVILITIES[key]


def _siret_digits(value: str) -> str:
    """A SIRET as typed, its spaces, dots and dashes removed."""
    return re.sub(r"[\s.\-]", "", str(value or ""))


def normalise_siret(value: str) -> str:
    """14 digits (spaces and dots removed) with a valid check digit, or empty."""
    digits = _siret_digits(value)
    if not digits:
        return ""
    if not re.fullmatch(r"[0-9]{14}", digits):  # str.isdigit() accepts other scripts' digits
        raise ServiceError(_("Le SIRET « %(value)s » doit compter 14 chiffres.", value=value), "employer_siret")
    if not is_valid_siret(digits):
        raise ServiceError(_("Le SIRET « %(value)s » n'est pas valide (clé de contrôle) : vérifiez-le.",
                             value=value), "employer_siret")
    return digits


def find_or_create_employer(name: str, siret: str, *, complete: bool = True) -> Employer | None:
    """The employer with this SIRET, else with this name (any case), else a new one. An employer found by its
    name that has no SIRET is given this one, unless `complete` is False (the public form: an anonymous visitor
    never changes an existing record; the office is told the SIRET typed, see _notify_office)."""
    if not name and not siret:
        return None
    employer = find_employer(name, siret)
    if employer is None:
        employer = Employer(name=name, siret=siret)
        db.session.add(employer)
    elif siret and not employer.siret and complete:
        employer.siret = siret
        employer.version += 1  # an employer form opened before must not blank it (services/edit_versions)
    return employer


def find_employer(name: str, siret: str) -> Employer | None:
    """The employer find_or_create_employer() takes (nothing written): the one with this SIRET, else with this
    name (any case, accented capitals included: lowered) unless it has another SIRET; None when it would create
    one."""
    employer = None
    if siret:
        employer = db.session.scalar(db.select(Employer).where(Employer.siret == siret).order_by(Employer.id))
    if employer is None and name:
        employer = db.session.scalar(
            db.select(Employer).where(lowered(Employer.name) == name.lower()).order_by(Employer.id))
        if employer is not None and siret and employer.siret and employer.siret != siret:
            employer = None  # same name, another establishment
    return employer


def find_trainee(email: str) -> Trainee | None:
    return db.session.scalar(db.select(Trainee).where(Trainee.email == email))


def find_or_create_trainee(details: PersonDetails, *, update: bool = False,
                           complete_employer: bool = True) -> tuple[Trainee, bool]:
    """The trainee with this e-mail, or a new one. Returns (trainee, created).

    An existing trainee is updated only when `update` is set (the office's form); a
    public form never changes someone's record, nor an existing employer's (complete_employer=False).
    Two simultaneous first registrations with the same address meet on the unique e-mail and end with
    one trainee.
    """
    details = details.cleaned()
    trainee = find_trainee(details.email)
    if trainee is not None:
        if update:
            _apply_details(trainee, details)
        return trainee, False
    employer = find_or_create_employer(details.employer_name, details.employer_siret, complete=complete_employer)
    if employer is not None and employer.id is None:
        db.session.flush()  # the new employer's id
    # INSERT ... ON CONFLICT (email) DO NOTHING: nothing comes back when a simultaneous registration with this
    # address has just created the trainee (its INSERT is waited for), who is then read.
    trainee = db.session.scalar(
        dialect_insert()(Trainee).values(
            email=details.email, civility=details.civility, first_name=details.first_name,
            last_name=details.last_name, phone=details.phone, job_title=details.job_title,
            category=details.category, employer_id=employer.id if employer else None)
        .on_conflict_do_nothing(index_elements=[Trainee.email]).returning(Trainee)
        # What was written, even over an object of a rolled-back savepoint that had the same id (SQLite reuses
        # it): the ORM would otherwise hand back that stale object as the new trainee.
        .execution_options(populate_existing=True))
    if trainee is None:
        return find_trainee(details.email), False
    set_committed_value(trainee, "employer", employer)  # as written: nothing to load again
    return trainee, True


def _apply_details(trainee: Trainee, details: PersonDetails) -> None:
    trainee.civility = details.civility
    trainee.first_name, trainee.last_name = details.first_name, details.last_name
    trainee.phone = details.phone or trainee.phone or ""
    trainee.job_title = details.job_title or trainee.job_title or ""
    trainee.category = details.category
    employer = find_or_create_employer(details.employer_name, details.employer_siret)
    if employer is not None:
        trainee.employer = employer


# --- the office corrects a trainee's details -------------------------------------------------------

EDITED_FIELDS = ("civility", "first_name", "last_name", "email", "phone", "job_title", "category", "employer")


def update_trainee(trainee: Trainee, details: PersonDetails, *, actor: User) -> dict[str, list]:
    """An administrator corrects a trainee's details, e-mail included (a typo at registration, a new address).

    Returns the changes {field: [before, after]} (empty: nothing changed, nothing written). The e-mail stays
    unique: another trainee's address is refused, nothing changed. A new address revokes every personal link
    (they went to the old one) and e-mails a new link to the new address. Audited on the trainee.
    """
    if trainee.erased_at is not None:
        raise ServiceError(_("Les données de cette personne ont été effacées : sa fiche ne se modifie plus."))
    details = details.cleaned()
    if details.category not in set(TraineeCategory):
        raise ServiceError(_("Choisissez une catégorie de la liste."), "category")
    trainee = db.session.scalar(db.select(Trainee).where(Trainee.id == trainee.id).with_for_update()
                                .execution_options(populate_existing=True))
    if trainee is None:
        raise ServiceError(_("Cette personne n'existe plus."))
    if trainee.erased_at is not None:  # erased by another request since the page was read
        raise ServiceError(_("Les données de cette personne ont été effacées : sa fiche ne se modifie plus."))
    _refuse_taken_email(trainee, details.email)
    before = _snapshot(trainee)
    employer = _edited_employer(trainee.employer, details.employer_name, details.employer_siret)
    after = {**{field: getattr(details, field) for field in EDITED_FIELDS if field != "employer"},
             "employer": employer_label(employer)}
    changes = {field: [before[field], after[field]] for field in EDITED_FIELDS if before[field] != after[field]}
    if not changes:
        return changes
    for field in EDITED_FIELDS:
        if field != "employer":
            setattr(trainee, field, after[field])
    previous_employer_id = trainee.employer_id
    trainee.employer = employer
    flush_or_refuse(_taken_message(), "email")  # a simultaneous change gave the address to another trainee
    if "employer" in changes:
        enrolments.follow_trainee_employer(trainee, previous_employer_id)
    audit.record(trainee, "details_changed", actor=actor, details={"changes": changes})
    if "email" in changes:
        trainee_links.revoke_links(
            trainee, actor=actor, reason=_("Adresse e-mail modifiée"),
            intro=_("L'équipe de formation a enregistré cette adresse e-mail pour votre inscription. Voici votre "
                    "nouveau lien personnel, pour signer vos présences, répondre aux questionnaires et "
                    "télécharger vos attestations :"))
    return changes


def _snapshot(trainee: Trainee) -> dict:
    values = {field: getattr(trainee, field) or "" for field in EDITED_FIELDS if field != "employer"}
    return {**values, "employer": employer_label(trainee.employer)}


def _edited_employer(current: Employer | None, name: str, siret: str, *, complete: bool = True,
                     create: bool = True) -> Employer | None:
    """The employer a form names for someone whose record names `current`. The same name (any case) with the
    same SIRET, or with the SIRET left blank, is the current employer: a blank SIRET never moves the trainee to a
    namesake establishment. Otherwise the employer is found or created as everywhere (a SIRET it lacked is
    completed, unless `complete` is False). With create=False nothing is written: None for one to be created."""
    if not name:
        return None
    if current is not None and current.name.lower() == name.lower() and siret in ("", current.siret or ""):
        return current
    if not create:
        return find_employer(name, siret)
    return find_or_create_employer(name, siret, complete=complete)


def employer_for_course(trainee: Trainee, name: str, siret: str, funding_mode: str, *, complete: bool = True,
                        create: bool = True) -> Employer | None:
    """The employer a known trainee's new enrolment names when it is not their record's (enrolments.enrol's
    `employer`): the one named with the request (found or created as _edited_employer does) when that employer
    funds the course (EMPLOYER_FUNDED); the trainee's record is left as it is. None: their record's (the course
    is not employer-funded, or no employer is named). create=False writes nothing (None also for an employer
    that would be created)."""
    if funding_mode not in EMPLOYER_FUNDED or not name:
        return None
    employer = _edited_employer(trainee.employer, name, siret, complete=complete, create=create)
    if employer is not None and employer.id is None:
        db.session.flush()  # the new employer's id
    return employer


def employer_label(employer: Employer | None) -> str | None:
    """How the history names an employer: a change of establishment or of SIRET is a change."""
    if employer is None:
        return None
    return f"{employer.name} (SIRET {employer.siret})" if employer.siret else employer.name


def _refuse_taken_email(trainee: Trainee, email: str) -> None:
    other = find_trainee(email)
    if other is not None and other.id != trainee.id:
        raise ServiceError(_taken_message(other), "email")


def _taken_message(other: Trainee | None = None) -> str:
    if other is None:
        return _("Un·e autre stagiaire a déjà cette adresse e-mail : rien n'a été modifié.")
    return _("Un·e autre stagiaire (%(name)s) a déjà cette adresse e-mail : rien n'a été modifié.",
             name=other.formal_name)


# --- the public form ------------------------------------------------------------------------------

def public_offer(session: TrainingSession, seats_left: int | None = None) -> tuple[str, int]:
    """What the public page offers, and the seats left (counted once, or given: a list counts its sessions
    together, enrolments.places_of): "open" (a seat), "waitlist" (full), "preregister" (planned), "members" (an
    internal course: requests the office confirms) or "closed"."""
    window = _registration_window(session)
    left = enrolments.seats_left(session) if seats_left is None else seats_left
    if window != "enrol":
        return window, left
    return ("open" if left > 0 else "waitlist"), left


def public_state(session: TrainingSession) -> str:
    return public_offer(session)[0]


def closed_to_registration(session: TrainingSession) -> bool:
    """Whether the public page takes no request for the session (public_offer's "closed", without counting seats)."""
    return _registration_window(session) == "closed"


def _registration_window(session: TrainingSession) -> str:
    """"closed", "preregister" (planned: requests only, given seats when it opens), "members" (an internal course,
    free and for the association's members: requests only, the office confirms each) or "enrol" (a seat or the
    waiting list: enrol() decides)."""
    if session.programme.archived or session.start_at <= local_now() or session.recorded_afterwards:
        return "closed"
    # An internal course's requests are confirmed by the office, also before it opens: they are not
    # pre-registrations given seats at the opening (enrolments.open_registrations).
    if session.programme.kind == ProgrammeKind.INTERNAL and session.status in (
            SessionStatus.PLANNED, SessionStatus.OPEN, SessionStatus.FULL):
        return "members"
    if session.status == SessionStatus.PLANNED:
        return "preregister"
    if session.status not in (SessionStatus.OPEN, SessionStatus.FULL):
        return "closed"
    return "enrol"


@dataclass
class Registration:
    enrolment: Enrolment
    duplicate: bool = False  # they already held a live enrolment: nothing new, their summary is sent again
    position: int | None = None  # on the waiting list


def check_public_request(session: TrainingSession, details: PersonDetails, funding_mode: str) -> PersonDetails:
    """What the public form typed, checked and cleaned; a ServiceError (French, on its field) otherwise. Run
    when the request is made (services/registration_requests.ask: the person sees a mistake at once) and again
    when it is confirmed (register_public)."""
    if closed_to_registration(session):
        raise ServiceError(_("Les inscriptions à cette session sont closes."))
    for field, message in _funding_mistakes(details, funding_mode):
        raise ServiceError(message, field)
    return details.cleaned()


def public_request_mistakes(details: PersonDetails, funding_mode: str) -> list[tuple[str, str]]:
    """(field, French message) for each rule of check_public_request() that what the public form typed breaks,
    besides the e-mail's, civility's and SIRET's own (the form checks those with its validators): the form shows
    them all on one submit, with its own, rather than the service's first one on a later submit. A SIRET the form
    refuses asks for no structure name (cleaned() refuses it first: one typed by mistake is to be cleared)."""
    typed = details.trimmed()
    try:
        normalise_siret(typed.employer_siret)
    except ServiceError:
        typed.employer_siret = ""
    return _funding_mistakes(details, funding_mode) + typed.mistakes()


def _funding_mistakes(details: PersonDetails, funding_mode: str) -> list[tuple[str, str]]:
    if funding_mode not in FUNDING_MODES:
        return [("funding_mode", _("Choisissez un mode de financement."))]
    if lacks_employer(funding_mode, bool((details.employer_name or "").strip())):
        return [("employer_name", _("Indiquez le nom de votre structure employeuse : c'est elle qui finance la "
                                    "formation (ou choisissez « À titre personnel »)."))]
    return []


def lacks_employer(funding_mode: str, employer_named: bool) -> bool:
    """The rule every way of enrolling follows, and every change of an enrolment's funding or employer: a course
    its employer pays for (EMPLOYER_FUNDED) names that employer. The public form (_funding_mistakes, in its own
    words, on the employer's field), the office's form (enrolments' EnrolForm) and a list imported
    (enrolment_import.check): check_funding_employer; an enrolment's page (enrolments.set_funding_mode and
    set_employer, in words about the enrolment)."""
    return funding_mode in EMPLOYER_FUNDED and not employer_named


def check_funding_employer(funding_mode: str, employer_named: bool, *, known: Trainee | None = None) -> None:
    """lacks_employer() as the office's form and the import refuse it: a ServiceError on the funding's field, in
    words fitting who is enrolled: a new person, given no employer (None), or `known`, a trainee whose record names
    none (their enrolment names their record's employer: the office names it there)."""
    if not lacks_employer(funding_mode, employer_named):
        return
    if known is None:
        message = _("Ce financement passe par l'employeur, mais aucune structure employeuse n'est indiquée pour "
                    "cette personne : indiquez la sienne, ou choisissez un autre financement (« À titre personnel » "
                    "ou « Autre »).")
    else:
        message = _("Ce financement passe par l'employeur, mais la fiche de %(name)s ne nomme aucune structure "
                    "employeuse : indiquez-la d'abord sur sa fiche, ou choisissez un autre financement (« À titre "
                    "personnel » ou « Autre »).", name=known.full_name)
    raise ServiceError(message, "funding_mode")


def register_public(session: TrainingSession, details: PersonDetails, funding_mode: str, *,
                    programme_id: int | None = None) -> Registration:
    """A person confirmed the request they made on the public page (services/registration_requests.confirm,
    through the link e-mailed to the address typed): enrolled (confirmed, waitlisted, or requested before the
    session opens); they get their state and personal link by e-mail, the office is told.

    A known address keeps its record as it is (anonymous input never changes a person's or an employer's
    record): the enrolment names the employer typed when that employer funds the course, and the office's
    e-mail and the enrolment's history show what was typed that the records do not hold. An address already
    enrolled records nothing new (`duplicate`): its state is e-mailed again. `programme_id`: the programme the
    request was made for, checked again under the session's lock (enrolments.enrol)."""
    details = check_public_request(session, details, funding_mode)
    trainee, created = find_or_create_trainee(details, complete_employer=False)
    existing = None if created else enrolments.live_enrolment(session, trainee)
    if existing is not None:
        return _asked_again(existing)
    # A new trainee's record names the employer typed; a known one's enrolment names the one funding the course.
    employer = None if created else employer_for_course(trainee, details.employer_name, details.employer_siret,
                                                        funding_mode, complete=False)
    typed = _typed_unrecorded(details, trainee, employer or trainee.employer)
    try:
        # The session's state and programme are read again under its lock (it may have opened meanwhile, or
        # moved to another programme: see registration_requests.ask): enrol(public=True).
        enrolment = enrolments.enrol(session, trainee, funding_mode=funding_mode, public=True, employer=employer,
                                     audit_details={"typed": typed} if typed else None, new_trainee=created,
                                     programme_id=programme_id)
    except enrolments.AlreadyEnrolled:  # by a simultaneous request, after the look-up above
        return _asked_again(enrolments.live_enrolment(session, trainee))
    registration = Registration(enrolment, position=enrolment.position_when_enrolled)
    enrolments.notify_state(enrolment, position=registration.position)
    _notify_office(registration, details, typed)
    return registration


def _asked_again(existing: Enrolment) -> Registration:
    """A request for an enrolment that exists: nothing new; its state is e-mailed again to its address."""
    position = enrolments.waitlist_position(existing)
    enrolments.notify_state(existing, position=position, asked_again=True)
    return Registration(existing, duplicate=True, position=position)


def _typed_unrecorded(details: PersonDetails, trainee: Trainee, employer: Employer | None) -> dict:
    """What the public form typed that the records do not hold: a job title or an employer other than the
    trainee's record names (a field left blank says nothing), a SIRET the employer named for the course has not
    (its record is left as it is)."""
    typed = {}
    if details.job_title and details.job_title != (trainee.job_title or ""):
        typed["job_title"] = details.job_title
    if details.employer_name and other_employer(details.employer_name, details.employer_siret, trainee.employer):
        typed["employer_name"] = details.employer_name
    if details.employer_siret and details.employer_siret != (employer.siret if employer else ""):
        typed["employer_siret"] = details.employer_siret
    return typed


def other_employer(name: str, siret: str, recorded: Employer | None) -> bool:
    """Whether an employer named (`name`, `siret`) is another than `recorded`."""
    if recorded is None or name.lower() != recorded.name.lower():
        return True
    return bool(siret and recorded.siret and siret != recorded.siret)


def _notify_office(registration: Registration, details: PersonDetails, typed: dict) -> None:
    """The office's e-mail shows what was typed, flagged where the records say otherwise (`typed`)."""
    enrolment, position = registration.enrolment, registration.position
    trainee, session = enrolment.trainee, enrolment.session
    state = label(enrolment.status) + (f" (position {position})" if position else "")

    def flagged(field: str, value: str, recorded: str | None) -> str:  # a blank field: what the record says
        return (value or recorded or "—") + (" " + _("(différent de la fiche : %(recorded)s)",
                                                     recorded=recorded or "—") if field in typed else "")

    lines = [
        _("Nouvelle demande d'inscription depuis le site :"),
        "",
        f"{_('Formation')} : {session.title}",
        f"{_('Session')} : {datetime_fr(session.start_at)} → {datetime_fr(session.end_at)}",
        f"{_('Stagiaire')} : {trainee.formal_name} <{trainee.email}>",
        f"{_('Fonction')} : {flagged('job_title', details.job_title, trainee.job_title)}",
        f"{_('Structure employeuse')} : "
        f"{flagged('employer_name', details.employer_name, employer_label(trainee.employer))}",
    ]
    if "employer_siret" in typed:
        lines.append(_("SIRET indiqué : %(siret)s (pas sur la fiche de la structure : à vérifier)",
                       siret=typed["employer_siret"]))
    lines += [
        f"{_('Financement')} : {funding_label(enrolment.funding_mode)}",
        f"{_('État')} : {state}",
        f"{_('Places restantes')} : {0 if position else enrolments.seats_left(session)}",
    ]
    conflict = enrolments.double_booking(session, trainee) if enrolment.status == enrolments.REQUESTED else None
    if conflict:  # enrol(public=True) gave no seat: the office decides (the person was told nothing of it)
        lines.append(_("À vérifier avant de confirmer : %(conflict)s", conflict=conflict))
    lines += [
        "",
        public_url("enrolments.enrolment_detail", enrolment_id=enrolment.id),
    ]
    mail.queue(current_app.config["MAIL_OFFICE"], _("Inscription : %(name)s — %(title)s",
                                                    name=trainee.full_name, title=session.title),
               "\n".join(lines) + "\n", tag=f"office:enrolment:{enrolment.id}")
