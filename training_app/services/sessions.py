"""Sessions and their half-day slots: generation from a timetable and the scheduling rules."""
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, or_
from sqlalchemy.orm import contains_eager, selectinload

from training_app.clock import local_now
from training_app.extensions import db
from training_app.formatting import datetime_fr, hours, utc_datetime_fr
from training_app.models import (AttendanceRecord, AttendanceSheet, Enrolment, IssuedCertificate,
                                 LearningOutcome, Programme, SessionStatus, Signature, Slot, TrainingSession, User, session_trainers)
from training_app.models.enrolments import LIVE_STATUSES
from training_app.services import ServiceError, attendance, audit, registration_requests, surveys
from training_app.services import enrolments as enrolment_service

DEFAULT_TIMETABLE = ((time(9, 30), time(12, 30)), (time(14, 0), time(18, 0)))
NOON = time(12, 0)  # a half-day starting before is a morning (session_timetable)


@dataclass
class SessionData:
    """What an administrator sets on a session (from the form or the CLI)."""
    programme: Programme
    start_at: datetime
    end_at: datetime
    place: str = ""
    access_info: str = ""
    modality: str = "in_person"
    capacity: int | None = None
    price_cents: int | None = None
    status: str = SessionStatus.PLANNED
    contact_person: str = ""
    trainers: tuple[User, ...] = ()
    # How the half-days are generated; None: the session's own (session_timetable, has_weekend_half_days), or
    # for a new session DEFAULT_TIMETABLE and no weekend. Changing them (or the dates) generates them again.
    timetable: tuple[tuple[time, time], ...] | None = None
    include_weekends: bool | None = None


def generate_slots(start_at: datetime, end_at: datetime, timetable=DEFAULT_TIMETABLE,
                   include_weekends: bool = False) -> list[tuple[date, time, time]]:
    """Cut [start_at, end_at] into half-days of the timetable, each clipped to the session.

    Tuesday 11 Dec 2018 14:00 to Friday 14 Dec 2018 12:30 with 9:30-12:30 / 14:00-18:00
    gives 6 half-days: 4 + 7 + 7 + 3 = 21 hours.
    """
    slots = []
    day = start_at.date()
    while day <= end_at.date():
        if include_weekends or day.weekday() < 5:
            for period_start, period_end in timetable:
                begin = max(datetime.combine(day, period_start), start_at)
                end = min(datetime.combine(day, period_end), end_at)
                if end > begin:
                    slots.append((day, begin.time(), end.time()))
        day += timedelta(days=1)
    return slots


def validate_timetable(timetable) -> None:
    previous_end = None
    for start, end in timetable:
        if end <= start:
            raise ServiceError(_("Dans l'emploi du temps, chaque demi-journée doit finir après son début."),
                               "timetable")
        if previous_end and start < previous_end:
            raise ServiceError(_("Les demi-journées de l'emploi du temps se chevauchent."), "timetable")
        previous_end = end
    for start, end in timetable:
        check_half_day_length(start, end, "timetable")


def session_timetable(session: TrainingSession) -> tuple[tuple[time, time], tuple[time, time]]:
    """The session's own timetable: its most frequent morning and afternoon half-days (the default's where it has
    none), what its edit form shows and what moving its dates generates again. The first half-day starts and the
    last one ends at the session's own times, not the timetable's (10:00 to 16:00 the next day with 9:30-12:30 /
    14:00-18:00 gives 10:00-12:30 and 14:00-16:00): they are read only for the times they were not cut at, so
    that this session has the default timetable."""
    mornings = [slot for slot in session.slots if slot.start_time < NOON]
    afternoons = [slot for slot in session.slots if slot.start_time >= NOON]
    return (_usual_half_day(session, mornings) or DEFAULT_TIMETABLE[0],
            _usual_half_day(session, afternoons) or DEFAULT_TIMETABLE[1])


def _usual_half_day(session: TrainingSession, half_days: list[Slot]) -> tuple[time, time] | None:
    """The most frequent of these half-days uncut by the session's start or end; without one, the most frequent
    start of those not cut by its start with the most frequent end of those not cut by its end."""
    if not half_days:
        return None
    uncut_start = [slot for slot in half_days if slot.starts_at != session.start_at] or half_days
    uncut_end = [slot for slot in half_days if slot.ends_at != session.end_at] or half_days
    full = [(slot.start_time, slot.end_time) for slot in half_days
            if slot.starts_at != session.start_at and slot.ends_at != session.end_at]
    if full:
        return _most_common(full)
    start = _most_common([slot.start_time for slot in uncut_start])
    end = _most_common([slot.end_time for slot in uncut_end])
    return (start, end) if start < end else _most_common([(slot.start_time, slot.end_time) for slot in half_days])


def _most_common(values: list):
    return Counter(values).most_common(1)[0][0]


def has_weekend_half_days(session: TrainingSession) -> bool:
    return any(slot.date.weekday() >= 5 for slot in session.slots)


def weekend_half_days_left_out(data: SessionData) -> int:
    """How many Saturday or Sunday half-days of its timetable `data`'s dates cover and it leaves out."""
    if data.include_weekends:
        return 0
    return sum(day.weekday() >= 5 for day, _s, _e in
               generate_slots(data.start_at, data.end_at, data.timetable or DEFAULT_TIMETABLE, True))


