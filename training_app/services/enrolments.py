"""Enrolments: the only place where an enrolment's status changes.

States (domain.md): requested -> confirmed, or waitlisted when the session is full;
confirmed -> cancelled (by the trainee or the office) or withdrawn (dropped out, with
a date and a reason); waitlisted -> confirmed when a place frees up. Every change goes
through `_set_status`, which writes the audit entry (who, when, from, to, why).

Capacity is checked and the row inserted under a lock on the session row
(SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers anyway), so a
session never has more confirmed enrolments than seats, even with several server
processes. When a place frees up before the start (cancellation, capacity raised),
the first waitlisted enrolment is promoted in the same transaction and told by e-mail
once the transaction commits. The waiting list is first come, first served by the moment
each one joined it (Enrolment.waitlisted_at, see _join_waitlist), not by request time: a
request the office confirms late, or a pre-registration waitlisted at the opening, goes
behind those already waiting, so that a position once told never gets worse. A
withdrawal (from the first day on) frees no seat, and once the session has started nobody
is promoted automatically: the office confirms a waitlisted trainee itself if they can
still join.
When the whole session is cancelled (services/sessions.cancel_session), every live
enrolment is cancelled with the session's reason and nobody is promoted.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, or_
from sqlalchemy import update as sa_update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import aliased, joinedload

from training_app.clock import local_now, utcnow
from training_app.extensions import db
from training_app.formatting import datetime_fr, label, time_fr
from training_app.models import (AgreementStatus, AgreementTrainee, AttendanceRecord, AttendanceSheet, AuditEntry,
                                 Employer, Enrolment, EnrolmentStatus, FundingAgreement, IssuedCertificate,
                                 Organisation, Programme, SessionStatus, SheetStatus, Signature, Slot, Trainee,
                                 TrainingSession, User)
from training_app.models.enrolments import LIVE_STATUSES
from training_app.models.programmes import ProgrammeKind
from training_app.services import ServiceError, audit, flush_or_refuse, mail
from training_app.urls import public_url

CONFIRMED, WAITLISTED, REQUESTED = EnrolmentStatus.CONFIRMED, EnrolmentStatus.WAITLISTED, EnrolmentStatus.REQUESTED
CANCELLED, WITHDRAWN = EnrolmentStatus.CANCELLED, EnrolmentStatus.WITHDRAWN
# Statuses that count towards the cycle's special price: the trainee takes, took or asked for that course. The
# price is fixed when the enrolment is made and not computed again when a request or a waiting-list place gets
# its seat (confirm, promotion, the opening): someone who pre-registers for three courses of a cycle is owed the
# special price on the third, so requests and waiting lists count.
CYCLE_COUNTED_STATUSES = (REQUESTED, CONFIRMED, WAITLISTED, WITHDRAWN)
PUBLIC_LABEL = "inscription publique"  # who the audit names for a request made on the public page
# What an enrolment's history says of each action (its page, the personal-data export: action_label).
ACTION_LABELS = {
    "enrolled": _l("Inscription"), "requested": _l("Demande enregistrée"), "confirmed": _l("Confirmation"),
    "waitlisted": _l("Mise en liste d'attente"), "promoted": _l("Sortie de la liste d'attente"),
    "cancelled": _l("Annulation"), "session_cancelled": _l("Annulation de la session"), "withdrawn": _l("Abandon"),
    "withdrawal_cancelled": _l("Abandon annulé"), "moved_out": _l("Déplacement (départ)"),
    "moved_in": _l("Déplacement (arrivée)"), "employer_changed": _l("Structure employeuse corrigée"),
    "funding_mode_changed": _l("Financement indiqué"), "full": _l("Session complète"),
    "reopened": _l("Place disponible"),
    "passed_over": _l("Place libérée non donnée (déjà inscrit·e aux mêmes heures)"),
}
# Who cancelled (the details of a cancellation's audit entry).
CANCELLED_BY_LABELS = {"trainee": _l("la personne elle-même"), "office": _l("l'organisme de formation")}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


# --- locks and counts -------------------------------------------------------------------------------

def lock_session(session_id: int, *, shared: bool = False) -> TrainingSession:
    """Load the session row and lock it until the end of the transaction (`shared`: FOR SHARE, for a work that
    only needs the session to stay as read, e.g. its status, while others do the same). Its programme comes in
    the same statement, not locked, as of that statement's start (a programme edited while this waited for the lock is
    read as it was: programmes.save_programme keeps what a started session was taught in the session's own row).
    Reading the session's row again unloads its programme, which the identity map holds only while something
    refers to it: the work under the lock would otherwise read it a second time."""
    session = db.session.scalar(
        db.select(TrainingSession).where(TrainingSession.id == session_id)
        .options(joinedload(TrainingSession.programme))
        .with_for_update(of=TrainingSession, read=shared).execution_options(populate_existing=True))
    if session is None:
        raise ServiceError(_("Cette session n'existe pas."))
    return session


def programme_archived(programme_id: int) -> bool:
    """Whether the programme is archived, read again under a key-share lock on its row, taken after the session's
    (the lock order: session, then programme, see surveys.lock_programme). An archiving under way
    (programmes.set_archived holds the row FOR UPDATE) is waited for, then seen; one that comes after waits for
    this transaction. The ORM object is not reloaded: a programme's row is checked against its edit version."""
    return bool(db.session.scalar(db.select(Programme.archived).where(Programme.id == programme_id)
                                  .with_for_update(read=True, key_share=True)))


def lock_trainee(trainee: Trainee, refusal: str = "") -> Trainee:
    """Reload the trainee's row and hold it (FOR SHARE) until the end of the transaction, so that an erasure
    (services/personal_data, which locks it FOR UPDATE) cannot happen in between; refuse one who is gone or
    whose data was erased meanwhile (a page or a look-up read them before), with `refusal` when the caller
    writes something else than an enrolment.

    Lock order: the session's row (lock_session), then the trainee's. A transaction that updates a trainee's
    row must not then lock a session: with this shared lock the two would deadlock (no code path does)."""
    if trainee.id is None:  # created in this transaction, not written yet
        db.session.flush()
    try:
        # Only what an erasure or an edit changes is read again: the rest (the employer the office's
        # notification names) stays loaded, so the registration sends no more statements than this one.
        db.session.refresh(trainee, ["email", "phone", "erased_at", "link_version"], with_for_update={"read": True})
    except InvalidRequestError:  # its row is gone
        trainee = None
    if trainee is None or trainee.erased_at is not None:
        raise ServiceError(refusal or _("Les données de cette personne viennent d'être effacées : l'inscription "
                                        "n'a pas été enregistrée. Rechargez la page et recommencez."))
    return trainee


def _lock_enrolment(enrolment: Enrolment) -> tuple[TrainingSession, Enrolment]:
    """Lock the enrolment's session, then reload the enrolment: its status is now stable."""
    session = lock_session(enrolment.session_id)
    fresh = db.session.scalar(db.select(Enrolment).where(Enrolment.id == enrolment.id)
                              .execution_options(populate_existing=True))
    return session, fresh


@dataclass
class Places:
    """A session's enrolments, counted in one statement."""
    capacity: int
    taken: int  # confirmed, plus those who dropped out once the course had started (their seat was used)
    waiting: int  # on the waiting list
    last_joined: datetime | None = None  # when the last one still waiting joined the list
    trainee_live: int = 0  # live enrolments of the trainee asked about (0 or 1)
    trainee_withdrawn: int = 0  # withdrawals of the trainee asked about (who dropped out of this session)

    @property
    def left(self) -> int:
        return max(0, self.capacity - self.taken)


def withdrawn_refusal(trainee: Trainee) -> str:
    """Why a trainee who withdrew from a session is not enrolled in it again (enrol() and the import's preview)."""
    return _("%(name)s a abandonné cette session : on ne peut pas l'y inscrire de nouveau. Si l'abandon a été "
             "enregistré par erreur, annulez-le depuis la liste des inscriptions.", name=trainee.full_name)


def programme_changed_refusal() -> str:
    """Why a public request made for the session's former programme is not confirmed (enrol(public=True) under
    the session's lock, registration_requests.closed_since before it): the person asked for that course."""
    return _("Cette session propose désormais une autre formation que celle que vous avez demandée : votre demande "
             "ne peut plus être confirmée.")


def count_places(session: TrainingSession, trainee: Trainee | None = None) -> Places:
    """Seats taken and waiting list of `session`, and whether `trainee` already holds a live enrolment there or
    dropped out of it (a withdrawal)."""
    counted = func.count(Enrolment.id)
    columns = [
        counted.filter(or_(Enrolment.status == CONFIRMED,  # a withdrawal holding its seat: _withdrawal_holds_seat
                           (Enrolment.status == WITHDRAWN) & (Enrolment.withdrawn_on >= session.start_at.date()))),
        counted.filter(Enrolment.status == WAITLISTED),
        func.max(Enrolment.waitlisted_at).filter(Enrolment.status == WAITLISTED),
    ]
    if trainee is not None:
        columns.append(counted.filter((Enrolment.trainee_id == trainee.id) & Enrolment.status.in_(LIVE_STATUSES)))
        columns.append(counted.filter((Enrolment.trainee_id == trainee.id) & (Enrolment.status == WITHDRAWN)))
    row = db.session.execute(db.select(*columns).where(Enrolment.session_id == session.id)).one()
    return Places(session.capacity, *row)