def _generated(data: SessionData) -> list[tuple[date, time, time]]:
    """The half-days `data` generates (its timetable set), or a refusal naming the weekend when it alone left none."""
    validate_timetable(data.timetable)
    slots = generate_slots(data.start_at, data.end_at, data.timetable, data.include_weekends)
    if slots:
        return slots
    if not data.include_weekends and generate_slots(data.start_at, data.end_at, data.timetable, True):
        raise ServiceError(_("Entre le début et la fin, l'emploi du temps ne donne de demi-journée que le samedi ou "
                             "le dimanche, que la session ne compte pas : cochez « Inclure le samedi et le "
                             "dimanche » pour une session le week-end."), "include_weekends")
    raise ServiceError(_("Aucune demi-journée de l'emploi du temps ne tombe entre le début et la fin."), "end_date")


def create_session(data: SessionData, *, recorded_afterwards: bool = False) -> TrainingSession:
    """A new session and its half-days. `recorded_afterwards`: a session that took place, recorded from its paper
    sheets (« Session déjà réalisée » on the form, an administrator's): its dates
    may be past (check_dates), and it is kept so (TrainingSession.recorded_afterwards): the office enrols into it
    and adds half-days to it once over, and nobody signs it in the application (attendance.signs_in_app)."""
    data = replace(data, status=_status_asked(None, data.status), timetable=data.timetable or DEFAULT_TIMETABLE,
                   include_weekends=bool(data.include_weekends))
    check_dates(data.start_at, data.end_at, past_allowed=recorded_afterwards)
    _check_completed_after_end(data.status, None, data.end_at)
    slots = _generated(data)
    _check_programme_offered(data.programme)
    session = TrainingSession(programme=data.programme, recorded_afterwards=recorded_afterwards)
    _apply(session, data)
    session.slots = [Slot(date=d, start_time=s, end_time=e) for d, s, e in slots]
    _span_half_days(session)  # from the first half-day's start: 8:00 typed with a 9:30 timetable starts at 9:30
    db.session.add(session)
    _check_trainers_free(session, data.trainers)
    session.trainers = list(data.trainers)
    audit.record(session, "created", to_state=session.status,
                 details={"recorded_afterwards": True} if recorded_afterwards else None)
    return session


@dataclass
class SessionUpdate:
    """What update_session() did beyond saving the form."""
    slots_regenerated: bool  # the dates or the timetable changed: the half-days were generated again, or moved
    preregistrations: list[Enrolment]  # given a seat or the waiting list as the session opened
    surveys_left: list = field(default_factory=list)  # questionnaires already answered, not moved with the dates
    # Moved to another programme: its positioning questionnaire already answered, open or upcoming, left asking
    # about the former programme's objectives (surveys.realign_session_positioning): the office is told.
    positioning_left: list = field(default_factory=list)
    half_days_before: tuple[int, int] = (0, 0)  # (count, planned minutes) before the half-days changed
    shifted_days: int = 0  # the half-days were moved as they were by this many days (not generated again)
    promoted: list = field(default_factory=list)  # given a seat from the waiting list (a raised capacity)


def update_session(session: TrainingSession, data: SessionData) -> SessionUpdate:
    """Update a session. Opening it to registrations (leaving "planned") gives its pre-registrations their seats
    (services/enrolments.open_registrations)."""
    check_dates(data.start_at, data.end_at, session, past_allowed=session.recorded_afterwards)
    programme_changed = data.programme.id != session.programme_id
    slots, shifted_days = _planned_half_days(session, data)
    enrolment_service.lock_session(session.id)  # seats are counted and given under the session row lock
    if programme_changed:
        _check_programme_changeable(session)  # under the lock: an enrolment committed meanwhile is seen
        # Its row after the session's (the documented lock order), for update at once: the realignment below
        # locks it so, and two moves to one programme that each held a key share first would deadlock there.
        surveys.lock_programme(data.programme.id)
        _check_programme_offered(data.programme)
    _check_status_change(session, data.status)
    _check_completed_after_end(data.status, session.status, data.end_at)
    _check_signing_trainers_kept(session, data.trainers)  # under the lock: the sheets are signed under it too
    data = replace(data, status=_status_asked(session.status, data.status))
    capacity = _capacity(data)  # what _apply() will set: an empty field means the programme's default
    taken = enrolment_service.seats_taken(session)  # a trainee who dropped out after the start keeps the seat
    if capacity < taken:
        raise ServiceError(_("La capacité ne peut pas descendre sous le nombre de places occupées (%(count)d), "
                             "inscriptions confirmées et abandons en cours de formation compris.",
                             count=taken), "capacity")
    old_status = session.status
    before = (len(session.slots), session.planned_minutes)
    windows = surveys.windows_before(session) if slots is not None else []
    dates_changed = (data.start_at, data.end_at) != (session.start_at, session.end_at)
    _apply(session, data)
    positioning_left = []
    if programme_changed:
        db.session.flush()
        positioning_left = surveys.realign_session_positioning(session)  # asks about the new objectives if it can
    surveys_left = []
    if slots is not None:
        _replace_slots(session, slots)
        _span_half_days(session)
        surveys_left = surveys.follow_session_dates(session, windows)
    elif dates_changed:  # the same half-days (13:00 typed before a 14:00 one): from the first one's start
        _span_half_days(session)
    _check_trainers_free(session, data.trainers)
    session.trainers = list(data.trainers)
    audit.record(session, "updated", from_state=old_status, to_state=session.status)
    opened = []
    if old_status == SessionStatus.PLANNED and session.status == SessionStatus.OPEN:
        opened = enrolment_service.open_registrations(session)
    promoted = enrolment_service.seats_changed(session)  # a raised capacity promotes the waiting list
    return SessionUpdate(slots is not None, opened, surveys_left, positioning_left, before, shifted_days, promoted)


def _half_day_plan(session: TrainingSession) -> list[tuple[date, time, time]]:
    return sorted((slot.date, slot.start_time, slot.end_time) for slot in session.slots)


def _planned_half_days(session: TrainingSession, data: SessionData) -> tuple[list | None, int]:
    """The half-days `data` gives the session, and by how many days they were moved as they were (0 when
    generated again): (None, 0) when they stay. The dates, timetable or weekends changed: a session whose
    half-days are what its own timetable generates gets them generated again; one whose half-days were
    edited one by one (a follow-up weeks later, a day removed...) gets them moved as they are when both dates
    move by the same whole number of days, and is refused otherwise (a rebuild would bring back removed
    half-days and fill the weeks up to a follow-up)."""
    own_timetable, own_weekends = session_timetable(session), has_weekend_half_days(session)
    data = replace(data, timetable=data.timetable or own_timetable,
                   include_weekends=own_weekends if data.include_weekends is None else data.include_weekends)
    dates_changed = (data.start_at, data.end_at) != (session.start_at, session.end_at)
    current = _half_day_plan(session)
    if current == generate_slots(session.start_at, session.end_at, own_timetable, own_weekends):
        if not dates_changed and data.timetable == own_timetable and data.include_weekends == own_weekends:
            return None, 0
        _check_half_days_editable(session)
        wanted = _generated(data)
        return (None if wanted == current else wanted), 0
    if not dates_changed and data.timetable == own_timetable:
        return None, 0
    _check_half_days_editable(session)
    shift = data.start_at - session.start_at
    if (data.timetable != own_timetable or data.end_at - session.end_at != shift
            or shift % timedelta(days=1)):
        raise ServiceError(_(
            "Les demi-journées de cette session ont été modifiées une à une (ajoutées, supprimées ou changées) : "
            "elles ne suivent plus l'emploi du temps, qui ne peut donc pas les recalculer. Pour déplacer la "
            "session, décalez la date de début et la date de fin du même nombre de jours, sans changer les heures "
            "ni l'emploi du temps : ses demi-journées suivront telles quelles. Sinon, modifiez-les une à une "
            "dans la liste des demi-journées de la session."), "start_date")
    wanted = [(day + shift, start, end) for day, start, end in current]
    weekend = next((day for day, _s, _e in wanted if day.weekday() >= 5), None)
    if weekend and not data.include_weekends:
        raise ServiceError(_("Ainsi décalée, la session aurait une demi-journée le %(day)s, un samedi ou un "
                             "dimanche : cochez « Inclure le samedi et le dimanche », ou choisissez d'autres dates.",
                             day=weekend.strftime("%d/%m/%Y")), "include_weekends")
    return wanted, shift.days


def _check_signing_trainers_kept(session: TrainingSession, trainers) -> None:
    """Refuse (on "trainers") to remove a trainer who signed a half-day sheet of the session (or closed one they
    signed on paper, its scan attached): the sheets name the session's trainers, the annual report counts their
    hours, and they keep access to the session they taught. Adding a trainer is always possible."""
    db.session.expire(session, ["trainers"])  # as committed, read under the row lock the sheets are signed under
    kept = {trainer.id for trainer in trainers}
    removed = [trainer for trainer in session.trainers if trainer.id not in kept]
    if not removed:
        return
    removed_ids = [trainer.id for trainer in removed]
    session_slots = db.select(Slot.id).where(Slot.session_id == session.id)
    signed = set(db.session.scalars(db.select(Signature.trainer_id).where(
        Signature.slot_id.in_(session_slots), Signature.trainer_id.in_(removed_ids))))
    signed |= set(db.session.scalars(db.select(AttendanceSheet.closed_by_id).where(
        AttendanceSheet.slot_id.in_(session_slots), AttendanceSheet.closed_by_id.in_(removed_ids),
        AttendanceSheet.office_closing_reason == "")))
    names = [trainer.name for trainer in removed if trainer.id in signed]
    if names:
        raise ServiceError(ngettext(
            "%(names)s a signé des feuilles d'émargement de cette session : impossible de l'en retirer (les "
            "feuilles, le bilan annuel et son accès à la session en dépendent). Ajouter des formateur·rices reste "
            "possible.",
            "%(names)s ont signé des feuilles d'émargement de cette session : impossible de les en retirer (les "
            "feuilles, le bilan annuel et leur accès à la session en dépendent). Ajouter des formateur·rices reste "
            "possible.", len(names), names=", ".join(names)), "trainers")