def places_of(sessions) -> dict[int, Places]:
    """count_places() of every session of a list's page, in one statement whatever their number (none for an
    empty page): {session id: Places}."""
    by_id = {session.id: session for session in sessions}
    places = {id_: Places(session.capacity, 0, 0) for id_, session in by_id.items()}
    if not by_id:
        return places
    rows = db.session.execute(
        db.select(Enrolment.session_id, Enrolment.status, Enrolment.withdrawn_on, func.count(Enrolment.id))
        .where(Enrolment.session_id.in_(by_id), Enrolment.status.in_((CONFIRMED, WAITLISTED, WITHDRAWN)))
        .group_by(Enrolment.session_id, Enrolment.status, Enrolment.withdrawn_on))
    for session_id, status, withdrawn_on, count in rows:
        counted = places[session_id]
        if status == WAITLISTED:
            counted.waiting += count
        elif status == CONFIRMED or _withdrawal_holds_seat(withdrawn_on, by_id[session_id]):
            counted.taken += count
    return places


def _withdrawal_holds_seat(withdrawn_on: date | None, session: TrainingSession) -> bool:
    """The rule count_places says in SQL: a drop-out dated from the session's first day on keeps its seat (before,
    it was recorded before that rule)."""
    return withdrawn_on is not None and withdrawn_on >= session.start_at.date()


def keeps_seat(enrolment: Enrolment) -> bool:
    """Whether a withdrawal holds its seat, as count_places and places_of count it."""
    return enrolment.status == WITHDRAWN and _withdrawal_holds_seat(enrolment.withdrawn_on, enrolment.session)


def seats_taken(session: TrainingSession) -> int:
    return count_places(session).taken


def seats_left(session: TrainingSession) -> int:
    return count_places(session).left


# The waiting list's order: when each one joined it, then id (only enrolments that joined it in the same
# operation can share a moment: see _join_waitlist).
WAITLIST_ORDER = (Enrolment.waitlisted_at, Enrolment.id)


def waitlist_key(enrolment: Enrolment) -> tuple:
    """WAITLIST_ORDER, for enrolments already loaded."""
    return enrolment.waitlisted_at, enrolment.id


def waitlist(session: TrainingSession) -> list[Enrolment]:
    """The waiting list in promotion order (WAITLIST_ORDER)."""
    return list(db.session.scalars(
        db.select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.status == WAITLISTED)
        .order_by(*WAITLIST_ORDER)))


def waitlist_position(enrolment: Enrolment) -> int | None:
    """1 for the next person to be promoted; None when not on the waiting list."""
    if enrolment.status != WAITLISTED:
        return None
    ahead = db.session.scalar(
        db.select(func.count(Enrolment.id)).where(
            Enrolment.session_id == enrolment.session_id, Enrolment.status == WAITLISTED,
            or_(Enrolment.waitlisted_at < enrolment.waitlisted_at,
                (Enrolment.waitlisted_at == enrolment.waitlisted_at) & (Enrolment.id < enrolment.id))))
    return (ahead or 0) + 1


def trainee_state(enrolment: Enrolment, attended_minutes) -> str:
    """The state a trainee's own page shows for their enrolment (a key of formatting.LABELS): the stored one
    until the session is over (sessions.is_over), never "confirmed" after. Then a confirmed trainee reads that
    they followed the course when hours attended were recorded ("course_followed"), or that it is over
    ("completed") when none were; a request or a waiting list place never given reads "ended_without_seat".
    A cancelled session, a cancelled enrolment and a drop-out keep their state. `attended_minutes()` gives the
    enrolment's minutes attended, asked only for a confirmed enrolment of a session over."""
    from training_app.services.sessions import is_over  # services/sessions imports this module

    session = enrolment.session
    if session.status == SessionStatus.CANCELLED or not is_over(session):
        return enrolment.status
    if enrolment.status == CONFIRMED:
        return "course_followed" if attended_minutes() > 0 else "completed"
    if enrolment.status in (REQUESTED, WAITLISTED):
        return "ended_without_seat"
    return enrolment.status


def live_enrolment(session: TrainingSession, trainee: Trainee) -> Enrolment | None:
    return db.session.scalar(
        db.select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.trainee_id == trainee.id,
                                   Enrolment.status.in_(LIVE_STATUSES)))


# --- pricing ----------------------------------------------------------------------------------------

def price_for(session: TrainingSession, trainee: Trainee) -> int | None:
    """The price this trainee pays for this session, in cents (None: on request).

    Internal programmes are free. A trainee who already takes two other programmes of
    the same cycle gets the cycle's special price for the third one (and any further): paid (external) programmes
    of the cycle the trainee is enrolled in (CYCLE_COUNTED_STATUSES), not free internal ones.
    """
    programme = session.programme
    if programme.is_internal:
        return 0
    price = session.price_cents
    cycle = programme.cycle
    if cycle is None or cycle.special_price_cents is None or trainee.id is None:
        return price
    others = db.session.scalar(
        db.select(func.count(func.distinct(TrainingSession.programme_id)))
        .select_from(Enrolment).join(Enrolment.session).join(TrainingSession.programme)
        .where(Enrolment.trainee_id == trainee.id, Enrolment.status.in_(CYCLE_COUNTED_STATUSES),
               Programme.cycle_id == cycle.id, Programme.id != programme.id,
               Programme.kind == ProgrammeKind.EXTERNAL)) or 0
    if others >= 2 and (price is None or cycle.special_price_cents < price):
        return cycle.special_price_cents
    return price


# --- the one door for status changes ------------------------------------------------------------------

def _set_status(enrolment: Enrolment, status: str, action: str, *, reason: str = "", actor: User | None = None,
                actor_label: str = "", details: dict | None = None) -> None:
    previous = enrolment.status
    enrolment.status = status
    if status == CONFIRMED:
        enrolment.confirmed_at = utcnow()
    elif status == CANCELLED:
        enrolment.cancelled_at = utcnow()
    if reason:
        enrolment.status_reason = reason
    audit.record(enrolment, action, actor=actor, actor_label=actor_label, from_state=previous, to_state=status,
                 reason=reason, details=details)


def _join_waitlist(enrolment: Enrolment, places: Places, action: str, *, now: datetime | None = None,
                   **audit_fields) -> None:
    """Put `enrolment` at the end of its session's waiting list; the caller holds the session's lock and has
    counted `places` under it (kept up to date here, for a caller that waitlists several in a row).

    It joins now, or just after the last one waiting when the clock says otherwise (frozen in tests and the
    demo, set back on the server): nobody already waiting is passed, so a position once told never gets worse.
    """
    now = now or utcnow()
    last = places.last_joined
    enrolment.waitlisted_at = now if last is None or now > last else last + timedelta(microseconds=1)
    places.last_joined = enrolment.waitlisted_at
    places.waiting += 1
    _set_status(enrolment, WAITLISTED, action, **audit_fields)


def check_open_for_enrolment(session: TrainingSession, *, lock: bool = True) -> None:
    """Whether a seat may be given in `session` (enrol, confirm, move into it); the caller holds its lock.
    With lock=False, the same rule read without holding anything: what a preview says now (an import's,
    services/enrolment_import.check), which the enrolment checks again under the locks."""
    if session.status == SessionStatus.CANCELLED:
        raise ServiceError(_("Cette session est annulée : on ne peut plus s'y inscrire."))
    # Marked completed by the office, or past its end (as sessions.is_over). One marked running by hand before its
    # start takes trainees as one the calendar made running does, until its last sheet is closed. One recorded
    # afterwards from its paper sheets takes the trainees the office enrols from them, over or not (not the
    # public's: enrol(public=True)), until its last sheet is closed.
    if not session.recorded_afterwards and (session.status == SessionStatus.COMPLETED
                                            or session.end_at <= local_now()):
        raise ServiceError(_("Cette session est terminée : on ne peut plus s'y inscrire."))
    if session.start_at <= local_now():  # a sheet closes once its half-day has begun (attendance.closing_opens)
        _check_last_sheet_open(session, lock=lock)


def _check_last_sheet_open(session: TrainingSession, *, lock: bool) -> None:
    """Once the last half-day's sheet is closed, a new trainee would show "missing" on a sheet nobody can sign any
    more, with planned hours never accounted for: refused. With `lock`, the last half-day's row is held (FOR
    SHARE) until the end of the transaction: a trainer closing that sheet (attendance locks the row FOR UPDATE)
    waits for this enrolment and then finds the trainee to mark, or this enrolment waits for the closing and is
    refused."""
    query = (db.select(Slot).where(Slot.session_id == session.id)
             .order_by(Slot.date.desc(), Slot.start_time.desc()).limit(1))
    last = db.session.scalar(query.with_for_update(read=True) if lock else query)
    if last is None:
        return
    status = db.session.scalar(db.select(AttendanceSheet.status).where(AttendanceSheet.slot_id == last.id))
    if status == SheetStatus.CLOSED:
        raise ServiceError(_("La feuille d'émargement de la dernière demi-journée (%(day)s) est close : on ne peut "
                             "plus s'inscrire à cette session.", day=last.date.strftime("%d/%m/%Y")))