def _replace_slots(session: TrainingSession, wanted: list[tuple[date, time, time]]) -> None:
    """Give the session the `wanted` half-days: one that starts at the same day and time as an existing one
    is that one, kept (its end may move); the others are added or removed. Inserting a new half-day beside
    the old one with the same start would break the unique (session, date, start) constraint."""
    existing = {(slot.date, slot.start_time): slot for slot in session.slots}
    kept = []
    for day, start, end in wanted:
        slot = existing.pop((day, start), None) or Slot(date=day, start_time=start)
        slot.end_time = end
        kept.append(slot)
    session.slots = kept  # the half-days left in `existing` are orphans: deleted
    db.session.flush()


def _status_asked(current: str | None, asked: str) -> str:
    """"Full" is not chosen but counted (services/enrolments keeps an open session full while its seats are
    taken, and open again when one frees up): asking for "open" (or "full") keeps an open or full session as it
    is, and opens any other one (the count then says whether it is full)."""
    if asked in (SessionStatus.OPEN, SessionStatus.FULL):
        return current if current in (SessionStatus.OPEN, SessionStatus.FULL) else SessionStatus.OPEN
    return asked


def _check_status_change(session: TrainingSession, status: str) -> None:
    """Cancelling has its own door (cancel_session: the trainees are cancelled and told); a cancelled
    session stays cancelled (its trainees were told so)."""
    if status == SessionStatus.CANCELLED and session.status != SessionStatus.CANCELLED:
        raise ServiceError(_("Pour annuler la session, utilisez le bouton « Annuler la session » de sa page : "
                             "les inscriptions sont alors annulées et les stagiaires prévenu·es."), "status")
    if session.status == SessionStatus.CANCELLED and status != SessionStatus.CANCELLED:
        raise ServiceError(_("Cette session est annulée et ses stagiaires ont été prévenu·es : elle ne peut pas "
                             "être rouverte. Programmez plutôt une nouvelle session."), "status")


def _check_completed_after_end(status: str, current: str | None, end_at: datetime) -> None:
    """A session is marked completed after its end, not before: until then it takes trainees and its half-days
    are signed (it becomes completed by itself once over, shown_status)."""
    if status == SessionStatus.COMPLETED and current != SessionStatus.COMPLETED and end_at > local_now():
        raise ServiceError(_("La session ne peut être marquée « Terminée » qu'après sa fin (%(end)s) : elle le "
                             "devient d'elle-même à cette date.", end=datetime_fr(end_at)), "status")


# --- over ------------------------------------------------------------------------------------------

def is_over(session) -> bool:
    """A session (or a row with its `status` and `end_at`) is over once its last day has passed, or once the
    office marked it completed."""
    return session.status == SessionStatus.COMPLETED or session.end_at <= local_now()


def over_condition():
    """is_over() as an SQL condition on training_sessions."""
    return or_(TrainingSession.status == SessionStatus.COMPLETED, TrainingSession.end_at <= local_now())


def shown_status(session: TrainingSession) -> str:
    """The state the pages show: the stored one, except that the calendar moves it on, so the office does not
    have to: a session neither cancelled nor over is running from its start, and one over is completed."""
    if session.status == SessionStatus.CANCELLED:
        return session.status
    if is_over(session):
        return SessionStatus.COMPLETED
    if phase(session) == "running":
        return SessionStatus.RUNNING
    return session.status


# --- cancelling a whole session ---------------------------------------------------------------------

def cancellation_refusal(session: TrainingSession) -> str | None:
    """Why this session cannot be cancelled (French), or None when it can: before its end, and before anybody
    attended (hours attended are evidence: they are kept, trainees who stop then withdraw). Attending is what
    enrolments.attendance_begun counts: a signature not voided or some minutes attended. Absences marked and
    signatures voided are no attendance: they stay on the sheets of the cancelled session, which expect nothing
    more (attendance.expects_attendance)."""
    if session.status == SessionStatus.CANCELLED:
        return _("Cette session est déjà annulée.")
    if is_over(session):
        return _("Cette session est terminée : elle ne peut plus être annulée.")
    if _anybody_attended(session):
        return _("Des présences ont déjà été relevées pour cette session : elle ne peut plus être annulée, "
                 "car ces heures doivent rester attestées. Enregistrez plutôt l'abandon de chaque stagiaire "
                 "(avec sa date et son motif) et modifiez les demi-journées restantes.")
    return None


def _anybody_attended(session: TrainingSession) -> bool:
    """Whether attendance has really begun for some enrolment of the session (enrolments.attendance_begun)."""
    return bool(enrolment_service.begun_among(Enrolment.session_id == session.id))


def _attendance_taken(session: TrainingSession) -> bool:
    return _any_attendance(db.select(Slot.id).where(Slot.session_id == session.id))


def _slot_attendance_taken(slot: Slot) -> bool:
    return slot.id is not None and _any_attendance(db.select(Slot.id).where(Slot.id == slot.id))