def attendance_begun(enrolment: Enrolment) -> bool:
    """Whether attendance has really begun for `enrolment`: a signature of it (not voided), or an attendance
    record of some minutes attended (present, late, left early). Its hours are then evidence: the enrolment is no
    longer cancelled nor moved, the office records a withdrawal (see _check_not_started, withdraw). Neither the
    signing window opening (a few minutes before the start) nor an absence recorded is a beginning: a trainee
    who warned they would not come is still cancelled at 13:50 (their seat goes to the waiting list), and the
    absence recorded stays on the sheet, the enrolment expected nowhere (attendance.EXPECTED_STATUSES)."""
    return enrolment.id in begun_among(Enrolment.id == enrolment.id)


def attendance_begun_of_trainee(trainee_id: int) -> set[int]:
    """The ids of the trainee's enrolments for which attendance has begun (attendance_begun), in one statement:
    the trainee's personal page asks it of every enrolment it shows."""
    return begun_among(Enrolment.trainee_id == trainee_id)


def begun_among(which) -> set[int]:
    """The ids of the enrolments matching `which` with a signature not voided or some minutes attended."""
    attended = (db.select(AttendanceRecord.enrolment_id).join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
                .where(which, AttendanceRecord.minutes_attended > 0))
    signed = (db.select(Signature.enrolment_id).join(Enrolment, Enrolment.id == Signature.enrolment_id)
              .where(which, Signature.voided_at.is_(None)))
    return set(db.session.scalars(db.union(attended, signed)))


def leaves_by_withdrawal(enrolment: Enrolment) -> bool:
    """Whether a confirmed trainee leaves the session by a withdrawal now, no longer by a cancellation or a move:
    once the session has started or attendance has begun for them (attendance_begun)."""
    return enrolment.status == CONFIRMED and (enrolment.session.start_at <= local_now()
                                              or attendance_begun(enrolment))


def _check_not_started(session: TrainingSession, enrolment: Enrolment, *, by_trainee: bool = False) -> None:
    """A confirmed trainee leaves a started session only through a withdrawal (its seat was used), which the
    office records: a trainee is told to let the office know. So does one for whom attendance has begun
    (attendance_begun: signed, or marked present, late or leaving early, before the start), whatever their
    enrolment's state: their hours stay attested on the sheet, and an enrolment cancelled or moved would stay
    there, neither expected nor able to sign."""
    if enrolment.status == CONFIRMED and session.start_at <= local_now():
        if by_trainee:
            raise ServiceError(_("La formation a commencé : votre inscription ne peut plus être annulée ici. "
                                 "Prévenez l'équipe de formation."))
        raise ServiceError(_("La session a commencé : enregistrez plutôt un abandon, avec sa date et son motif."))
    if attendance_begun(enrolment):
        if by_trainee:
            raise ServiceError(_("Votre présence à la formation est déjà enregistrée : votre inscription ne peut "
                                 "plus être annulée ici. Prévenez l'équipe de formation."))
        raise ServiceError(_("%(name)s a déjà signé ou été relevé·e présent·e : son inscription ne peut plus être "
                             "annulée ni déplacée, car ses heures doivent rester attestées. Enregistrez plutôt un "
                             "abandon, avec sa date et son motif.", name=enrolment.trainee.full_name))


class AlreadyEnrolled(ServiceError):
    """enrol() found, under the session's lock, a live enrolment of the trainee in the session."""


def _refuse_trainee_there(places: Places, trainee: Trainee) -> None:
    """enrol()'s refusal of a trainee who already holds a live enrolment in the session, or withdrew from it."""
    if places.trainee_live:
        raise AlreadyEnrolled(_("%(name)s est déjà inscrit·e à cette session.", name=trainee.full_name))
    if places.trainee_withdrawn:
        raise ServiceError(withdrawn_refusal(trainee))


def check_enrolment_possible(session: TrainingSession, trainee: Trainee | None = None) -> None:
    """What enrol() refuses before counting seats (the session's state, a `trainee` already there or who
    withdrew), read without holding anything (check_open_for_enrolment(lock=False)): a form shows it with its
    other mistakes on one submit (the office's EnrolForm); enrol() checks it again under the locks."""
    check_open_for_enrolment(session, lock=False)
    if trainee is not None:
        _refuse_trainee_there(count_places(session, trainee), trainee)


def double_booking(session: TrainingSession, trainee: Trainee) -> str | None:
    """Why `trainee` cannot hold a seat in `session`, or None: a half-day of it overlaps a half-day of another
    session (not cancelled) where they hold a confirmed place: they would be on two attendance sheets for the same
    hours, funded twice (as a trainer is not put in two sessions at once, sessions._check_trainers_free). The first
    such half-day is named. A waiting list place or a request elsewhere is no obstacle: it holds no seat (the check
    is made again when it gets one)."""
    return double_bookings(session, [trainee.id]).get(trainee.id)


def double_bookings(session: TrainingSession, trainee_ids: list[int]) -> dict[int, str]:
    """double_booking for several trainees (the waiting list a freed seat goes through) in one statement: the
    refusal of each trainee who has one, by trainee id."""
    if not trainee_ids:
        return {}
    own, other = aliased(Slot), aliased(Slot)
    rows = db.session.execute(
        db.select(Trainee, func.coalesce(TrainingSession.taught_title, Programme.title),
                  TrainingSession.start_at, other.date, other.start_time, other.end_time)
        .select_from(own)
        .join(other, (other.date == own.date) & (other.session_id != own.session_id)
              & (other.start_time < own.end_time) & (own.start_time < other.end_time))
        .join(TrainingSession, TrainingSession.id == other.session_id)
        .join(Programme, Programme.id == TrainingSession.programme_id)
        .join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .join(Trainee, Trainee.id == Enrolment.trainee_id)
        .where(own.session_id == session.id, Enrolment.trainee_id.in_(set(trainee_ids)),
               Enrolment.status == CONFIRMED, TrainingSession.status != SessionStatus.CANCELLED)
        .order_by(other.date, other.start_time)).all()
    refusals = {}
    for trainee, title, start, day, start_time, end_time in rows:
        refusals.setdefault(trainee.id, _(
            "%(name)s a déjà une place confirmée à la session « %(title)s » du %(start)s, dont la demi-journée du "
            "%(day)s de %(from)s à %(to)s a lieu aux mêmes heures qu'une demi-journée de celle-ci : on ne peut pas "
            "lui donner une place dans les deux. Annulez ou déplacez d'abord cette autre inscription.",
            name=trainee.full_name, title=title, start=datetime_fr(start), day=day.strftime("%d/%m/%Y"),
            **{"from": time_fr(start_time), "to": time_fr(end_time)}))
    return refusals


def _seat_allowed(session: TrainingSession, trainee: Trainee, *, public: bool) -> bool:
    """enrol()'s check before giving a seat (double_booking): refused in French for the office (its form, the
    import's row, a move); a public request, whose form knows only an e-mail address, is told nothing of the
    other enrolment: it stays a request (False), which the office confirms or not (registrations._notify_office
    says why)."""
    refusal = double_booking(session, trainee)
    if refusal is None:
        return True
    if public:
        return False
    raise ServiceError(refusal)


def _passed_over(session: TrainingSession, passed: list[tuple[Enrolment, str]], *, actor: User | None,
                 actor_label: str) -> None:
    """A seat freed (a promotion, the opening) was not given to these waiting enrolments, each holding a confirmed
    place elsewhere at the same hours (double_booking). They keep their place in the queue, and the office may give
    them the seat once the other enrolment is settled. Each is written in the enrolment's history (« Place libérée
    non donnée ») and the office is told by e-mail (sent after commit), once: a later freed seat passing over the
    same person, nothing having happened to their enrolment since (its history's last entry is that one), is
    neither written nor e-mailed again."""
    told = _told_passed_over([enrolment.id for enrolment, _refusal in passed])
    passed = [(enrolment, refusal) for enrolment, refusal in passed if enrolment.id not in told]
    if not passed:
        return
    for enrolment, refusal in passed:
        audit.record(enrolment, "passed_over", actor=actor, actor_label=actor_label, reason=refusal)
    lines = [_("Une place s'est libérée à la session « %(title)s » du %(start)s, mais elle n'a pas été donnée "
               "automatiquement aux personnes suivantes : chacune a déjà une place confirmée à une autre session aux "
               "mêmes heures. Elles gardent leur rang ; la place est allée à la personne suivante, s'il y en a une.",
               title=session.title, start=datetime_fr(session.start_at)), ""]
    for enrolment, refusal in passed:
        lines += [refusal, public_url("enrolments.enrolment_detail", enrolment_id=enrolment.id), ""]
    lines.append(_("Pour donner une place à l'une de ces personnes, annulez ou déplacez d'abord son autre "
                   "inscription, puis confirmez celle-ci depuis sa page."))
    mail.queue(current_app.config["MAIL_OFFICE"],
               _("Place non donnée (déjà inscrit·e aux mêmes heures) — %(title)s", title=session.title),
               "\n".join(lines) + "\n", tag=f"office:passed_over:{session.id}")


def _told_passed_over(enrolment_ids: list[int]) -> set[int]:
    """The enrolments whose history's last entry says they were passed over (_passed_over): one statement."""
    latest = (db.select(func.max(AuditEntry.id))
              .where(AuditEntry.entity_type == Enrolment.__tablename__, AuditEntry.entity_id.in_(enrolment_ids))
              .group_by(AuditEntry.entity_id))
    return set(db.session.scalars(db.select(AuditEntry.entity_id).where(
        AuditEntry.id.in_(latest), AuditEntry.action == "passed_over"))) if enrolment_ids else set()


def enrol(training_session: TrainingSession, trainee: Trainee, *, actor: User | None = None,
          actor_label: str = "", funding_mode: str = "", confirm: bool = True, notify: bool = False,
          public: bool = False, employer: Employer | None = None, audit_details: dict | None = None,
          new_trainee: bool = False, programme_id: int | None = None) -> Enrolment:
    """Enrol `trainee`: confirmed while seats are left, waitlisted once the session is full.

    With confirm=False the enrolment stays `requested` (e.g. funding not yet agreed) and
    takes no seat until `confirm()`. With public=True (the public page) the session's state
    decides, under its lock: a pre-registration while it is planned (given a seat when it
    opens, see open_registrations), a request the office confirms for an internal course,
    otherwise a seat or the waiting list.

    `employer`: the employer of the course (written, with its id), when not the one the trainee's record names
    (the public form's, for a known person whose course their employer funds). `audit_details` go in the
    enrolment's first history entry. A live enrolment of the trainee in the session: AlreadyEnrolled.
    `new_trainee`: the trainee was created by this transaction, which no other one sees: nothing can erase them
    in between, their row is not locked (one statement less while the session's lock is held).
    `programme_id` (public=True): the programme the person asked for (services/registration_requests), compared
    under the lock with the one the session runs (its locked row's, no statement more): a session moved to
    another programme since is refused (programme_changed_refusal); None (a request older than this check)
    checks nothing.
    """
    price = price_for(training_session, trainee)  # the trainee's other courses: nothing the lock protects
    session = lock_session(training_session.id)
    if not new_trainee:
        trainee = lock_trainee(trainee)
    elif trainee.id is None:
        db.session.flush()
    check_open_for_enrolment(session)
    if public:  # read again under the lock: an opening in between has already given the pre-registrations seats
        if programme_id is not None and session.programme_id != programme_id:
            raise ServiceError(programme_changed_refusal())
        # Neither a session recorded afterwards nor an archived programme is offered on the public page any more
        if (session.status not in (SessionStatus.PLANNED, SessionStatus.OPEN, SessionStatus.FULL)
                or session.recorded_afterwards or programme_archived(session.programme_id)):
            raise ServiceError(_("Les inscriptions à cette session sont closes."))
        actor_label = actor_label or PUBLIC_LABEL
        confirm = session.status != SessionStatus.PLANNED and not session.programme.is_internal
    # One statement under the lock, before the new enrolment exists (it is written once, with its final status).
    places = count_places(session, trainee)
    _refuse_trainee_there(places, trainee)
    if confirm and places.left > 0 and not new_trainee and not _seat_allowed(session, trainee, public=public):
        confirm = False  # a public request: the office decides
    left = places.left if confirm else None
    enrolment = Enrolment(session=session, trainee=trainee, status=REQUESTED, funding_mode=funding_mode,
                          requested_at=utcnow(), price_cents=price,
                          employer_id=trainee.employer_id if employer is None else employer.id)
    db.session.add(enrolment)
    if confirm and left > 0:
        _set_status(enrolment, CONFIRMED, "enrolled", actor=actor, actor_label=actor_label, details=audit_details)
        left -= 1
    elif confirm:  # behind everyone already waiting, from the moment of the request
        _join_waitlist(enrolment, places, "enrolled", now=enrolment.requested_at, actor=actor,
                       actor_label=actor_label, details=audit_details)
        enrolment.position_when_enrolled = places.waiting
    else:
        audit.record(enrolment, "requested", actor=actor, actor_label=actor_label, to_state=REQUESTED,
                     details=audit_details)
    _sync_session_status(session, actor=actor, actor_label=actor_label, left=left)
    # Written now: a trainee deleted by another request in spite of the lock above (a database without row
    # locks) is a French refusal, not an error page.
    flush_or_refuse(_("L'inscription n'a pas été enregistrée : cette personne vient d'être effacée ou inscrite "
                      "par ailleurs. Rechargez la page et recommencez."))
    if notify:
        notify_state(enrolment)
    return enrolment


def confirm(enrolment: Enrolment, *, actor: User | None = None, actor_label: str = "",
            notify: bool = True) -> Enrolment:
    """Give a requested (or waitlisted) enrolment a seat; a requested one joins the waiting list when full."""
    session, enrolment = _lock_enrolment(enrolment)
    if enrolment.status not in (REQUESTED, WAITLISTED):
        raise ServiceError(_("Seule une demande ou une inscription en liste d'attente peut être confirmée "
                             "(état actuel : %(state)s).", state=label(enrolment.status)))
    check_open_for_enrolment(session)
    places = count_places(session)
    if places.left > 0:
        _seat_allowed(session, enrolment.trainee, public=False)
        _set_status(enrolment, CONFIRMED, "confirmed", actor=actor, actor_label=actor_label)
    elif enrolment.status == REQUESTED:  # it joins the waiting list now, behind those already waiting
        _join_waitlist(enrolment, places, "waitlisted", actor=actor, actor_label=actor_label,
                       reason=_("Session complète"))
    else:
        raise ServiceError(_("La session est complète (%(taken)s sur %(capacity)d) : l'inscription reste en liste "
                             "d'attente.", capacity=session.capacity,
                             taken=ngettext("%(num)d place occupée", "%(num)d places occupées", places.taken)))
    _sync_session_status(session, actor=actor, actor_label=actor_label)
    if notify:
        notify_state(enrolment)
    return enrolment


def cancel(enrolment: Enrolment, reason: str, *, actor: User | None = None, actor_label: str = "",
           by_trainee: bool = False) -> list[Enrolment]:
    """Cancel a live enrolment; a freed seat goes to the waiting list. Returns the promoted enrolments.

    Cancelled by the office, the trainee is told why; by the trainee (personal link), the office is told
    and the trainee gets an acknowledgement (e-mails sent after commit)."""
    session, enrolment = _lock_enrolment(enrolment)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Indiquez le motif de l'annulation."), "reason")
    if enrolment.status not in LIVE_STATUSES:
        raise ServiceError(_("Cette inscription est déjà close (%(state)s).", state=label(enrolment.status)))
    _check_not_started(session, enrolment, by_trainee=by_trainee)
    previous = enrolment.status
    _set_status(enrolment, CANCELLED, "cancelled", reason=reason, actor=actor, actor_label=actor_label,
                details={"by": "trainee" if by_trainee else "office"})
    # what follows (a seat given, the session open again) is not the trainee's doing: the audit of other
    # people's enrolments never names them ("système")
    knock_on = {"actor": None, "actor_label": ""} if by_trainee else {"actor": actor, "actor_label": actor_label}
    promoted = _promote(session, **knock_on) if previous == CONFIRMED else []
    _sync_session_status(session, **knock_on)
    if by_trainee:
        notify_cancelled_by_trainee(enrolment, reason, previous_status=previous, promoted=promoted)
    else:
        notify_cancelled_by_office(enrolment, reason, previous_status=previous)
    return promoted


def cancel_for_cancelled_session(training_session: TrainingSession, reason: str, *, actor: User | None = None,
                                 actor_label: str = "") -> list[Enrolment]:
    """The session itself is cancelled (services/sessions.cancel_session, which holds the session lock
    and has set its status): every requested, confirmed and waitlisted enrolment is cancelled with the
    session's reason, one audit entry each, and each trainee is told by e-mail (sent after commit).
    Nobody is promoted: there is no session left to promote into. Returns the cancelled enrolments.
    """
    session = training_session
    if session.status != SessionStatus.CANCELLED:
        raise ServiceError(_("La session doit d'abord être annulée."))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Indiquez le motif de l'annulation."), "reason")
    live = list(db.session.scalars(
        db.select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.status.in_(LIVE_STATUSES))
        .options(joinedload(Enrolment.trainee)).order_by(Enrolment.id)
        .execution_options(populate_existing=True)))
    for enrolment in live:
        previous = enrolment.status
        _set_status(enrolment, CANCELLED, "session_cancelled", reason=reason, actor=actor, actor_label=actor_label,
                    details={"by": "office", "session_cancelled": True})
        notify_session_cancelled(enrolment, reason, previous_status=previous)
    return live