def _any_attendance(slot_ids) -> bool:
    """Whether any attendance record or signature exists on the half-days selected by `slot_ids`."""
    return bool(db.session.scalar(db.select(
        db.exists().where(AttendanceRecord.slot_id.in_(slot_ids))
        | db.exists().where(Signature.slot_id.in_(slot_ids)))))


def cancel_session(training_session: TrainingSession, reason: str, *, actor: User | None = None,
                   actor_label: str = "") -> list[Enrolment]:
    """Cancel the session before its end: its status becomes cancelled, every requested, confirmed and
    waitlisted enrolment is cancelled through services/enrolments.py (one audit entry each, with the
    reason) and each trainee gets an e-mail once the transaction commits. Nobody is promoted.

    The caller commits; on a ServiceError nothing was changed. Returns the cancelled enrolments.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Indiquez le motif de l'annulation."), "reason")
    session = enrolment_service.lock_session(training_session.id)  # a double click waits, then is refused
    refusal = cancellation_refusal(session)
    if refusal:
        raise ServiceError(refusal)
    previous = session.status
    session.status = SessionStatus.CANCELLED
    entry = audit.record(session, "cancelled", actor=actor, actor_label=actor_label, from_state=previous,
                         to_state=SessionStatus.CANCELLED, reason=reason)
    cancelled = enrolment_service.cancel_for_cancelled_session(session, reason, actor=actor,
                                                               actor_label=actor_label)
    entry.details = {"enrolments_cancelled": len(cancelled)}
    return cancelled


def live_enrolment_counts(session: TrainingSession) -> dict[str, int]:
    """How many enrolments a cancellation would cancel, by state (one query)."""
    found = dict(db.session.execute(
        db.select(Enrolment.status, func.count(Enrolment.id))
        .where(Enrolment.session_id == session.id, Enrolment.status.in_(LIVE_STATUSES))
        .group_by(Enrolment.status)).all())
    return {str(status): found.get(status, 0) for status in LIVE_STATUSES}


def cancellation(session: TrainingSession):
    """The audit entry of the session's cancellation (who, when, why), or None."""
    if session.status != SessionStatus.CANCELLED:
        return None
    entries = [e for e in audit.history(session) if e.action == "cancelled"]
    return entries[-1] if entries else None


def _apply(session: TrainingSession, data: SessionData) -> None:
    programme = data.programme
    session.programme = programme
    session.start_at, session.end_at = data.start_at, data.end_at
    session.place, session.access_info = (data.place or "").strip(), data.access_info
    session.modality = data.modality
    session.capacity = _capacity(data)
    if programme.is_internal:
        session.price_cents = 0
    else:
        session.price_cents = data.price_cents if data.price_cents is not None else programme.price_cents
    session.status = data.status
    session.contact_person = data.contact_person
    if session.capacity < 1:
        raise ServiceError(_("La capacité doit être d'au moins 1 place."), "capacity")
    if session.price_cents is not None and session.price_cents < 0:
        raise ServiceError(_("Le prix ne peut pas être négatif."), "price")


def _capacity(data: SessionData) -> int:
    return data.capacity if data.capacity is not None else data.programme.default_capacity


# The session form's box for a session recorded once it took place (create_session(recorded_afterwards=True)).
RECORDED_AFTERWARDS_BOX = _l("Session déjà réalisée : je la saisis à partir des feuilles d'émargement papier")
MAX_SESSION_DAYS = 366  # beyond, a date typed wrong (2099 for 2030) would create thousands of half-days


def check_dates(start_at: datetime, end_at: datetime, session: TrainingSession | None = None, *,
                past_allowed: bool = False) -> None:
    """The dates of a new session, or those `session` is given: the end after the start, within a year, and not
    already past when it is set (a new session, or an end moved). A session over takes no enrolment
    (enrolments.enrol) and nobody signs its sheets: created, or moved, into the past it would be a dead end. A
    session that is over keeps its end as it was recorded, and may still be edited otherwise. Run by the
    session form too (SessionForm.validate), so that one submit lists every mistake. `past_allowed`: a session
    recorded once it took place, from its paper sheets (create_session(recorded_afterwards=True): the form's
    « Session déjà réalisée » box), whose refusal here names that box; a new one has begun already."""
    if end_at <= start_at:
        raise ServiceError(_("La fin doit être postérieure au début."), "end_date")
    if end_at - start_at > timedelta(days=MAX_SESSION_DAYS):
        raise ServiceError(_("Une session dure au plus un an : vérifiez la date de fin, ou découpez la formation "
                             "en plusieurs sessions."), "end_date")
    if not past_allowed and end_at < local_now() and (session is None or end_at != session.end_at):
        raise ServiceError(_("La fin de la session (%(end)s) est déjà passée : personne ne pourrait plus s'y "
                             "inscrire ni émarger. Choisissez des dates à venir ou, pour une session qui a déjà "
                             "eu lieu, cochez « %(box)s ».", end=datetime_fr(end_at), box=RECORDED_AFTERWARDS_BOX),
                           "end_date")
    if past_allowed and session is None and start_at > local_now():  # ticked for a session still to come
        raise ServiceError(_("Une session déjà réalisée a commencé : son début (%(start)s) est à venir. Décochez "
                             "« %(box)s » pour programmer une session à venir (elle s'émarge alors dans "
                             "l'application).", start=datetime_fr(start_at), box=RECORDED_AFTERWARDS_BOX),
                           "recorded_afterwards")