def withdraw(enrolment: Enrolment, on: date | None, reason: str, *, actor: User | None = None,
             actor_label: str = "") -> list[Enrolment]:
    """Record that a confirmed trainee dropped out on `on`, from the session's first day on (before, it is a
    cancellation), once the session has started or attendance has begun for them (attendance_begun). The seat
    was used: it stays taken, nobody is promoted. Returns [] (as cancel() does its promoted enrolments)."""
    session, enrolment = _lock_enrolment(enrolment)
    reason = (reason or "").strip()
    if on is None:
        raise ServiceError(_("Indiquez la date de l'abandon."), "withdrawn_on")
    if not reason:
        raise ServiceError(_("Indiquez le motif de l'abandon."), "reason")
    if enrolment.status != CONFIRMED:
        raise ServiceError(_("Seule une inscription confirmée peut faire l'objet d'un abandon "
                             "(état actuel : %(state)s).", state=label(enrolment.status)))
    refusal = withdrawal_refusal(enrolment)
    if refusal:
        raise ServiceError(refusal)
    if on > local_now().date():
        raise ServiceError(_("La date de l'abandon ne peut pas être dans le futur."), "withdrawn_on")
    if on > session.end_at.date():
        raise ServiceError(_("La date de l'abandon doit précéder la fin de la session (%(end)s).",
                             end=session.end_at.strftime("%d/%m/%Y")), "withdrawn_on")
    # A drop-out happens during the course: its seat was used (count_places counts it, funding bills it).
    # Before the first day, the trainee who will not come is a cancellation, which frees the seat.
    if on < session.start_at.date():
        raise ServiceError(_("Un abandon se date à partir du premier jour de la session (%(day)s) : avant, "
                             "annulez plutôt l'inscription (sa place revient à la liste d'attente).",
                             day=session.start_at.strftime("%d/%m/%Y")), "withdrawn_on")
    if local_now() < session.start_at and not attendance_begun(enrolment):
        # The seat counts as used from the first day on (count_places): a trainee who stops before the
        # start on that day is a cancellation, which gives the seat to the waiting list; not once attendance has
        # begun for them (signed or marked present before the start), when a cancellation is refused.
        raise ServiceError(_("La session n'a pas encore commencé : annulez plutôt l'inscription (sa place "
                             "revient à la liste d'attente)."), "withdrawn_on")
    last_present = last_attended_day(enrolment)
    if last_present is not None and on < last_present:
        raise ServiceError(_("%(name)s a été présent·e le %(day)s : l'abandon ne peut pas être daté d'avant.",
                             name=enrolment.trainee.full_name, day=last_present.strftime("%d/%m/%Y")),
                           "withdrawn_on")
    enrolment.withdrawn_on = on
    _set_status(enrolment, WITHDRAWN, "withdrawn", reason=reason, actor=actor, actor_label=actor_label,
                details={"withdrawn_on": on.isoformat()})
    _sync_session_status(session, actor=actor, actor_label=actor_label)
    return []  # the seat was used: nobody is promoted into it


def withdrawal_refusal(enrolment: Enrolment) -> str | None:
    """Why a withdrawal of this confirmed enrolment is refused whatever its date and reason, or None: a claim sent
    to a funder (not a draft, not rejected) bills it as attending, its line saying no withdrawal. The funder holds
    the dossier as it was sent, which nothing here can change: the office settles it with the funder first (as
    cancel_withdrawal refuses to contradict a claim billing the withdrawal). One query (and the claim's, to word a
    refusal); withdraw() asks it under the session's lock (a sending locks the session first), the enrolment's
    page to offer the action or say why not."""
    claim = _sent_claims(enrolment.session, withdrawn=False).get(enrolment.id)
    if claim is None:
        return None
    values = {"name": enrolment.trainee.full_name, "claim": claim.describe()}
    if claim.freed_by_rejection():
        return _("%(name)s figure sans abandon dans %(claim)s : l'abandon ne peut pas être enregistré, le "
                 "financeur a reçu cette demande telle qu'elle était. Voyez-le d'abord avec le financeur : une fois "
                 "le rejet de cette demande enregistré (sur sa page), l'abandon pourra l'être, et la demande "
                 "refaite.", **values)
    return _("%(name)s figure sans abandon dans %(claim)s : l'abandon ne peut pas être enregistré, le financeur a "
             "reçu cette demande telle qu'elle était. Si l'abandon doit y figurer, voyez-le avec le financeur.",
             **values)


def _seat_for_withdrawal(session: TrainingSession, enrolment: Enrolment, taken: int) -> bool:
    """Whether cancelling this withdrawal finds a seat: one dated from the first day on still holds its own."""
    return taken - (1 if _withdrawal_holds_seat(enrolment.withdrawn_on, session) else 0) < session.capacity


def cancellable_withdrawals(session: TrainingSession, every: list[Enrolment], places: Places) -> set[int]:
    """The ids of the session's withdrawals that cancel_withdrawal would accept now, from all the session's
    enrolments (`every`) and its count_places: not in a cancelled session, the trainee holding no other live
    enrolment in it, a seat found, no claim sent to a funder billing it (one query, only when a withdrawal is left
    to ask about)."""
    if session.status == SessionStatus.CANCELLED:
        return set()
    live = {e.trainee_id for e in every if e.status in LIVE_STATUSES}
    found = {e.id for e in every if e.status == WITHDRAWN and e.trainee_id not in live
             and _seat_for_withdrawal(session, e, places.taken)}
    if not found:
        return found
    return found - _sent_claims(session, withdrawn=True).keys()


def _sent_claims(session: TrainingSession, *, withdrawn: bool) -> dict:
    from training_app.services import funding  # services/funding imports this module
    return funding.sent_claims_by_enrolment(session, withdrawn=withdrawn)


def cancel_withdrawal(enrolment: Enrolment, *, actor: User | None = None,
                      actor_label: str = "") -> list[IssuedCertificate]:
    """A withdrawal recorded by mistake: the enrolment goes back to confirmed, under the session's lock, if a seat
    is free for it (its withdrawal held one when dated from the first day on, see count_places; not one recorded
    before that rule). It keeps when it was confirmed: the sheets closed meanwhile print it as they did.

    - Refused when the trainee has since been given a seat in another session at the same hours (double_booking).
    - Refused once a claim sent to a funder (not a draft, not rejected) bills the enrolment's withdrawal: the
      funder holds the dossier as it was sent, which nothing here can change; the office settles it with the
      funder. (A sending locks the session first: one under way is waited for.)
    - Documents already issued are no reason to refuse, as after any correction of what they state (a sheet
      corrected after issue, the employer of the course): those issued since the withdrawal was recorded state
      the hours attended up to it, and are reported outdated (certificates.OverviewRow) once the sheets of the
      half-days after it are corrected, to be reissued.
    - Returns those documents (the current ones, attestation first), for the office to be told."""
    session, enrolment = _lock_enrolment(enrolment)
    if enrolment.status != WITHDRAWN:
        raise ServiceError(_("Seul un abandon peut être annulé (état actuel : %(state)s).",
                             state=label(enrolment.status)))
    if session.status == SessionStatus.CANCELLED:
        raise ServiceError(_("Cette session est annulée : l'abandon ne peut plus être annulé."))
    claim = _sent_claims(session, withdrawn=True).get(enrolment.id)
    if claim is not None:
        raise ServiceError(_("%(name)s figure dans %(claim)s : l'abandon ne peut plus être annulé, le financeur a "
                             "reçu cette demande telle qu'elle était. Si l'abandon était une erreur, voyez-le avec "
                             "le financeur.", name=enrolment.trainee.full_name, claim=claim.describe()))
    places = count_places(session, enrolment.trainee)
    if places.trainee_live:
        raise ServiceError(_("%(name)s a déjà une autre inscription en cours à cette session.",
                             name=enrolment.trainee.full_name))
    if not _seat_for_withdrawal(session, enrolment, places.taken):
        raise ServiceError(ngettext(
            "La session est complète (%(num)d place) : aucune place n'est libre pour annuler cet abandon.",
            "La session est complète (%(num)d places) : aucune place n'est libre pour annuler cet abandon.",
            session.capacity))
    refusal = double_booking(session, enrolment.trainee)  # a seat taken meanwhile elsewhere at the same hours
    if refusal:
        raise ServiceError(refusal)
    stating_it = _documents_since_withdrawal(enrolment)
    withdrawn_on, confirmed_at = enrolment.withdrawn_on, enrolment.confirmed_at
    _set_status(enrolment, CONFIRMED, "withdrawal_cancelled", actor=actor, actor_label=actor_label,
                details={"withdrawn_on": withdrawn_on.isoformat() if withdrawn_on else None})
    enrolment.confirmed_at = confirmed_at or enrolment.confirmed_at
    enrolment.withdrawn_on = None
    enrolment.status_reason = ""
    _sync_session_status(session, actor=actor, actor_label=actor_label)
    return stating_it


def _documents_since_withdrawal(enrolment: Enrolment) -> list[IssuedCertificate]:
    """The enrolment's current documents issued since its withdrawal was recorded (all of them when its record
    is missing), attestation first: one statement."""
    recorded = (db.select(func.max(AuditEntry.at))
                .where(AuditEntry.entity_type == Enrolment.__tablename__, AuditEntry.entity_id == enrolment.id,
                       AuditEntry.action == "withdrawn").scalar_subquery())
    return list(db.session.scalars(
        db.select(IssuedCertificate).where(IssuedCertificate.enrolment_id == enrolment.id,
                                           IssuedCertificate.replaced_at.is_(None),
                                           or_(recorded.is_(None), IssuedCertificate.issued_at >= recorded))
        .order_by(IssuedCertificate.kind)))


def last_attended_day(enrolment: Enrolment) -> date | None:
    """The last day this trainee signed (a signature not voided) or was recorded attending (some minutes),
    or None."""
    attended = (db.select(Slot.date).join(AttendanceRecord, AttendanceRecord.slot_id == Slot.id)
                .where(AttendanceRecord.enrolment_id == enrolment.id, AttendanceRecord.minutes_attended > 0))
    signed = db.select(Slot.date).join(Signature, Signature.slot_id == Slot.id).where(
        Signature.enrolment_id == enrolment.id, Signature.voided_at.is_(None))
    return db.session.scalar(db.select(func.max(db.union_all(attended, signed).subquery().c.date)))


def move(enrolment: Enrolment, target: TrainingSession, *, reason: str = "", actor: User | None = None,
         actor_label: str = "", notify: bool = True) -> Enrolment:
    """Move a live enrolment to another session of the same programme.

    The old enrolment is cancelled (its seat goes to that session's waiting list) and a
    new one is made in the target session, confirmed or waitlisted by its capacity (an office's request
    stays a request there, taking no seat, as enrol(confirm=False); a pre-registration does not), at the
    price agreed when both sessions have the same list price (see _moved_price).
    """
    if target.id == enrolment.session_id:
        raise ServiceError(_("Choisissez une autre session que la session actuelle."), "target")
    # Lock both sessions, always in the same order, so that two moves cannot deadlock.
    first, second = sorted((enrolment.session_id, target.id))
    lock_session(first)
    lock_session(second)
    source, enrolment = _lock_enrolment(enrolment)
    target = lock_session(target.id)
    if target.programme_id != source.programme_id:
        raise ServiceError(_("On ne peut déplacer une inscription que vers une session de la même formation."),
                           "target")
    if enrolment.status not in LIVE_STATUSES:
        raise ServiceError(_("Cette inscription est close (%(state)s) : elle ne peut pas être déplacée.",
                             state=label(enrolment.status)))
    _check_not_started(source, enrolment)
    check_open_for_enrolment(target)
    if target.start_at <= local_now():
        raise ServiceError(_("La session choisie a déjà commencé."), "target")
    trainee = enrolment.trainee
    # One statement: the target's seats and waiting list, and the trainee's own enrolments there (as enrol()).
    # The new enrolment, a request until its status is set, and the one cancelled in the source change none of it.
    places = count_places(target, trainee)
    if places.trainee_live:
        raise ServiceError(_("%(name)s est déjà inscrit·e à la session choisie.", name=trainee.full_name), "target")
    if places.trainee_withdrawn:
        raise ServiceError(withdrawn_refusal(trainee), "target")
    was_confirmed = enrolment.status == CONFIRMED
    # An office request (« à confirmer plus tard ») stays one; a public pre-registration, promised a seat at the
    # opening, gets a seat or the waiting list in the session the office chose for it.
    was_requested = enrolment.status == REQUESTED and not is_preregistration(enrolment)
    new = Enrolment(session=target, trainee=trainee, status=REQUESTED, funding_mode=enrolment.funding_mode,
                    requested_at=utcnow(), price_cents=_moved_price(enrolment, source, target),
                    employer_id=enrolment.employer_id)
    db.session.add(new)
    db.session.flush()
    moved_reason = reason.strip() or _("Déplacement vers la session du %(start)s", start=datetime_fr(target.start_at))
    _set_status(enrolment, CANCELLED, "moved_out", reason=moved_reason, actor=actor, actor_label=actor_label,
                details={"to_enrolment_id": new.id, "to_session_id": target.id})
    moved_in = {"actor": actor, "actor_label": actor_label, "details": {"from_enrolment_id": enrolment.id,
                                                                       "from_session_id": source.id},
                "reason": _("Venant de la session du %(start)s", start=datetime_fr(source.start_at))}
    if was_requested:  # « à confirmer plus tard » (funding awaited...): still a request there, no seat yet
        audit.record(new, "moved_in", to_state=REQUESTED, **moved_in)
    elif places.left > 0:
        refusal = double_booking(target, trainee)
        if refusal:
            raise ServiceError(refusal, "target")
        _set_status(new, CONFIRMED, "moved_in", **moved_in)
    else:  # behind those already waiting in the target session
        _join_waitlist(new, places, "moved_in", now=new.requested_at, **moved_in)
    if was_confirmed:
        _promote(source, actor=actor, actor_label=actor_label)
    _sync_session_status(source, actor=actor, actor_label=actor_label)
    _sync_session_status(target, actor=actor, actor_label=actor_label)
    if notify:
        notify_state(new, moved_from=source)
    return new


# --- the employer of the course ------------------------------------------------------------------------

def course_employers(enrolments) -> dict[int, Employer | None]:
    """enrolment id -> the employer its trainee follows the course for, as certificates and funding claims name
    it: the employer named by the funding agreement covering the enrolment (requested or granted), else the one
    kept on the enrolment (enrolment.employer), never the trainee's record as it is now. One query, plus the
    enrolments' employers not loaded yet."""
    enrolments = list(enrolments)
    named = dict(db.session.execute(
        db.select(AgreementTrainee.enrolment_id, Employer)
        .join(FundingAgreement, AgreementTrainee.agreement_id == FundingAgreement.id)
        .join(Employer, FundingAgreement.employer_id == Employer.id)
        .where(AgreementTrainee.enrolment_id.in_([e.id for e in enrolments]),
               FundingAgreement.status != AgreementStatus.REFUSED)).all()) if enrolments else {}
    return {e.id: named.get(e.id) or e.employer for e in enrolments}


def course_employer(enrolment: Enrolment) -> Employer | None:
    return course_employers([enrolment])[enrolment.id]


def _agreement_naming_an_employer(enrolment: Enrolment) -> FundingAgreement | None:
    return db.session.scalar(
        db.select(FundingAgreement).join(AgreementTrainee, AgreementTrainee.agreement_id == FundingAgreement.id)
        .where(AgreementTrainee.enrolment_id == enrolment.id, FundingAgreement.status != AgreementStatus.REFUSED,
               FundingAgreement.employer_id.is_not(None)))


def set_employer(enrolment: Enrolment, employer: Employer | None, *, actor: User | None = None) -> bool:
    """The office corrects the employer the trainee follows this course for (None: on their own account).
    Refused when a funding agreement covering the enrolment names another one: the agreement's employer is the
    one on the documents; and None while the employer pays for the course (registrations.lacks_employer): its
    funding is changed first. Returns False when nothing changed."""
    from training_app.services.registrations import funding_label, lacks_employer
    agreement = _agreement_naming_an_employer(enrolment)
    if agreement is not None and (employer is None or agreement.employer_id != employer.id):
        raise ServiceError(_("Cette inscription est couverte par l'accord de financement %(number)s (%(funder)s), "
                             "au nom de la structure %(employer)s : c'est elle qui figure sur les attestations et "
                             "la demande de paiement. Corrigez l'accord si ce n'est pas la bonne.",
                             number=agreement.file_number or _("sans numéro"), funder=agreement.funder.name,
                             employer=agreement.employer.name), "employer_id")
    before = enrolment.employer
    if (before.id if before else None) == (employer.id if employer else None):
        return False
    if lacks_employer(enrolment.funding_mode, employer is not None):
        raise ServiceError(_("Le financement de cette inscription passe par l'employeur (« %(funding)s ») : changez "
                             "d'abord son financement sur la page de l'inscription (« Financement », « corriger » : "
                             "« À titre personnel » ou « Autre »), puis retirez sa structure employeuse.",
                             funding=funding_label(enrolment.funding_mode)), "employer_id")
    enrolment.employer = employer
    names = [e.name if e else _("à titre individuel") for e in (before, employer)]
    audit.record(enrolment, "employer_changed", actor=actor, reason=" → ".join(names), details={
        "from": before.name if before else None, "to": employer.name if employer else None})
    return True