def _check_not_cancelled(session: TrainingSession, *, programme: bool = False) -> None:
    """A cancelled session's half-days, and its programme (`programme`), stay as its trainees were told they were
    cancelled."""
    if session.status != SessionStatus.CANCELLED:
        return
    if programme:
        raise ServiceError(_("Cette session est annulée : sa formation ne peut plus être changée. Programmez "
                             "plutôt une nouvelle session."), "programme_id")
    raise ServiceError(_("Cette session est annulée : ses dates et ses demi-journées ne peuvent plus être "
                         "modifiées. Programmez plutôt une nouvelle session."))


def _check_half_days_editable(session: TrainingSession) -> None:
    _check_not_cancelled(session)
    _check_not_started(session)


def _check_not_started(session: TrainingSession) -> None:
    """Half-days are regenerated only before anyone could sign: trainees sign from a few minutes before a
    half-day starts (attendance.signing_window), and a signature must keep the half-day it was given for."""
    first = session.slots[0] if session.slots else None
    if (session.start_at <= local_now() or (first is not None and _signing_opened(first))
            or _attendance_taken(session)):
        raise ServiceError(_("La session a commencé : ses demi-journées ne peuvent plus être modifiées."))


def _check_programme_changeable(session: TrainingSession) -> None:
    """A session runs one programme once it has started, has trainees or holds evidence of it: its trainees
    were told the course's title and price (and may hold its convocation), its sheets, results and
    certificates name that course and its objectives (results are recorded against them). So does a public
    request awaiting its confirmation (services/registration_requests): the person asked for this course. One
    recorded while the move is under way (ask() takes no lock: not seen here until committed) keeps the
    programme it was made for, and its confirmation is refused (enrolments.enrol, under the session's lock)."""
    _check_not_cancelled(session, programme=True)
    enrolments = db.select(Enrolment.id).where(Enrolment.session_id == session.id)
    if (session.start_at <= local_now() or _attendance_taken(session) or db.session.scalar(db.select(
            db.exists().where(Enrolment.session_id == session.id, Enrolment.status.in_(LIVE_STATUSES))
            | db.exists().where(LearningOutcome.enrolment_id.in_(enrolments))
            | db.exists().where(IssuedCertificate.enrolment_id.in_(enrolments))))):
        raise ServiceError(_("La formation d'une session ne peut plus être changée une fois la session commencée, "
                             "ni quand des stagiaires y sont inscrit·es (l'intitulé et le tarif leur ont été "
                             "annoncés) ou que des présences, des acquis ou des attestations y sont enregistrés. "
                             "Programmez plutôt une nouvelle session."), "programme_id")
    waiting = registration_requests.unconfirmed(session)
    if waiting:
        raise ServiceError(_("Des demandes d'inscription faites sur la page publique attendent la confirmation de "
                             "leur adresse pour cette session : ces personnes ont demandé cette formation-ci, et "
                             "la confirmation les inscrirait à une autre. Sa formation pourra être changée une "
                             "fois leurs liens expirés (le %(until)s) ; sinon, programmez plutôt une nouvelle "
                             "session.", until=utc_datetime_fr(max(asked.expires_at for asked in waiting))),
                           "programme_id")


def _check_programme_offered(programme: Programme) -> None:
    """A new session, or a session moved, runs a programme of the catalogue, not an archived one: read under the
    programme row's key-share lock (enrolments.programme_archived), so that an archiving under way is waited for,
    then seen, and one that comes after waits for the session to be written."""
    if enrolment_service.programme_archived(programme.id):
        raise ServiceError(_("La formation « %(title)s » est archivée : on n'y programme plus de session. "
                             "Remettez-la au catalogue d'abord, si elle doit reprendre.", title=programme.title),
                           "programme_id")


def _signing_opened(slot: Slot) -> bool:
    return attendance.signing_window(slot)[0] <= local_now()


def _check_trainers_free(session: TrainingSession, trainers) -> None:
    """A trainer cannot teach two sessions whose half-days overlap."""
    if not trainers:
        return
    db.session.flush()
    own = [(s.date, s.start_time, s.end_time) for s in session.slots]
    if not own:
        return
    dates = {d for d, _s, _e in own}
    rows = db.session.execute(
        db.select(User.name, Slot.date, Slot.start_time, Slot.end_time, TrainingSession.id)
        .join(session_trainers, session_trainers.c.user_id == User.id)
        .join(TrainingSession, TrainingSession.id == session_trainers.c.session_id)
        .join(Slot, Slot.session_id == TrainingSession.id)
        .where(User.id.in_([t.id for t in trainers]), TrainingSession.id != session.id,
               TrainingSession.status != SessionStatus.CANCELLED, Slot.date.in_(dates))
    ).all()
    for name, day, start, end, _other_id in rows:
        for own_day, own_start, own_end in own:
            if own_day == day and start < own_end and own_start < end:
                raise ServiceError(
                    _("%(name)s anime déjà une autre session le %(day)s à ces heures.",
                      name=name, day=day.strftime("%d/%m/%Y")), "trainers")