def set_funding_mode(enrolment: Enrolment, funding_mode: str, *, actor: User | None = None) -> bool:
    """The office records (or corrects) how the trainee's course is paid for (registrations.FUNDING_LABELS): a
    list imported without it leaves it unknown, and a funding claim waits for it (funding.preflight). Returns
    False when nothing changed. An employer's funding is refused while the enrolment names no employer
    (registrations.lacks_employer, on course_employer): the office names it first."""
    from training_app.services.registrations import FUNDING_MODES, funding_label, lacks_employer
    if funding_mode not in FUNDING_MODES:
        raise ServiceError(_("Choisissez un mode de financement."), "funding_mode")
    before = enrolment.funding_mode or ""
    if before == funding_mode:
        return False
    if lacks_employer(funding_mode, course_employer(enrolment) is not None):
        raise ServiceError(_("Ce financement passe par l'employeur, mais cette inscription ne nomme aucune structure "
                             "employeuse : indiquez-la d'abord sur la page de l'inscription (« Structure employeuse », "
                             "« corriger pour cette formation »), ou choisissez « À titre personnel » ou « Autre »."),
                           "funding_mode")
    enrolment.funding_mode = funding_mode
    audit.record(enrolment, "funding_mode_changed", actor=actor,
                 reason=" → ".join(funding_label(mode) for mode in (before, funding_mode)),
                 details={"from": before, "to": funding_mode})
    return True


def follow_trainee_employer(trainee: Trainee, previous_employer_id: int | None) -> None:
    """The trainee's record names another employer: their live enrolments in courses not over yet that named the
    previous one follow it. A course over keeps the employer it was followed for, and an enrolment the office
    gave another employer keeps it; so does one its employer pays for when the record names none any more
    (registrations.lacks_employer, said in SQL): the enrolment names who pays until the office changes its
    funding."""
    from training_app.services.registrations import EMPLOYER_FUNDED
    keeps_payer = [] if trainee.employer_id is not None else [Enrolment.funding_mode.not_in(EMPLOYER_FUNDED)]
    db.session.execute(
        sa_update(Enrolment)
        .where(Enrolment.trainee_id == trainee.id, Enrolment.status.in_(LIVE_STATUSES),
               Enrolment.employer_id.is_not_distinct_from(previous_employer_id), *keeps_payer,
               Enrolment.session_id.in_(db.select(TrainingSession.id).where(TrainingSession.end_at > local_now())))
        .values(employer_id=trainee.employer_id).execution_options(synchronize_session="fetch"))


def preregistrations(session: TrainingSession) -> list[Enrolment]:
    """The session's pre-registrations, in request order: the requests made on the public page while the session
    was planned, who were told « Nous vous confirmerons votre place dès l'ouverture des inscriptions ».

    Told apart from the session's other requests by who made them: the public page (the audit's "requested"
    entry, by nobody signed in, labelled PUBLIC_LABEL), on an external course, where a public request made once
    registrations are open takes a seat or the waiting list at once (enrol(public=True)). The office's requests
    (« à confirmer plus tard »: funding awaited, a case to look at) and the requests for an internal course (the
    office checks each member) stay for the office to confirm."""
    if session.programme.is_internal:
        return []
    return list(db.session.scalars(
        db.select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.status == REQUESTED,
                                   _requested_on_the_public_page(Enrolment.id))
        .options(joinedload(Enrolment.trainee)).order_by(Enrolment.requested_at, Enrolment.id)))


def is_preregistration(enrolment: Enrolment) -> bool:
    """Whether `enrolment` is one of its session's preregistrations() (one query)."""
    return (enrolment.status == REQUESTED and not enrolment.session.programme.is_internal
            and db.session.scalar(db.select(_requested_on_the_public_page(enrolment.id))))


def _requested_on_the_public_page(enrolment_id):
    return db.exists().where(
        AuditEntry.entity_type == Enrolment.__tablename__, AuditEntry.entity_id == enrolment_id,
        AuditEntry.action == "requested", AuditEntry.actor_id.is_(None), AuditEntry.actor_label == PUBLIC_LABEL)


def open_registrations(session: TrainingSession, *, actor: User | None = None,
                       actor_label: str = "") -> list[Enrolment]:
    """The session has just opened to registrations (services/sessions.update_session, which holds its lock):
    its pre-registrations get seats in request order, confirmed while seats are left, the others waitlisted,
    each told their new state by e-mail (after commit), as they were promised. Anyone the office had already
    put on the waiting list goes first, whenever the pre-registrations were made: they joined the list (and
    were told their position) before the pre-registrations, which join it now. Nothing once the session has
    started: a seat is then given by the office (see _promote). Returns the pre-registrations given a state."""
    if session.start_at <= local_now() or session.status not in (SessionStatus.OPEN, SessionStatus.FULL):
        return []
    pending = preregistrations(session)
    if not pending:
        return []
    places = count_places(session)
    free = places.left
    reason = _("Ouverture des inscriptions")
    told, passed = [], []
    queue = waitlist(session) + pending
    refusals = double_bookings(session, [enrolment.trainee_id for enrolment in queue]) if free > 0 else {}
    for enrolment in queue:
        refusal = refusals.get(enrolment.trainee_id) if free > 0 else None
        if refusal:  # stays as it is (its rank, or a request for the office), the office is told
            passed.append((enrolment, refusal))
        elif free > 0:
            promoted = enrolment.status == WAITLISTED
            _set_status(enrolment, CONFIRMED, "promoted" if promoted else "confirmed", actor=actor,
                        actor_label=actor_label, reason=_("Une place s'est libérée.") if promoted else reason)
            free -= 1
            told.append((enrolment, promoted))
        elif enrolment.status == REQUESTED:
            _join_waitlist(enrolment, places, "waitlisted", actor=actor, actor_label=actor_label,
                           reason=_("Ouverture des inscriptions : session complète"))
            told.append((enrolment, False))
    db.session.flush()  # the waiting list as it now is: each one's position
    for enrolment, promoted in told:
        notify_state(enrolment, promoted=promoted)
    if passed:
        _passed_over(session, passed, actor=actor, actor_label=actor_label)
    _sync_session_status(session, actor=actor, actor_label=actor_label)
    return [enrolment for enrolment, _promoted in told if enrolment in pending]


def _moved_price(enrolment: Enrolment, source: TrainingSession, target: TrainingSession) -> int | None:
    """The price a moved enrolment keeps: the one agreed (a cycle's special price included) when the target
    session has the same list price as the source; otherwise the target's price for this trainee today."""
    if target.price_cents == source.price_cents:
        return enrolment.price_cents
    return price_for(target, enrolment.trainee)


def promote_waitlist(training_session: TrainingSession, *, actor: User | None = None,
                     actor_label: str = "") -> list[Enrolment]:
    """Give every free seat to the waiting list, first come first served. Returns the promoted enrolments."""
    session = lock_session(training_session.id)
    promoted = _promote(session, actor=actor, actor_label=actor_label)
    _sync_session_status(session, actor=actor, actor_label=actor_label)
    return promoted


def seats_changed(training_session: TrainingSession) -> list[Enrolment]:
    """Called by services/sessions.update_session once the capacity may have changed (lock held)."""
    return promote_waitlist(training_session)


def _promote(session: TrainingSession, *, actor: User | None, actor_label: str) -> list[Enrolment]:
    """Promote waitlisted enrolments while seats are left. The caller holds the session lock.

    Only before the start: once the course has begun, a freed seat stays free (someone confirmed two days
    into the course would be told their convocation comes before it); the office may confirm a waitlisted
    trainee itself (confirm()) when they can still join."""
    if session.status == SessionStatus.CANCELLED or session.start_at <= local_now():
        return []
    free = seats_left(session)
    promoted, passed = [], []
    queue = waitlist(session) if free > 0 else []
    refusals = double_bookings(session, [enrolment.trainee_id for enrolment in queue])
    for enrolment in queue:
        if len(promoted) == free:
            break
        refusal = refusals.get(enrolment.trainee_id)
        if refusal:  # keeps its rank; the seat goes to the next one, the office is told
            passed.append((enrolment, refusal))
            continue
        _set_status(enrolment, CONFIRMED, "promoted", reason=_("Une place s'est libérée."),
                    actor=actor, actor_label=actor_label)
        notify_state(enrolment, promoted=True)
        promoted.append(enrolment)
    if passed:
        _passed_over(session, passed, actor=actor, actor_label=actor_label)
    return promoted


def _sync_session_status(session: TrainingSession, *, actor: User | None = None, actor_label: str = "",
                         left: int | None = None) -> None:
    """An open session becomes full when its last seat is taken, and open again when one frees up.
    `left`: the seats left, when the caller has just counted them under the lock."""
    if session.status not in (SessionStatus.OPEN, SessionStatus.FULL):
        return
    if left is None:
        db.session.flush()
        left = seats_left(session)
    status = SessionStatus.FULL if left == 0 else SessionStatus.OPEN
    if status != session.status:
        previous = session.status
        session.status = status
        audit.record(session, "full" if status == SessionStatus.FULL else "reopened", actor=actor,
                     actor_label=actor_label, from_state=previous, to_state=status)


# --- telling the trainee ------------------------------------------------------------------------------

def what_comes_next(session: TrainingSession) -> str:
    """What a trainee whose seat is confirmed is told comes next: the convocation before the course, or, once the
    course has begun (a seat freed or given during it), that the training team will say how to join."""
    if session.start_at <= local_now():
        return _("La formation a commencé : l'équipe de formation vous dira comment la rejoindre.")
    return _("Votre convocation vous sera envoyée avant la formation.")


def notify_state(enrolment: Enrolment, *, promoted: bool = False, moved_from: TrainingSession | None = None,
                 position: int | None = None, asked_again: bool = False) -> None:
    """E-mail the trainee their state and their personal link (sent after commit). `position`: their place
    on the waiting list, when the caller has it. `asked_again`: the public page received a request for this
    existing enrolment (nothing new was recorded)."""
    from training_app.services.trainee_links import personal_url

    trainee, session = enrolment.trainee, enrolment.session
    title = session.title
    dates = _("du %(start)s au %(end)s", start=datetime_fr(session.start_at), end=datetime_fr(session.end_at))
    if promoted:
        subject = _("Une place s'est libérée : votre inscription est confirmée")
        state = _("Une place s'est libérée : votre inscription à la formation « %(title)s » (%(dates)s) est "
                  "maintenant confirmée. %(next)s", title=title, dates=dates, next=what_comes_next(session))
    elif enrolment.status == CONFIRMED:  # the office may confirm during the course
        subject = _("Votre inscription est confirmée")
        state = _("Votre inscription à la formation « %(title)s » (%(dates)s) est confirmée. %(next)s",
                  title=title, dates=dates, next=what_comes_next(session))
    elif enrolment.status == WAITLISTED:
        subject = _("Vous êtes sur la liste d'attente")
        state = _("La session de la formation « %(title)s » (%(dates)s) est complète : vous êtes inscrit·e sur "
                  "la liste d'attente, en position %(position)d. Nous vous écrirons dès qu'une place se libère.",
                  title=title, dates=dates,
                  position=position or enrolment.position_when_enrolled or waitlist_position(enrolment))
    elif session.status == SessionStatus.PLANNED and is_preregistration(enrolment):
        subject = _("Votre demande d'inscription est enregistrée")
        state = _("Votre demande d'inscription à la formation « %(title)s » (%(dates)s) est enregistrée. Nous "
                  "vous confirmerons votre place dès l'ouverture des inscriptions.", title=title, dates=dates)
    else:  # the office confirms each request (an internal course, for members; funding awaited; ...)
        subject = _("Votre demande d'inscription est enregistrée")
        state = _("Votre demande d'inscription à la formation « %(title)s » (%(dates)s) est enregistrée. "
                  "L'équipe vous confirmera votre place.", title=title, dates=dates)
    if asked_again:
        subject = _("Nouvelle demande reçue : votre inscription existe déjà")
        state = _("Vous avez confirmé une nouvelle demande d'inscription à cette session. Votre inscription "
                  "existait déjà : rien n'a été modifié. Voici où en est votre inscription.") + "\n\n" + state
    if moved_from is not None:
        state = _("Votre inscription a été déplacée depuis la session du %(start)s.",
                  start=datetime_fr(moved_from.start_at)) + "\n\n" + state
    # The public registration's page promises it: the e-mail says how to cancel (from the personal space, until
    # the course starts; then the office records a drop-out).
    cancelling = _("Pour annuler, ouvrez votre espace personnel ci-dessous : « Annuler mon inscription ».") \
        if session.start_at > local_now() else ""
    body = "\n\n".join(part for part in [
        _("Bonjour %(name)s,", name=trainee.full_name),
        state,
        cancelling,
        _("Votre espace personnel (vos inscriptions, vos documents) : %(url)s", url=personal_url(trainee)),
        _("Ce lien est personnel : ne le partagez pas. S'il a expiré, vous pouvez en demander un nouveau "
          "depuis la page qu'il ouvre."),
    ]) + "\n"
    mail.queue(trainee.email, subject, body, tag=f"enrolment:{enrolment.id}:{enrolment.status}")


def notify_session_cancelled(enrolment: Enrolment, reason: str, *, previous_status: str) -> None:
    """E-mail a trainee that the session they were enrolled in is cancelled (sent after commit)."""
    session = enrolment.session
    if previous_status == CONFIRMED:
        what = _("Votre inscription est donc annulée, et la convocation que vous avez pu recevoir n'est plus "
                 "valable.")
    elif previous_status == WAITLISTED:
        what = _("Votre inscription sur la liste d'attente est donc annulée.")
    else:
        what = _("Votre demande d'inscription est donc annulée.")
    _queue_to_trainee(enrolment, _("Session annulée : %(title)s", title=session.title), [
        _("Nous sommes au regret de vous informer que la session de la formation « %(title)s » prévue du "
          "%(start)s au %(end)s est annulée.", title=session.title, start=datetime_fr(session.start_at),
          end=datetime_fr(session.end_at)),
        _("Motif : %(reason)s", reason=reason),
        what,
    ], tag=f"session_cancelled:{enrolment.id}")


def notify_cancelled_by_office(enrolment: Enrolment, reason: str, *, previous_status: str) -> None:
    """E-mail a trainee that the office cancelled their enrolment, and why (sent after commit): they may hold
    a convocation, or be waiting for a seat."""
    session = enrolment.session
    course = {"title": session.title, "start": datetime_fr(session.start_at), "end": datetime_fr(session.end_at)}
    if previous_status == CONFIRMED:
        what = _("Votre inscription à la formation « %(title)s » prévue du %(start)s au %(end)s est annulée : la "
                 "convocation que vous avez pu recevoir n'est plus valable.", **course)
    elif previous_status == WAITLISTED:
        what = _("Votre inscription sur la liste d'attente de la formation « %(title)s » prévue du %(start)s au "
                 "%(end)s est annulée.", **course)
    else:
        what = _("Votre demande d'inscription à la formation « %(title)s » prévue du %(start)s au %(end)s est "
                 "annulée.", **course)
    _queue_to_trainee(enrolment, _("Inscription annulée : %(title)s", title=session.title),
                      [what, _("Motif : %(reason)s", reason=reason)], tag=f"cancelled:{enrolment.id}")


def notify_cancelled_by_trainee(enrolment: Enrolment, reason: str, *, previous_status: str,
                                promoted: list[Enrolment]) -> None:
    """A trainee cancelled from their personal link: the office is told (as of a public request), the trainee
    gets an acknowledgement (sent after commit)."""
    trainee, session = enrolment.trainee, enrolment.session
    dates = _("du %(start)s au %(end)s", start=datetime_fr(session.start_at), end=datetime_fr(session.end_at))
    _queue_to_trainee(enrolment, _("Annulation enregistrée : %(title)s", title=session.title), [
        _("Nous avons bien enregistré l'annulation de votre inscription à la formation « %(title)s » (%(dates)s).",
          title=session.title, dates=dates)
        + (" " + _("La convocation que vous avez pu recevoir n'est plus valable.") if previous_status == CONFIRMED
           else ""),
        _("Merci de nous avoir prévenus."),
    ], tag=f"cancelled:{enrolment.id}")
    lines = [
        _("Un·e stagiaire a annulé son inscription depuis son lien personnel :"),
        "",
        _("Formation : %(title)s", title=session.title),
        _("Session : %(start)s → %(end)s", start=datetime_fr(session.start_at), end=datetime_fr(session.end_at)),
        _("Stagiaire : %(name)s <%(email)s>", name=trainee.formal_name, email=trainee.email),
        _("État avant l'annulation : %(state)s", state=label(previous_status)),
        _("Motif : %(reason)s", reason=reason),
    ]
    if promoted:
        lines.append(_("Place redonnée à : %(names)s (liste d'attente, prévenu·e par e-mail)",
                       names=", ".join(e.trainee.formal_name for e in promoted)))
    lines += ["", public_url("enrolments.enrolment_detail", enrolment_id=enrolment.id)]
    mail.queue(current_app.config["MAIL_OFFICE"], _("Annulation : %(name)s — %(title)s",
                                                    name=trainee.full_name, title=session.title),
               "\n".join(lines) + "\n", tag=f"office:cancelled:{enrolment.id}")


def _queue_to_trainee(enrolment: Enrolment, subject: str, paragraphs: list[str], *, tag: str) -> None:
    """An e-mail to the trainee: greeting, `paragraphs`, the organisation's contact, their personal link."""
    from training_app.services.trainee_links import personal_url

    trainee = enrolment.trainee
    organisation = Organisation.get()
    contact = " — ".join(part for part in (organisation.name, organisation.email, organisation.phone) if part)
    body = "\n\n".join(part for part in [
        _("Bonjour %(name)s,", name=trainee.full_name),
        *paragraphs,
        _("Pour toute question, ou pour vous inscrire à une autre session, contactez-nous : %(contact)s.",
          contact=contact) if contact else "",
        _("Votre espace personnel : %(url)s", url=personal_url(trainee)),
    ] if part) + "\n"
    mail.queue(trainee.email, subject, body, tag=tag)