# --- slots ---------------------------------------------------------------------------------------

def add_slot(session: TrainingSession, day: date, start: time, end: time) -> Slot:
    enrolment_service.lock_session(session.id)  # one change of the timetable at a time (see _half_days_changed)
    _check_not_cancelled(session)
    if is_over(session) and not session.recorded_afterwards:  # its certificates, claims and results say when it ended
        raise ServiceError(_("Cette session est terminée : programmez la suite (un retour d'expérience, par "
                             "exemple) comme une nouvelle session."), "date")
    slot = Slot(date=day, start_time=start, end_time=end)
    _check_slot(session, slot)
    check_half_day_length(start, end)
    session.slots.append(slot)
    _half_days_changed(session)
    db.session.flush()
    _check_trainers_free(session, session.trainers)
    audit.record(session, "slot_added", details={"slot": _describe(slot)})
    return slot


def update_slot(slot: Slot, day: date, start: time, end: time) -> Slot:
    session = enrolment_service.lock_session(slot.session_id)
    before = _describe(slot)
    _check_not_cancelled(session)
    _check_not_started_slot(slot)
    candidate = Slot(date=day, start_time=start, end_time=end)
    _check_slot(session, candidate, ignore=slot)
    check_half_day_length(start, end)
    slot.date, slot.start_time, slot.end_time = day, start, end
    _half_days_changed(session)
    db.session.flush()
    _check_trainers_free(session, session.trainers)
    audit.record(session, "slot_changed", details={"before": before, "after": _describe(slot)})
    return slot


def delete_slot(slot: Slot) -> None:
    session = enrolment_service.lock_session(slot.session_id)
    _check_not_cancelled(session)
    _check_not_started_slot(slot)
    if len(session.slots) <= 1:
        raise ServiceError(_("Une session garde au moins une demi-journée."))
    audit.record(session, "slot_removed", details={"slot": _describe(slot)})
    session.slots.remove(slot)
    _half_days_changed(session)


# A half-day of the reference timetable lasts 3 h (9:30-12:30) or 4 h (14:00-18:00): some slack for other
# timetables (13:00-18:00), but a whole day typed as one half-day (its sheet is signed once) or a few minutes
# typed by mistake (14:00-14:05) are refused.
HALF_DAY_MINUTES = (30, 5 * 60)
HALF_DAY_MONTH_AWAY = 31  # days between a half-day and the session's others beyond which half_day_warnings asks


def check_half_day_length(start: time, end: time, field: str = "end_time") -> None:
    """A half-day (typed one by one, or a period of a session's timetable) lasts 30 minutes to 5 hours."""
    minutes = Slot.minutes_between(start, end)
    shortest, longest = HALF_DAY_MINUTES
    if minutes < shortest:
        raise ServiceError(_("Une demi-journée dure au moins %(shortest)d minutes : vérifiez les heures de début et "
                             "de fin.", shortest=shortest), field)
    if minutes > longest:
        raise ServiceError(_("Une demi-journée dure au plus %(longest)s (l'emploi du temps de référence : 9 h 30 – "
                             "12 h 30 et 14 h – 18 h) : vérifiez les heures, ou comptez une journée entière comme "
                             "deux demi-journées, le matin et l'après-midi.", longest=hours(longest)),
                           field)


def half_day_warnings(slot: Slot) -> list[str]:
    """What looks odd about a half-day just added or moved, to be checked rather than refused (French): a
    Saturday or a Sunday in a session without other weekend half-days, a date more than a month away from the
    session's other half-days (a follow-up some weeks later is common; months later is more likely a typo)."""
    others = [other for other in slot.session.slots if other is not slot]
    warnings = []
    if slot.date.weekday() >= 5 and not any(other.date.weekday() >= 5 for other in others):
        warnings.append(_("La demi-journée du %(day)s tombe un %(weekday)s : vérifiez sa date.",
                          day=slot.date.strftime("%d/%m/%Y"),
                          weekday=_("samedi") if slot.date.weekday() == 5 else _("dimanche")))
    if others:
        first, last = min(other.date for other in others), max(other.date for other in others)
        away = max((first - slot.date).days, (slot.date - last).days)
        if away > HALF_DAY_MONTH_AWAY:
            warnings.append(_("La demi-journée du %(day)s tombe à %(away)d jours des autres demi-journées de la "
                              "session (du %(first)s au %(last)s) : vérifiez sa date.",
                              day=slot.date.strftime("%d/%m/%Y"), away=away, first=first.strftime("%d/%m/%Y"),
                              last=last.strftime("%d/%m/%Y")))
    return warnings


def half_days_addable(session: TrainingSession) -> bool:
    """Whether a half-day may still be added to the session (add_slot): neither cancelled nor over (unless it is
    recorded afterwards from its paper sheets). A session that has started keeps taking half-days to come (the
    days left, once some trainees have dropped out)."""
    return session.status != SessionStatus.CANCELLED and (session.recorded_afterwards or not is_over(session))


def changeable_half_days(session: TrainingSession) -> set[int]:
    """The ids of the session's half-days that may still be moved or removed (update_slot, delete_slot): the
    session is not cancelled, signing has not opened and nothing was recorded on them (one query). Once the
    session has started, its remaining half-days stay changeable one by one."""
    if session.status == SessionStatus.CANCELLED:
        return set()
    slot_ids = db.select(Slot.id).where(Slot.session_id == session.id)
    recorded = set(db.session.scalars(
        db.select(AttendanceRecord.slot_id).where(AttendanceRecord.slot_id.in_(slot_ids))
        .union(db.select(Signature.slot_id).where(Signature.slot_id.in_(slot_ids)))))
    return {slot.id for slot in session.slots if slot.id not in recorded and not _signing_opened(slot)}


def _half_days_changed(session: TrainingSession) -> None:
    """Once its half-days are edited one by one, a session runs from the first one's start to the last one's
    end: the convocations, the public pages, the certificates and the enrolment window read these dates. Its
    questionnaires keep their dates (a half-day added weeks later is a follow-up, not the course's end: the
    satisfaction questionnaire stays on the course's last day); moving the session's dates moves them
    (update_session). The session's edit version moves (services/edit_versions, under the session's row lock
    taken by the caller): a session form opened before holds the old dates, and saving it would rebuild the
    old half-days."""
    _span_half_days(session)
    session.version += 1


def _span_half_days(session: TrainingSession) -> None:
    slots = sorted(session.slots, key=lambda slot: slot.starts_at)
    session.start_at, session.end_at = slots[0].starts_at, slots[-1].ends_at


def _check_not_started_slot(slot: Slot) -> None:
    """As _check_not_started(), for one half-day: its signatures and attendance records stay as given."""
    if _signing_opened(slot) or _slot_attendance_taken(slot):
        raise ServiceError(_("Cette demi-journée a commencé : elle ne peut plus être modifiée."))


def _check_slot(session: TrainingSession, slot: Slot, ignore: Slot | None = None) -> None:
    if slot.end_time <= slot.start_time:
        raise ServiceError(_("L'heure de fin doit être après l'heure de début."), "end_time")
    if slot.starts_at < local_now() and not session.recorded_afterwards:  # one recorded from its paper sheets may
        raise ServiceError(_("On ne peut pas ajouter une demi-journée dans le passé.") if ignore is None
                           else _("On ne peut pas déplacer une demi-journée dans le passé."), "date")
    others = [other for other in session.slots if other is not ignore]
    if others and (max([slot.ends_at] + [other.ends_at for other in others])
                   - min([slot.starts_at] + [other.starts_at for other in others])) > timedelta(days=MAX_SESSION_DAYS):
        raise ServiceError(_("Une session dure au plus un an : vérifiez la date de cette demi-journée."), "date")
    for other in session.slots:
        if other is ignore:
            continue
        if other.date == slot.date and other.start_time < slot.end_time and slot.start_time < other.end_time:
            raise ServiceError(
                _("Cette demi-journée chevauche celle du %(day)s de %(start)s à %(end)s.",
                  day=other.date.strftime("%d/%m/%Y"), start=other.start_time.strftime("%H:%M"),
                  end=other.end_time.strftime("%H:%M")), "start_time")


def _describe(slot: Slot) -> str:
    return f"{slot.date:%d/%m/%Y} {slot.start_time:%H:%M}-{slot.end_time:%H:%M}"


# --- lists ----------------------------------------------------------------------------------------

PHASES = ("upcoming", "running", "past")


def phase(session: TrainingSession, now: datetime | None = None) -> str:
    now = now or local_now()
    if now < session.start_at:
        return "upcoming"
    if now <= session.end_at:
        return "running"
    return "past"


def sessions_query(user: User, *, phase_filter: str = "", programme_id: int | None = None,
                   trainer_id: int | None = None, held_only: bool = False):
    """The sessions `user` may see, filtered; trainers only get the sessions they teach. `held_only`: not the
    cancelled ones (the dashboard: a cancelled session neither comes nor runs; the sessions' list shows them).

    Each session comes with its programme and trainers (what the lists show), in a constant
    number of queries whatever the page size.
    """
    now = local_now()
    query = db.select(TrainingSession).join(TrainingSession.programme).options(
        contains_eager(TrainingSession.programme), selectinload(TrainingSession.trainers))
    if not user.is_admin:
        trainer_id = user.id
    if trainer_id:
        query = query.where(TrainingSession.id.in_(
            db.select(session_trainers.c.session_id).where(session_trainers.c.user_id == trainer_id)))
    if programme_id:
        query = query.where(TrainingSession.programme_id == programme_id)
    if held_only:
        query = query.where(TrainingSession.status != SessionStatus.CANCELLED)
    if phase_filter == "upcoming":
        query = query.where(TrainingSession.start_at > now).order_by(TrainingSession.start_at)
    elif phase_filter == "running":
        query = query.where(TrainingSession.start_at <= now, TrainingSession.end_at >= now) \
            .order_by(TrainingSession.start_at)
    elif phase_filter == "past":
        query = query.where(TrainingSession.end_at < now).order_by(TrainingSession.start_at.desc())
    else:
        query = query.order_by(TrainingSession.start_at.desc())
    return query


def trainers() -> list[User]:
    return list(db.session.scalars(
        db.select(User).where(User.active.is_(True)).order_by(User.name)))
