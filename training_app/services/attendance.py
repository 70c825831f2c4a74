"""Attendance (émargement): signing, marking, closing, reopening and correcting half-day sheets,
and the hours attended that certificates, funding claims and the annual report use.

Every write on a half-day first locks its slot row (SELECT ... FOR UPDATE on PostgreSQL;
SQLite serialises writers), so that signatures, marks and the closing of one half-day happen
one after the other; the unique constraints on signatures and records back this up.

The interface other features call:
    totals_for_session(session) -> {enrolment_id: AttendanceTotals}   (a constant number of queries)
    totals_for(enrolment) -> AttendanceTotals
    attended_between(first_day, last_day, *columns) -> rows   (one query: the annual report's hours)
    attended_in_sessions(session_ids, *columns) -> rows   (one query: a programme's public results)
    open_slots(session) -> [Slot]   (half-days whose sheet a trainer has not closed)
"""
import base64
import binascii
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from itsdangerous import BadSignature, URLSafeSerializer
from PIL import Image
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload, selectinload, undefer

from training_app.clock import local_now, to_local, utcnow
from training_app.documents import images, storage, uploads
from training_app.extensions import db
from training_app.formatting import datetime_fr, de
from training_app.models import (AttendanceRecord, AttendanceSheet, AttendanceSheetVersion, AttendanceStatus,
                                 AuditEntry, Enrolment, EnrolmentStatus, Modality, SessionStatus, SheetStatus,
                                 Signature, SignatureMethod, Slot, Trainee, TrainingSession, User, session_trainers)
from training_app.models.attendance import ABSENT_STATUSES
from training_app.services import ServiceError, audit
from training_app.services.enrolments import lock_session

PNG_DATA_URL = "data:image/png;base64,"
MAX_SIGNATURE_BYTES = 150 * 1024   # a pad drawing is a few kilobytes
PAD_EXPORT_MAX_SIDE = 1500         # the pads' script draws (and exports) at most this many pixels a side, whatever
                                   # the screen's pixel ratio: well inside MAX_SIGNATURE_SIDE and the byte limit
MAX_SIGNATURE_SIDE = 2000          # pixels, read from the header before decoding. Was 3000: every pad exports at
                                   # most PAD_EXPORT_MAX_SIDE, and a tablet's whole screen is about 2000 pixels
                                   # wide, so 2000 still leaves a third of margin while a square of the most
                                   # allowed is 4 million pixels to decode (16 Mo as RGBA) instead of 9 million
INK_LEVEL = 128                    # a pixel is ink when darker than this (0-255) once laid on white paper
MIN_INK_PIXELS = 20                # a pen stroke of a few millimetres has hundreds
UPLOAD_KINDS = ("pdf", "jpeg", "png")
EPOCH = datetime(1970, 1, 1)
DEFAULT_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
QR_SALT = "attendance-room-qr"
QR_PASS_SALT = "attendance-room-qr-pass"
QR_ROTATION_SECONDS = 60     # the room's QR code changes every minute; a scanned code is good for the
                             # current and the previous minute, so a forwarded photo of it soon stops working
QR_PASS_MAX_AGE = 15 * 60    # once scanned, the trainee of the phone has this long to draw their signature

STATUS_LABELS = {
    AttendanceStatus.PRESENT: _l("Présent·e"),
    AttendanceStatus.LATE: _l("En retard"),
    AttendanceStatus.LEFT_EARLY: _l("Parti·e plus tôt"),
    AttendanceStatus.ABSENT_JUSTIFIED: _l("Absent·e, absence justifiée"),
    AttendanceStatus.ABSENT_UNJUSTIFIED: _l("Absent·e, sans justificatif"),
}
# What a sheet's history says of each action: its versions (history.html), and the entries about one trainee
# (the personal-data export).
SHEET_ACTION_LABELS = {
    "closed": _l("Clôture"), "closed_by_office": _l("Clôture par l'administration, sans signature du / de la "
                                                    "formateur·rice"),
    "reopened": _l("Réouverture"), "corrected": _l("Correction"), "scan_attached": _l("Scan joint"),
    "scan_replaced": _l("Scan remplacé"), "signed": _l("Signature"), "marked": _l("Statut noté"),
    "signature_voided": _l("Signature annulée"),
}
METHOD_LABELS = {
    SignatureMethod.DEVICE: _l("sur l'appareil du / de la formateur·rice"),
    SignatureMethod.PERSONAL_LINK: _l("par le lien personnel"),
    SignatureMethod.QR: _l("par le QR code de la salle"),
}


# --- the shared interface -------------------------------------------------------------------------

@dataclass
class AttendanceTotals:
    planned_minutes: int
    attended_minutes: int
    absent_justified_minutes: int
    absent_unjustified_minutes: int


def totals_for_session(session: TrainingSession) -> dict[int, AttendanceTotals]:
    """Totals for every confirmed or withdrawn enrolment, and any other with a record (3 queries): such an other
    one (cancelled, moved, not confirmed: EXPECTED_STATUSES) plans only the half-days it has a record of.

    Planned minutes are the session's, but for half-days over before the trainee joined (see
    `before_enrolment`); a half-day not marked yet counts neither as attended nor as absent, but one
    missed after a withdrawal is unjustified absence (see `after_withdrawal`).
    Minutes missed by a late arrival or an early departure are unjustified absence.
    """
    slots, closed = _session_slots(session.id)
    records = _records(select(Slot.id).where(Slot.session_id == session.id))
    listed = {r.enrolment_id: Span(expected=False) for r in records}
    listed.update((id_, Span(withdrawn_on, confirmed_at)) for id_, withdrawn_on, confirmed_at in db.session.execute(
        select(Enrolment.id, Enrolment.withdrawn_on, Enrolment.confirmed_at).where(
            Enrolment.session_id == session.id,
            Enrolment.status.in_(EXPECTED_STATUSES))))
    return _sum_totals(listed, slots, records, closed)


def totals_for_trainee(trainee_id: int) -> dict[int, AttendanceTotals]:
    """Totals of each confirmed or withdrawn enrolment of the trainee, as totals_for() (3 queries)."""
    enrolments = list(db.session.scalars(select(Enrolment).where(
        Enrolment.trainee_id == trainee_id, Enrolment.status.in_((EnrolmentStatus.CONFIRMED, EnrolmentStatus.WITHDRAWN)))))
    if not enrolments:
        return {}
    slots = _slots_of({enrolment.session_id for enrolment in enrolments})
    records: dict[int, list[AttendanceRecord]] = {enrolment.id: [] for enrolment in enrolments}
    for record in db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.enrolment_id.in_(records))):
        records[record.enrolment_id].append(record)
    totals = {}
    for enrolment in enrolments:
        session_slots, closed = slots[enrolment.session_id]
        totals[enrolment.id] = _sum_totals({enrolment.id: _span(enrolment)}, session_slots, records[enrolment.id],
                                           closed)[enrolment.id]
    return totals


def totals_for(enrolment: Enrolment) -> AttendanceTotals:
    slots, closed = _session_slots(enrolment.session_id)
    records = list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.enrolment_id == enrolment.id)))
    return _sum_totals({enrolment.id: _span(enrolment)}, slots, records, closed)[enrolment.id]


def attended_minutes_sql():
    """Minutes attended over attendance records, in SQL: the sum of each record's `minutes_attended` (set by
    attended_minutes() when signed or marked), as _sum_totals adds them up. Every record counts, whatever
    its enrolment's state; a half-day without a record counts nothing attended."""
    return func.coalesce(func.sum(AttendanceRecord.minutes_attended), 0)


def attended_between(first_day: date, last_day: date, *columns):
    """Minutes attended on the half-days dated `first_day` to `last_day` (both included) of the sessions that
    are not cancelled, per trainee and session and per each of `columns` (of Trainee, Enrolment, Slot or
    TrainingSession): rows (trainee_id, session_id, *columns, minutes). One query, whatever the data;
    the rule is the one of totals_for_session (attended_minutes_sql)."""
    return _attended(columns, Slot.date >= first_day, Slot.date <= last_day)


def attended_in_sessions(session_ids, *columns):
    """As attended_between, over every half-day of the sessions `session_ids` (those not cancelled), whatever
    their dates: rows (trainee_id, session_id, *columns, minutes). One query."""
    return _attended(columns, Slot.session_id.in_(set(session_ids) or {0}))


def _attended(columns, *conditions):
    return db.session.execute(
        select(Enrolment.trainee_id, Slot.session_id, *columns, attended_minutes_sql().label("minutes"))
        .select_from(AttendanceRecord)
        .join(Slot, Slot.id == AttendanceRecord.slot_id)
        .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
        .join(Trainee, Trainee.id == Enrolment.trainee_id)
        .join(TrainingSession, TrainingSession.id == Slot.session_id)
        .where(*conditions, TrainingSession.status != SessionStatus.CANCELLED)
        .group_by(Enrolment.trainee_id, Slot.session_id, *columns)).all()


def after_withdrawal(slot: Slot, withdrawn_on: date | None) -> bool:
    """Whether a trainee who withdrew on `withdrawn_on` (None: did not) had dropped out by `slot`.

    The rule, for a half-day without an attendance record (a record always wins): it falls on or
    after the day of the withdrawal. A withdrawn trainee can no longer sign nor be marked, so a
    half-day of the withdrawal day left without a record would otherwise stay "missing" forever;
    a half-day attended that day was signed or marked before the withdrawal and keeps its record.
    Such a half-day is unjustified absence: the reason of the dropout is in the enrolment, it does
    not justify each half-day.
    """
    return withdrawn_on is not None and slot.date >= withdrawn_on


def before_enrolment(slot: Slot, confirmed_at: datetime | None, closed_at: datetime | None = None) -> bool:
    """Whether `slot` was over when the trainee's enrolment was confirmed (UTC; None: not known), its sheet
    being closed since `closed_at` (UTC; None: not closed).

    The rule, for a half-day without an attendance record (a record always wins): a half-day that
    ended before the enrolment was confirmed (enrolments are accepted while the session runs, and a
    trainee taken off the waiting list joins when confirmed) was not expected of the trainee: it is
    neither planned for them, nor missing, nor absent. Nor is a half-day whose sheet was closed before
    (trainers close up to CLOSING_OPENS_MINUTES_BEFORE_END before the end): nobody can sign nor mark on a
    closed sheet, so the trainee could never be either attending or absent there. Once an administrator
    reopens the sheet (closed_at None), the half-day is expected again and they are marked before it closes
    again. A half-day running or to come at that moment, its sheet open, is expected.

    A session recorded afterwards from its paper sheets (signs_in_app) expects each trainee on every half-day:
    the office enrols them once it is over, from the sheets that list them.
    """
    if confirmed_at is None or not signs_in_app(slot.session):
        return False
    return slot.ends_at <= to_local(confirmed_at) or (closed_at is not None and closed_at <= confirmed_at)


def _closed_at(sheet: AttendanceSheet | None) -> datetime | None:
    """When `sheet` was closed (UTC), None while it is open (or missing): before_enrolment's `closed_at`."""
    return sheet.closed_at if sheet is not None and sheet.is_closed else None


# The enrolments whose trainee is expected on the half-days (planned, to sign or be marked, missing otherwise):
# the others (cancelled, moved, requested, waitlisted) have no half-day but those with a record, kept as evidence.
EXPECTED_STATUSES = (EnrolmentStatus.CONFIRMED, EnrolmentStatus.WITHDRAWN)


@dataclass(frozen=True)
class Span:
    """When an enrolment joined (confirmed, UTC) and left (withdrawal day) the session; None: did not.
    `expected`: False for an enrolment not in EXPECTED_STATUSES, expected on no half-day but those it has a
    record of."""
    withdrawn_on: date | None = None
    confirmed_at: datetime | None = None
    expected: bool = True


def _span(enrolment: Enrolment) -> Span:
    withdrawn_on = enrolment.withdrawn_on if enrolment.status == EnrolmentStatus.WITHDRAWN else None
    return Span(withdrawn_on, enrolment.confirmed_at, enrolment.status in EXPECTED_STATUSES)


def open_slots(session: TrainingSession) -> list[Slot]:
    """Half-days of `session` not yet closed by a trainer (certificates refuse them)."""
    # NOT EXISTS on the sheet of each half-day (its unique index), not NOT IN every closed sheet: that read them all
    closed = db.exists().where(AttendanceSheet.slot_id == Slot.id, AttendanceSheet.status == SheetStatus.CLOSED)
    return list(db.session.scalars(
        select(Slot).where(Slot.session_id == session.id, ~closed).order_by(Slot.date, Slot.start_time)))


def _session_slots(session_id: int) -> tuple[list[Slot], dict[int, datetime]]:
    """The session's half-days in order, and {slot id: when its sheet was closed} for the closed ones
    (before_enrolment's `closed_at`). One query."""
    return _slots_of({session_id})[session_id]


def _slots_of(session_ids: set[int]) -> dict[int, tuple[list[Slot], dict[int, datetime]]]:
    """_session_slots() of each of these sessions, in one query."""
    result: dict[int, tuple[list[Slot], dict[int, datetime]]] = {session_id: ([], {}) for session_id in session_ids}
    for slot, closed in db.session.execute(
            select(Slot, AttendanceSheet.closed_at)
            .outerjoin(AttendanceSheet, (AttendanceSheet.slot_id == Slot.id) & (AttendanceSheet.status == SheetStatus.CLOSED))
            .where(Slot.session_id.in_(session_ids)).order_by(Slot.date, Slot.start_time)):
        result[slot.session_id][0].append(slot)
        if closed is not None:
            result[slot.session_id][1][slot.id] = closed
    return result


def _records(slot_ids) -> list[AttendanceRecord]:
    return list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.slot_id.in_(slot_ids))))


def _sum_totals(spans: dict[int, Span], slots: list[Slot], records,
                closed: dict[int, datetime]) -> dict[int, AttendanceTotals]:
    """Totals of the enrolments keyed in `spans`: planned = attended + justified + unjustified absence
    once every half-day expected of them is marked (the half-days over, or whose sheet was closed, before they
    joined are not: before_enrolment, `closed` giving when each closed sheet was closed)."""
    recorded = {(r.slot_id, r.enrolment_id) for r in records}
    slot_minutes = {slot.id: slot.minutes for slot in slots}
    expected = {i: [slot for slot in slots if (slot.id, i) in recorded
                    or (span.expected and not before_enrolment(slot, span.confirmed_at, closed.get(slot.id)))]
                for i, span in spans.items()}
    totals = {i: AttendanceTotals(sum(slot.minutes for slot in expected[i]), 0, 0, 0) for i in spans}
    for record in records:
        total = totals.get(record.enrolment_id)
        if total is None:
            continue
        missed = slot_minutes.get(record.slot_id, 0) - record.minutes_attended
        total.attended_minutes += record.minutes_attended
        if record.status == AttendanceStatus.ABSENT_JUSTIFIED:
            total.absent_justified_minutes += missed
        else:
            total.absent_unjustified_minutes += missed
    for enrolment_id, span in spans.items():
        totals[enrolment_id].absent_unjustified_minutes += sum(
            slot.minutes for slot in expected[enrolment_id]
            if after_withdrawal(slot, span.withdrawn_on) and (slot.id, enrolment_id) not in recorded)
    return totals


# --- rules on times -------------------------------------------------------------------------------

def signing_window(slot: Slot) -> tuple[datetime, datetime]:
    """Trainees sign from SIGNING_OPENS_MINUTES_BEFORE before the start to the end (local time)."""
    opens = slot.starts_at - timedelta(minutes=current_app.config["SIGNING_OPENS_MINUTES_BEFORE"])
    return opens, slot.ends_at


def signs_in_app(session: TrainingSession) -> bool:
    """Whether the half-days of `session` are signed in the application (the trainer's device, the personal link,
    the room's QR code): not for a session recorded afterwards from its paper sheets (« Session déjà réalisée »),
    whose trainees and trainers signed on paper. The office enters each half-day's statuses from the paper
    sheet, attaches its scan (attach_scan), which stands for the signatures (scan_stands_for_trainer), and closes
    it: a signature drawn now would be one made after the fact."""
    return not session.recorded_afterwards


def recorded_afterwards_note() -> str:
    """What the sheets of a session recorded afterwards (signs_in_app) say, on the page and the printouts, so that
    nobody takes its statuses for electronic signatures."""
    return _("Saisie a posteriori d'après la feuille papier jointe : présences relevées par l'administration, "
             "sans signature électronique ; le scan de la feuille papier signée tient lieu de signatures.")


def _refuse_signing_after_the_fact(slot: Slot) -> None:
    if not signs_in_app(slot.session):
        raise ServiceError(_("Cette session a été saisie a posteriori d'après ses feuilles d'émargement papier : "
                             "on ne la signe pas dans l'application. L'administration saisit les présences et "
                             "joint le scan de la feuille papier."), "signature")


def expects_attendance(session: TrainingSession) -> bool:
    """Whether the half-days of `session` are signed and closed: not once it is cancelled. Its enrolments were
    cancelled with it (and cancellation_refusal keeps a session where somebody attended from being cancelled:
    absences marked or signatures voided may stay on its sheets), so nothing is missing there and no sheet of it
    is signed or closed any more."""
    return session.status != SessionStatus.CANCELLED


def _refuse_cancelled(slot: Slot) -> None:
    if not expects_attendance(slot.session):
        raise ServiceError(_("Cette session est annulée : ses demi-journées ne s'émargent pas."))


def is_signing_open(slot: Slot, now: datetime | None = None) -> bool:
    return signing_phase(slot, now) == "open"


def signing_phase(slot: Slot, now: datetime | None = None) -> str:
    """"before", "open" or "after" the slot's signing window (signing_window, local time); "paper" for a session
    signed on paper only (signs_in_app)."""
    if not signs_in_app(slot.session):
        return "paper"
    opens, closes = signing_window(slot)
    now = now or local_now()
    if now < opens:
        return "before"
    return "open" if now <= closes else "after"


def closing_opens(slot: Slot) -> datetime:
    """When a sheet can be closed: CLOSING_OPENS_MINUTES_BEFORE_END before the end, not before the start.

    Closing locks the sheet and the trainer signs for the hours of the whole half-day: an earlier
    closing would keep the trainer from recording a departure before the end.
    """
    opens = slot.ends_at - timedelta(minutes=current_app.config["CLOSING_OPENS_MINUTES_BEFORE_END"])
    return max(opens, slot.starts_at)


def closing_too_early(slot: Slot, now: datetime) -> str:
    """Why the sheet cannot be signed by the trainer and closed yet, at `now` (closing_opens), or ""."""
    opens = closing_opens(slot)
    if now >= opens:
        return ""
    return _("Cette feuille se signe et se clôt à partir du %(day)s à %(time)s, peu avant la fin de la demi-journée "
             "(%(end)s) : notez d'ici là les retards et départs anticipés.",
             day=f"{opens:%d/%m/%Y}", time=_window_text(opens), end=_hm(slot.end_time))


def _trainer_window_closes(slot: Slot) -> datetime:
    """A trainer may sign the sheet until the end of the half-day's day (after the last trainee left)."""
    return datetime.combine(slot.date, time(23, 59, 59))


def trainer_signing_over(slot: Slot, now: datetime | None = None) -> bool:
    """Whether the half-day's day is over: no trainer can sign its sheet any more (see close_slot)."""
    return (now or local_now()) > _trainer_window_closes(slot)


def attended_minutes(slot: Slot, status: str, arrival: time | None, departure: time | None) -> int:
    """Minutes attended for a status; checks the times given with it."""
    if status in ABSENT_STATUSES:
        return 0
    if status == AttendanceStatus.LATE and arrival is None:
        raise ServiceError(_("Indiquez l'heure d'arrivée."), "arrival_time")
    if status == AttendanceStatus.LEFT_EARLY and departure is None:
        raise ServiceError(_("Indiquez l'heure de départ."), "departure_time")
    span = _("entre %(start)s et %(end)s", start=_hm(slot.start_time), end=_hm(slot.end_time))
    if arrival is not None and not slot.start_time < arrival < slot.end_time:
        raise ServiceError(_("L'heure d'arrivée doit se situer %(span)s.", span=span), "arrival_time")
    if departure is not None and not slot.start_time < departure < slot.end_time:
        raise ServiceError(_("L'heure de départ doit se situer %(span)s.", span=span), "departure_time")
    if arrival is not None and departure is not None and arrival >= departure:
        raise ServiceError(_("L'heure d'arrivée (%(arrival)s) doit précéder l'heure de départ (%(departure)s).",
                             arrival=_hm(arrival), departure=_hm(departure)), "arrival_time")
    begin, end = arrival or slot.start_time, departure or slot.end_time
    return (end.hour * 60 + end.minute) - (begin.hour * 60 + begin.minute)


def _hm(value: time) -> str:
    return f"{value.hour}h{value.minute:02d}"


# --- signature images -----------------------------------------------------------------------------

def decode_signature(data_url: str | None) -> bytes:
    """The PNG bytes to store for a signature pad's data URL (text), or a ServiceError: a real, bounded, non-blank
    PNG whose ink shows on paper (some pixels dark enough once the image is laid on white, as the sheets print
    it: an almost transparent or a white stroke is refused). What is returned is the drawing re-encoded
    (images.reencoded: first frame only, 8-bit, nothing after its end, no text or metadata), never the bytes
    posted; a header saying more than MAX_SIGNATURE_SIDE pixels a side is refused before any pixel is decoded."""
    if not data_url:
        raise ServiceError(_("Signez dans le cadre avant de valider."), "signature")
    if not isinstance(data_url, str) or not data_url.startswith(PNG_DATA_URL):
        raise ServiceError(_("La signature reçue n'est pas une image PNG."), "signature")
    encoded = data_url[len(PNG_DATA_URL):]
    if len(encoded) > (MAX_SIGNATURE_BYTES * 4) // 3 + 4:
        raise ServiceError(_("L'image de la signature est trop lourde."), "signature")
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(_("La signature reçue n'est pas une image PNG."), "signature") from None
    if uploads.detect(content, ("png",)) != "png":
        raise ServiceError(_("La signature reçue n'est pas une image PNG."), "signature")
    try:
        plain = images.reencoded(content, ("png",), MAX_SIGNATURE_SIDE)
    except images.TooLarge:
        raise ServiceError(_("La signature reçue n'est pas une image PNG de taille raisonnable."),
                           "signature") from None
    except images.Unreadable:
        raise ServiceError(_("La signature reçue n'est pas une image PNG."), "signature") from None
    rgba = plain.image if plain.image.mode == "RGBA" else plain.image.convert("RGBA")
    low, high = rgba.convert("L").getextrema()
    if rgba.getchannel("A").getbbox() is None or (low == high and rgba.getchannel("A").getextrema()[0] == 255):
        raise ServiceError(_("La signature est vide : signez dans le cadre."), "signature")
    on_paper = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("L")
    if sum(on_paper.histogram()[:INK_LEVEL]) < MIN_INK_PIXELS:
        raise ServiceError(_("La signature est vide ou invisible : signez dans le cadre."), "signature")
    return plain.content


def signature_to_redraw(data_url: str | None) -> str:
    """The pad's data URL to draw again on the page that refused what it was posted with (a sheet's closing):
    `data_url` itself if decode_signature accepts it (a PNG data URL: nothing but base64 after its prefix),
    else "" — what else was posted is never put back into the page."""
    try:
        decode_signature(data_url)
    except ServiceError:
        return ""
    return data_url


# --- room QR codes --------------------------------------------------------------------------------

def _qr_serializer(salt: str = QR_SALT) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _epoch_seconds() -> int:
    return int((utcnow() - EPOCH).total_seconds())


def qr_token(slot: Slot) -> str:
    """What the room's QR code carries: the half-day and the current minute, signed. Never who signs."""
    return _qr_serializer().dumps({"s": slot.id, "w": _epoch_seconds() // QR_ROTATION_SECONDS})


def slot_from_qr(token: str) -> Slot | None:
    """The half-day of a room QR code shown this minute or the previous one; None otherwise."""
    try:
        data = _qr_serializer().loads(token or "")
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        return None
    if data.get("w") not in (_epoch_seconds() // QR_ROTATION_SECONDS - i for i in range(2)):
        return None
    return db.session.get(Slot, data["s"])


def qr_pass(slot: Slot, trainee: Trainee) -> str:
    """Proof that this trainee's phone scanned the room's QR code of this half-day just now."""
    return _qr_serializer(QR_PASS_SALT).dumps({"s": slot.id, "t": trainee.id, "at": _epoch_seconds()})


def scanned_in_room(slot: Slot, trainee: Trainee, qr: str) -> bool:
    """Whether `qr` is the room's QR code of this half-day (still valid) or a pass for this trainee."""
    if not qr:
        return False
    scanned = slot_from_qr(qr)
    if scanned is not None:
        return scanned.id == slot.id
    try:
        data = _qr_serializer(QR_PASS_SALT).loads(qr)
    except BadSignature:
        return False
    return (isinstance(data, dict) and data.get("s") == slot.id and data.get("t") == trainee.id
            and isinstance(data.get("at"), int) and 0 <= _epoch_seconds() - data["at"] <= QR_PASS_MAX_AGE)


def qr_png(url: str) -> bytes:
    import qrcode

    out = io.BytesIO()
    qrcode.make(url, box_size=10, border=2).save(out, format="PNG")
    return out.getvalue()


# --- writing --------------------------------------------------------------------------------------

def _lock(slot: Slot) -> AttendanceSheet:
    """Lock the session row, then the slot row, until the end of the transaction; return the slot's sheet
    (created when missing).

    The session row first: withdrawals, moves and the cancellation of the session change the enrolments and
    the session under that lock (services/enrolments.lock_session), so what is checked after _lock is what
    they committed; and taking it first, as they do, keeps two paths from each waiting for the other's lock.
    """
    lock_session(slot.session_id)
    locked = db.session.scalar(select(Slot).where(Slot.id == slot.id).with_for_update())
    if locked is None:
        raise ServiceError(_("Cette demi-journée n'existe plus."))
    sheet = db.session.scalar(select(AttendanceSheet).where(AttendanceSheet.slot_id == slot.id)
                              .execution_options(populate_existing=True))
    if sheet is None:
        sheet = AttendanceSheet(slot=locked, status=SheetStatus.OPEN, version=0)
        db.session.add(sheet)
        db.session.flush()
    return sheet


def _closed_error() -> ServiceError:
    return ServiceError(_("La feuille de cette demi-journée est close : seul·e un·e administrateur·rice peut la "
                          "corriger, avec un motif."))


def _record(slot: Slot, enrolment: Enrolment) -> AttendanceRecord | None:
    return db.session.scalar(select(AttendanceRecord).where(
        AttendanceRecord.slot_id == slot.id, AttendanceRecord.enrolment_id == enrolment.id)
        .execution_options(populate_existing=True))


def _signature_of(slot: Slot, enrolment: Enrolment) -> Signature | None:
    """The trainee's valid (not voided) signature on the half-day."""
    return db.session.scalar(select(Signature).where(
        Signature.slot_id == slot.id, Signature.enrolment_id == enrolment.id, Signature.voided_at.is_(None)))


def _fresh(enrolment: Enrolment) -> Enrolment:
    """The enrolment as committed now (call under _lock: its status is then stable)."""
    return db.session.scalar(select(Enrolment).where(Enrolment.id == enrolment.id)
                             .execution_options(populate_existing=True))


def _check_enrolment(slot: Slot, enrolment: Enrolment, marking: bool = False, correcting: bool = False) -> None:
    """Only a confirmed enrolment signs. Marking also reaches a trainee who withdrew later, on a half-day
    before the withdrawal day (they were expected there: totals_for_session plans it), and corrects a withdrawn
    one who already has a record on the half-day. A cancelled (or moved, or not confirmed) enrolment kept on the
    sheet by a record is not marked: nothing is expected of it (EXPECTED_STATUSES); but its record is still
    corrected by an administrator's correction of the closed sheet (`correcting`: the sheet and totals count it,
    e.g. marked present at 13:50 then cancelled, before attendance_begun refused that)."""
    name = enrolment.trainee.full_name
    if enrolment.session_id != slot.session_id:
        raise ServiceError(_("%(name)s n'est pas inscrit·e à cette session.", name=name))
    withdrawn = enrolment.status == EnrolmentStatus.WITHDRAWN
    withdrawn_later = withdrawn and not after_withdrawal(slot, enrolment.withdrawn_on)
    if enrolment.status != EnrolmentStatus.CONFIRMED and not (
            marking and (withdrawn or correcting) and (withdrawn_later or _record(slot, enrolment))):
        raise ServiceError(_("L'inscription %(of_name)s n'est pas confirmée : on ne peut pas l'émarger.",
                             of_name=de(name)))


def sign(slot: Slot, enrolment: Enrolment, data_url: str | None, *, method: str, ip_address: str = "",
         user_agent: str = "", actor: User | None = None, as_trainee: bool = False) -> Signature:
    """A trainee's signature on a half-day: inside the signing window, once, on an open sheet.

    The times already marked agree with the signature, as mark() keeps them (_check_times_against): a late
    arrival marked after the signature's time is brought back to it (the signature proves the trainee there
    then: _arrived_when_signed); a departure marked before it is refused, the trainee being recorded as gone
    (a signature drawn after leaving, or from home through the personal link, proves nothing of the hours
    missed): the trainer corrects the departure first, if the trainee came back.

    `as_trainee`: the trainee signs on their own page, and a refusal speaks to them ("vous"), not to the trainer."""
    image = decode_signature(data_url)
    sheet = _lock(slot)  # then check: a withdrawal or a cancellation committed meanwhile is seen
    enrolment = _fresh(enrolment)
    _check_enrolment(slot, enrolment)
    name = enrolment.trainee.full_name
    _refuse_cancelled(slot)
    _refuse_signing_after_the_fact(slot)
    if sheet.is_closed:
        raise _closed_error()
    if not is_signing_open(slot):
        raise ServiceError(_("La signature de cette demi-journée est ouverte de %(opens)s à %(closes)s seulement.",
                             opens=_window_text(signing_window(slot)[0]), closes=_hm(slot.end_time)), "signature")
    if _signature_of(slot, enrolment) is not None:
        raise ServiceError(_already_signed(name, as_trainee), "signature")
    record = _record(slot, enrolment)
    if record is not None and record.is_absent:
        raise ServiceError(_("Vous êtes noté·e absent·e sur cette demi-journée. Adressez-vous au / à la "
                             "formateur·rice.") if as_trainee else
                           _("%(name)s est marqué·e absent·e sur cette demi-journée : changez d'abord son statut.",
                             name=name), "signature")
    now = utcnow()
    signed = _minute(now)
    if record is not None and record.departure_time is not None and record.departure_time < signed:
        raise ServiceError(_("Vous êtes noté·e parti·e à %(departure)s sur cette demi-journée : vous ne pouvez plus "
                             "la signer. Adressez-vous au / à la formateur·rice.", departure=_hm(record.departure_time))
                           if as_trainee else
                           _("%(name)s est noté·e parti·e à %(departure)s sur cette demi-journée : corrigez d'abord "
                             "son heure de départ.", name=name, departure=_hm(record.departure_time)), "signature")
    signature = Signature(slot_id=slot.id, enrolment_id=enrolment.id, signer_name=name, signed_at=now,
                          method=method, ip_address=(ip_address or "")[:45], user_agent=(user_agent or "")[:400],
                          image=image, image_sha256=hashlib.sha256(image).hexdigest())
    db.session.add(signature)
    details = {"enrolment_id": enrolment.id, "trainee": name, "method": method, "slot": _describe(slot)}
    if record is None:
        db.session.add(AttendanceRecord(slot_id=slot.id, enrolment_id=enrolment.id, status=AttendanceStatus.PRESENT,
                                        minutes_attended=slot.minutes, updated_by_id=actor.id if actor else None))
    elif record.arrival_time is not None and record.arrival_time > signed:
        details.update(before=_record_state(record), after=_arrived_when_signed(slot, record, signed, actor))
    _flush_or_refuse(_already_signed(name, as_trainee))
    audit.record(sheet, "signed", actor=actor, actor_label="" if actor else _("%(name)s (stagiaire)", name=name),
                 details=details)
    return signature


def _minute(moment: datetime) -> time:
    """The local time of a UTC `moment`, to the minute, as the sheets print a signature's time."""
    return to_local(moment).time().replace(second=0, microsecond=0)


def _arrived_when_signed(slot: Slot, record: AttendanceRecord, signed: time, actor: User | None) -> dict:
    """A trainee marked late (arrival expected or guessed) signs before that arrival: the signature proves them
    there at `signed`, so the arrival becomes the signature's time, or none when they signed before the start (no
    lateness left: present, or still leaving early). The minutes follow; the caller's audit entry keeps the
    record before and after (sign)."""
    arrival = signed if signed > slot.start_time else None
    status = record.status
    if arrival is None and status == AttendanceStatus.LATE:
        status = AttendanceStatus.LEFT_EARLY if record.departure_time is not None else AttendanceStatus.PRESENT
    record.status, record.arrival_time = status, arrival
    record.minutes_attended = attended_minutes(slot, status, arrival, record.departure_time)
    record.updated_by_id = actor.id if actor else None
    return _record_state(record)


def _already_signed(name: str, as_trainee: bool) -> str:
    if as_trainee:
        return _("Vous avez déjà signé cette demi-journée.")
    return _("%(name)s a déjà signé cette demi-journée.", name=name)


def _window_text(moment: datetime) -> str:
    return _hm(moment.time())


def trainee_enrolment(slot: Slot, trainee: Trainee) -> Enrolment | None:
    """The trainee's own confirmed enrolment in the slot's session, if any."""
    return db.session.scalar(select(Enrolment).where(
        Enrolment.session_id == slot.session_id, Enrolment.trainee_id == trainee.id,
        Enrolment.status == EnrolmentStatus.CONFIRMED))


def sign_as_trainee(slot: Slot, trainee: Trainee, data_url: str | None, *, qr: str = "", ip_address: str = "",
                    user_agent: str = "") -> Signature:
    """A trainee signs for themself, identified by their own personal link (never by the QR code).

    With the room's QR code of this half-day (scanned in the last two minutes, or the pass the
    room page gave this trainee) the method is "qr"; without it, only remote and mixed sessions
    accept a signature through the personal link alone. There, a QR code that no longer holds (the
    pass of a scan made more than QR_PASS_MAX_AGE ago) is ignored: the personal link is enough.
    """
    enrolment = trainee_enrolment(slot, trainee)
    if enrolment is None:
        raise ServiceError(_("Vous n'avez pas d'inscription confirmée à cette session : vous ne pouvez pas signer."))
    if qr and scanned_in_room(slot, trainee, qr):
        method = SignatureMethod.QR
    elif slot.session.modality != Modality.IN_PERSON:
        method = SignatureMethod.PERSONAL_LINK
    elif qr:
        raise ServiceError(_("Ce QR code ne correspond pas à cette demi-journée ou a expiré : scannez celui "
                             "affiché en ce moment dans la salle."), "signature")
    else:
        raise ServiceError(_("Pour une session en présentiel, scannez le QR code affiché dans la salle pour "
                             "signer."), "signature")
    return sign(slot, enrolment, data_url, method=method, ip_address=ip_address, user_agent=user_agent,
                as_trainee=True)


def mark(slot: Slot, enrolment: Enrolment, status: str, *, actor: User, arrival: time | None = None,
         departure: time | None = None, justification: str = "", document=None, reason: str = "") -> AttendanceRecord:
    """Set a trainee's status on a half-day. On a closed sheet only an administrator may, with a reason.

    A trainer marks on the half-day's day only (until trainer_signing_over, as they sign the sheet): what they
    mark then is what their signature of the sheet vouches for. Afterwards, changes are the office's.

    A signed trainee's times agree with their signature: arrived at or before it, left at or after it.
    A half-day over (or closed) before the trainee's enrolment was confirmed (before_enrolment) is not theirs
    to be marked on, but by an administrator's correction of the closed sheet, with a reason.

    Marking absent a trainee who signed voids their signature (see _void_signature): it was made in the
    wrong row (the trainer opened this trainee's row and someone else signed). That takes a reason."""
    if status not in set(AttendanceStatus):
        raise ServiceError(_("Choisissez un statut."), "status")
    name = enrolment.trainee.full_name
    if status not in (AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY):
        arrival = departure = None  # a late arrival may also leave early, and the other way round
    minutes = attended_minutes(slot, status, arrival, departure)
    justification = (justification or "").strip()
    upload = None
    if status == AttendanceStatus.ABSENT_JUSTIFIED and document is not None and getattr(document, "filename", ""):
        upload = uploads.check_upload(document, UPLOAD_KINDS, _upload_max_bytes())
    sheet = _lock(slot)  # then check: a withdrawal, a move or a cancellation committed meanwhile is seen
    _refuse_cancelled(slot)
    enrolment = _fresh(enrolment)
    correcting = sheet.is_closed
    _check_enrolment(slot, enrolment, marking=True, correcting=correcting and actor.is_admin)
    reason = (reason or "").strip()
    if correcting:
        if not actor.is_admin:
            raise _closed_error()
        if not reason:
            raise ServiceError(_("Indiquez le motif de la correction."), "reason")
    elif local_now() < signing_window(slot)[0]:
        raise ServiceError(_("Cette demi-journée n'a pas encore commencé : on ne peut pas encore l'émarger."))
    elif not actor.is_admin and trainer_signing_over(slot):
        raise _day_over_error()
    record = _record(slot, enrolment)
    if record is None and not correcting and before_enrolment(slot, enrolment.confirmed_at, _closed_at(sheet)):
        # the sheet does not show them (slot_sheet): nothing was expected of them there, not even an absence
        raise ServiceError(_("%(name)s n'était pas encore inscrit·e pour cette demi-journée (inscription confirmée "
                             "le %(when)s) : on ne peut pas l'émarger.", name=name,
                             when=datetime_fr(to_local(enrolment.confirmed_at))))
    if status == AttendanceStatus.ABSENT_JUSTIFIED and not justification:
        # left blank, a justified absence keeps its reason (the open sheet does not show it: see the sheet page)
        justification = record.justification if record is not None and record.status == status else ""
        if not justification:
            raise ServiceError(_("Indiquez le motif de l'absence justifiée."), "justification")
    signature = _signature_of(slot, enrolment)
    if signature is not None and status in ABSENT_STATUSES:
        _void_signature(slot, sheet, signature, actor, reason)
    elif signature is not None:
        _check_times_against(signature, arrival, departure)
    before = _record_state(record)
    if record is None:
        record = AttendanceRecord(slot_id=slot.id, enrolment_id=enrolment.id)
        db.session.add(record)
    record.status, record.arrival_time, record.departure_time = status, arrival, departure
    record.minutes_attended = minutes
    if status == AttendanceStatus.ABSENT_JUSTIFIED:
        record.justification = justification
        if upload is not None:
            content, kind = upload
            record.justification_path = storage.save("attendance/justifications", f"justificatif.{kind}", content)
            record.justification_kind = kind
    else:
        record.justification, record.justification_path, record.justification_kind = "", "", ""
    record.updated_by_id = actor.id
    db.session.flush()
    details = {"enrolment_id": enrolment.id, "trainee": name, "slot": _describe(slot),
               "before": before, "after": _record_state(record)}
    audit.record(sheet, "corrected" if correcting else "marked", actor=actor, reason=reason, details=details)
    if correcting:
        _new_version(sheet, "corrected", actor, reason)
    return record


def mark_unmarked_absent(slot: Slot, actor: User, enrolment_ids) -> list[AttendanceRecord]:
    """Mark absent without justification, in one go, the trainees of an open sheet whom nobody signed nor marked
    (SlotSheet.unmarked) among `enrolment_ids`, the ones the trainer saw listed and confirmed: neither someone
    who signed or was marked meanwhile, nor someone the trainer did not see. Each goes through mark(), under
    the same lock and rules as one absence, with the same audit entry. Refused on a closed sheet (an
    administrator corrects it row by row, with a reason) and for a user who is neither a trainer of the
    session nor an administrator."""
    if not (actor.is_admin or slot.session.has_trainer(actor)):
        raise ServiceError(_("Seul·e un·e formateur·rice de la session ou un·e administrateur·rice émarge cette "
                             "feuille."))
    sheet = _lock(slot)  # then read who is unmarked: a signature or a mark committed meanwhile is seen
    _refuse_cancelled(slot)
    if sheet.is_closed:
        raise _closed_error()
    wanted = {int(i) for i in enrolment_ids}
    rows = [r for r in slot_sheet(slot).unmarked if r.enrolment.id in wanted]
    if not rows:
        raise ServiceError(_("Personne n'est plus à marquer absent·e : tout le monde a signé ou a un statut."))
    return [mark(slot, row.enrolment, AttendanceStatus.ABSENT_UNJUSTIFIED, actor=actor) for row in rows]


def day_over_message() -> str:
    """What a trainer is told of an open sheet after its half-day's day (mark, close_slot, the sheet page)."""
    return _("Le jour de cette demi-journée est passé : sa feuille ne se modifie et ne se clôt plus que par "
             "l'administration. Adressez-vous à un·e administrateur·rice.")


def _day_over_error() -> ServiceError:
    return ServiceError(day_over_message())


def _check_times_against(signature: Signature, arrival: time | None, departure: time | None) -> None:
    """Refuse an arrival later than the trainee's signature, or a departure earlier (to the minute, as the
    sheets print them): the sheet would say both."""
    signed = _minute(signature.signed_at)
    if arrival is not None and arrival > signed:
        raise ServiceError(_("%(name)s a signé à %(signed)s : son heure d'arrivée (%(arrival)s) ne peut pas être "
                             "plus tardive.", name=signature.signer_name, signed=_hm(signed),
                             arrival=_hm(arrival)), "arrival_time")
    if departure is not None and departure < signed:
        raise ServiceError(_("%(name)s a signé à %(signed)s : son heure de départ (%(departure)s) ne peut pas "
                             "la précéder.", name=signature.signer_name, signed=_hm(signed),
                             departure=_hm(departure)), "departure_time")


def _void_signature(slot: Slot, sheet: AttendanceSheet, signature: Signature, actor: User, reason: str) -> None:
    """Void a trainee's signature (the caller marks them absent): kept with its image, when, by whom and why,
    shown as voided on the sheet, its versions and documents; it no longer counts as attendance."""
    name = signature.signer_name
    if not reason:
        raise ServiceError(_("%(name)s a signé cette demi-journée. Pour un retard ou un départ anticipé, choisissez "
                             "ce statut ; si la signature a été faite sur sa ligne par quelqu'un d'autre, indiquez "
                             "le motif de son annulation.", name=name), "reason")
    signature.voided_at, signature.voided_by_id, signature.voided_reason = utcnow(), actor.id, reason
    db.session.flush()
    audit.record(sheet, "signature_voided", actor=actor, reason=reason, details={
        "enrolment_id": signature.enrolment_id, "trainee": name, "slot": _describe(slot),
        "signature_id": signature.id, "signed_at": signature.signed_at.isoformat(timespec="seconds"),
        "method": signature.method, "image_sha256": signature.image_sha256})


def close_slot(slot: Slot, actor: User, signature_data_url: str | None = None, *, reason: str = "",
               ip_address: str = "", user_agent: str = "") -> AttendanceSheet:
    """The trainer signs (if not done yet) and closes the sheet, which is then locked.

    A trainer closes on the half-day's day only (as they mark and sign: trainer_signing_over); afterwards only
    an administrator does, scan or not. Without a trainer's signature (nor a paper scan that stands for it:
    scan_stands_for_trainer) once the half-day's day is over, when no trainer can sign any more, an
    administrator closes it with a `reason`: the sheet, its versions and its documents say it was closed by
    the office without the trainer's signature, and why."""
    image = decode_signature(signature_data_url) if signature_data_url else None
    sheet = _lock(slot)  # then check: a cancellation committed meanwhile is seen
    _refuse_cancelled(slot)
    if sheet.is_closed:
        raise ServiceError(_("Cette feuille est déjà close."))
    if not signs_in_app(slot.session) and not sheet.scan_path:  # its only evidence of the signatures
        raise ServiceError(_("Joignez d'abord le scan de la feuille papier signée : pour une session saisie a "
                             "posteriori, il tient lieu des signatures des stagiaires et du / de la "
                             "formateur·rice."))
    now = local_now()
    too_early = closing_too_early(slot, now)
    if too_early:
        raise ServiceError(too_early)
    if image is not None:
        _sign_as_trainer(slot, actor, image, ip_address, user_agent, now)
    if not actor.is_admin and trainer_signing_over(slot, now):
        raise _day_over_error()
    data = slot_sheet(slot)
    by_office = not data.trainer_signatures and not scan_stands_for_trainer(sheet)
    reason = (reason or "").strip() if by_office else ""
    # Every blocker in one refusal: not one, then the next once that one is settled. Each advice is said once,
    # the trainees left grouped by what they lack (as the sheet lists them beside its closing button: sheet.html).
    blockers = [_trainees_left_text(data)] if data.to_settle else []
    if by_office and not (actor.is_admin and trainer_signing_over(slot, now)):
        blockers.append(_("Signez aussi la feuille (formateur·rice).") if blockers
                        else _("Signez la feuille (formateur·rice) avant de la clore."))
    if blockers:
        raise ServiceError(" ".join(blockers), None if data.to_settle else "signature")
    if by_office and not reason:
        raise ServiceError(_("La réouverture a annulé la signature du / de la formateur·rice et il est trop tard "
                             "pour signer à nouveau : indiquez le motif de la clôture par l'administration.")
                           if was_reopened(sheet) else
                           _("Aucun·e formateur·rice n'a signé cette feuille le jour de la demi-journée et il est "
                             "trop tard pour le faire : indiquez le motif de la clôture par l'administration."),
                           "reason")
    sheet.status, sheet.closed_at, sheet.closed_by_id = SheetStatus.CLOSED, utcnow(), actor.id
    sheet.office_closing_reason = reason
    db.session.flush()
    audit.record(sheet, "closed", actor=actor, from_state=SheetStatus.OPEN, to_state=SheetStatus.CLOSED,
                 reason=reason, details={"slot": _describe(slot), "without_trainer_signature": by_office})
    _new_version(sheet, "closed_by_office" if by_office else "closed", actor, reason)
    return sheet


def _trainees_left_text(data: "SlotSheet") -> str:
    """What close_slot says of the trainees neither marked nor signed: one advice, their names by what they lack."""
    unmarked, unsigned = (", ".join(r.name for r in rows) for rows in (data.unmarked, data.unsigned))
    if not data.unsigned:
        return _("Avant de clore, faites signer ou marquez absent·e : %(names)s.", names=unmarked)
    if not data.unmarked:
        return _("Signature manquante pour : %(names)s. Faites signer ou marquez absent·e.", names=unsigned)
    return " ".join((_("Avant de clore, faites signer ou marquez absent·e."),
                     ngettext("Non émargé·e : %(names)s.", "Non émargé·es : %(names)s.", len(data.unmarked),
                              names=unmarked),
                     ngettext("Signature manquante : %(names)s.", "Signatures manquantes : %(names)s.",
                              len(data.unsigned), names=unsigned)))


def was_reopened(sheet: AttendanceSheet | None) -> bool:
    """Whether an open sheet was closed, then reopened: its first version is kept at its first closing
    (_new_version), so an open sheet with a version was reopened since."""
    return sheet is not None and not sheet.is_closed and sheet.version > 0


def trainer_signed(slot: Slot) -> bool:
    """Whether a trainer's signature (not voided) is on the half-day's sheet."""
    return db.session.scalar(select(select(Signature.id).where(
        Signature.slot_id == slot.id, Signature.trainer_id.is_not(None), Signature.voided_at.is_(None)).exists()))


def scan_stands_for_trainer(sheet: AttendanceSheet | None) -> bool:
    """Whether the sheet's paper scan stands for the trainer's signature of the half-day.

    A paper scan is the sheet the room signed on paper, trainees and trainer, on the day: it stands for the
    trainees' signatures missing in the application (close_slot, _cell_state) and for the trainer's, of the
    sheet as it was then. A reopening undoes what vouched for the closed sheet, the trainer's signature on
    paper as much as in the application (reopen_slot voids the latter): once reopened, closing again takes a
    trainer's new signature of the day, or the office's closing with a reason, scan or not."""
    return sheet is not None and bool(sheet.scan_path) and not was_reopened(sheet)


def _sign_as_trainer(slot: Slot, actor: User, image: bytes, ip_address: str, user_agent: str,
                     now: datetime) -> Signature:
    if not slot.session.has_trainer(actor):
        raise ServiceError(_("Seul·e un·e formateur·rice de la session signe la feuille."), "signature")
    _refuse_signing_after_the_fact(slot)
    if not signing_window(slot)[0] <= now <= _trainer_window_closes(slot):
        raise ServiceError(_("La feuille se signe le jour même de la demi-journée : un·e administrateur·rice peut "
                             "maintenant la clore sans votre signature, avec un motif."), "signature")
    if db.session.scalar(select(Signature.id).where(Signature.slot_id == slot.id, Signature.trainer_id == actor.id,
                                                     Signature.voided_at.is_(None))) is not None:
        raise ServiceError(_("Vous avez déjà signé cette feuille."), "signature")
    signature = Signature(slot_id=slot.id, trainer_id=actor.id, signer_name=actor.name, signed_at=utcnow(),
                          method=SignatureMethod.DEVICE, ip_address=(ip_address or "")[:45],
                          user_agent=(user_agent or "")[:400], image=image,
                          image_sha256=hashlib.sha256(image).hexdigest())
    db.session.add(signature)
    _flush_or_refuse(_("Vous avez déjà signé cette feuille."))
    return signature


def _flush_or_refuse(message: str) -> None:
    """Flush; a unique constraint that fires (a signature written meanwhile by another process)
    ends the transaction and refuses the operation."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(message, "signature") from None


def reopen_slot(slot: Slot, actor: User, reason: str) -> AttendanceSheet:
    """An administrator reopens a closed sheet, with a reason; the closed version stays in the history.

    The trainers' signatures vouched for the sheet as it was closed: the reopening voids them (kept, shown as
    voided, in the audit entry too), so closing again takes a new trainer's signature of the day, or after it an
    administrator's closing with a reason (close_slot)."""
    if not actor.is_admin:
        raise ServiceError(_("Seul·e un·e administrateur·rice peut rouvrir une feuille close."))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Indiquez le motif de la réouverture."), "reason")
    sheet = _lock(slot)
    if not sheet.is_closed:
        raise ServiceError(_("Cette feuille n'est pas close."))
    sheet.status, sheet.closed_at, sheet.closed_by_id = SheetStatus.OPEN, None, None
    sheet.office_closing_reason = ""  # the closed version keeps it
    voided = list(db.session.scalars(select(Signature).where(
        Signature.slot_id == slot.id, Signature.trainer_id.is_not(None), Signature.voided_at.is_(None))))
    for signature in voided:
        signature.voided_at, signature.voided_by_id = utcnow(), actor.id
        # Not the free-text reason, which may name a trainee: it stays in the audit entry and the version, where
        # the end of the retention period takes the names out (personal_data.expire_records); copied here and in
        # every later version's snapshot, it would outlive them.
        signature.voided_reason = _("Feuille rouverte (motif dans l'historique de la feuille)")
    db.session.flush()
    audit.record(sheet, "reopened", actor=actor, from_state=SheetStatus.CLOSED, to_state=SheetStatus.OPEN,
                 reason=reason, details={"slot": _describe(slot), "trainer_signatures_voided": [
                     {"signature_id": s.id, "trainer": s.signer_name,
                      "signed_at": s.signed_at.isoformat(timespec="seconds"), "image_sha256": s.image_sha256}
                     for s in voided]})
    _new_version(sheet, "reopened", actor, reason)
    return sheet


def attach_scan(slot: Slot, file_storage, actor: User, reason: str = "") -> AttendanceSheet:
    """An administrator attaches the scan of a paper sheet (PDF, JPEG or PNG, checked by content).

    Replacing the scan of a closed sheet needs a reason. A replaced scan is evidence: its file is
    never deleted, and its storage path stays in the audit entry and in the sheet's versions.
    """
    if not actor.is_admin:
        raise ServiceError(_("Seul·e un·e administrateur·rice peut joindre un scan."))
    reason = (reason or "").strip()
    content, kind = uploads.check_upload(file_storage, UPLOAD_KINDS, _upload_max_bytes())
    sheet = _lock(slot)
    _refuse_cancelled(slot)
    replaced = _scan_file(sheet)
    if sheet.is_closed and replaced["scan_file"] and not reason:
        raise ServiceError(_("Indiquez le motif du remplacement du scan : la feuille est close et le scan actuel "
                             "reste conservé dans l'historique."), "reason")
    sheet.scan_path = storage.save("attendance/scans", f"feuille-{slot.date:%Y%m%d}-{slot.start_time:%H%M}.{kind}",
                                   content)
    sheet.scan_kind, sheet.scan_uploaded_at = kind, utcnow()
    db.session.flush()
    action = "scan_replaced" if replaced["scan_file"] else "scan_attached"
    audit.record(sheet, action, actor=actor, reason=reason,
                 details={"slot": _describe(slot), "kind": kind, **_scan_file(sheet),
                          "replaced": replaced if replaced["scan_file"] else None})
    if sheet.is_closed:
        _new_version(sheet, action, actor, reason or _("Scan de la feuille papier joint."))
    return sheet


def _scan_file(sheet: AttendanceSheet) -> dict:
    """The stored scan of the paper sheet (kept in the history when a new scan replaces it)."""
    return {"scan_file": sheet.scan_path or None, "scan_kind": sheet.scan_kind or None,
            "scan_uploaded_at": sheet.scan_uploaded_at.isoformat(timespec="seconds")
            if sheet.scan_path and sheet.scan_uploaded_at else None}


def _upload_max_bytes() -> int:
    return int(current_app.config.get("ATTENDANCE_UPLOAD_MAX_BYTES") or DEFAULT_UPLOAD_MAX_BYTES)


def _describe(slot: Slot) -> str:
    return f"{slot.date:%d/%m/%Y} {slot.start_time:%H:%M}-{slot.end_time:%H:%M}"


def _record_state(record: AttendanceRecord | None) -> dict | None:
    if record is None:
        return None
    return {"status": record.status, "minutes": record.minutes_attended,
            "arrival": record.arrival_time.strftime("%H:%M") if record.arrival_time else None,
            "departure": record.departure_time.strftime("%H:%M") if record.departure_time else None,
            "justification": record.justification, **_justification_file(record)}


def _justification_file(record: AttendanceRecord | None) -> dict:
    """The stored justification document (kept in the history after a change of status clears it)."""
    if record is None or not record.justification_path:
        return {"justification_file": None, "justification_kind": None}
    return {"justification_file": record.justification_path, "justification_kind": record.justification_kind}


# --- versions -------------------------------------------------------------------------------------

def _new_version(sheet: AttendanceSheet, action: str, actor: User, reason: str) -> AttendanceSheetVersion:
    sheet.version += 1
    version = AttendanceSheetVersion(sheet_id=sheet.id, number=sheet.version, action=action, reason=reason,
                                     at=utcnow(), actor_id=actor.id, actor_name=actor.name,
                                     snapshot=snapshot(sheet.slot, sheet))
    db.session.add(version)
    db.session.flush()
    return version


def snapshot(slot: Slot, sheet: AttendanceSheet) -> dict:
    """The sheet as plain data: what a version keeps."""
    db.session.flush()
    data = slot_sheet(slot)
    return {
        "status": sheet.status,
        "office_closing_reason": sheet.office_closing_reason,
        "scan": bool(sheet.scan_path),
        **_scan_file(sheet),
        "trainers": [{"name": s.signer_name, "signed_at": s.signed_at.isoformat(timespec="seconds")}
                     for s in data.trainer_signatures],
        "trainers_voided": [{"name": s.signer_name, "signed_at": s.signed_at.isoformat(timespec="seconds"),
                             "voided_at": s.voided_at.isoformat(timespec="seconds"), "reason": s.voided_reason}
                            for s in data.voided_trainer_signatures],
        "rows": [{
            "enrolment_id": row.enrolment.id, "trainee": row.name,
            "status": row.record.status if row.record else None,
            "minutes": row.minutes,
            "arrival": row.record.arrival_time.strftime("%H:%M") if row.record and row.record.arrival_time else None,
            "departure": (row.record.departure_time.strftime("%H:%M")
                          if row.record and row.record.departure_time else None),
            "justification": row.record.justification if row.record else "",
            **_justification_file(row.record),
            "signed_at": row.signature.signed_at.isoformat(timespec="seconds") if row.signature else None,
            "method": row.signature.method if row.signature else None,
            "withdrawn_on": row.withdrawn_on.isoformat() if row.withdrawn_on else None,
            "voided": [{"signed_at": s.signed_at.isoformat(timespec="seconds"), "method": s.method,
                        "image_sha256": s.image_sha256, "voided_at": s.voided_at.isoformat(timespec="seconds"),
                        "voided_by": s.voided_by.name if s.voided_by else "", "reason": s.voided_reason}
                       for s in row.voided],
        } for row in data.rows],
    }


def versions(slot: Slot) -> list[AttendanceSheetVersion]:
    return list(db.session.scalars(
        select(AttendanceSheetVersion).join(AttendanceSheet).where(AttendanceSheet.slot_id == slot.id)
        .order_by(AttendanceSheetVersion.number)))


# --- reading: the slot sheet, the session grid, today's sessions -----------------------------------

@dataclass
class SheetRow:
    enrolment: Enrolment
    record: AttendanceRecord | None
    signature: Signature | None
    # The withdrawal day, on a half-day on or after it left without a record: unjustified absence in the
    # totals (after_withdrawal), neither signed nor marked any more.
    withdrawn_on: date | None = None
    voided: list[Signature] = field(default_factory=list)  # signatures made in this row, then voided

    @property
    def name(self) -> str:
        return self.enrolment.trainee.full_name

    @property
    def status(self) -> str | None:
        return self.record.status if self.record else None

    @property
    def minutes(self) -> int | None:
        return self.record.minutes_attended if self.record else None

    @property
    def is_absent(self) -> bool:
        return self.withdrawn_on is not None or (self.record is not None and self.record.is_absent)

    @property
    def expected(self) -> bool:
        """Whether the trainee is expected on the half-day: not when their enrolment was cancelled (or moved, or
        is not confirmed) though a record keeps them on the sheet; nothing is missing of them there."""
        return self.enrolment.status in EXPECTED_STATUSES

    @property
    def signature_missing(self) -> bool:
        return self.expected and self.signature is None and not self.is_absent


@dataclass
class SlotSheet:
    slot: Slot
    sheet: AttendanceSheet | None
    rows: list[SheetRow]
    trainer_signatures: list[Signature]  # valid ones
    voided_trainer_signatures: list[Signature] = field(default_factory=list)  # voided by a reopening

    @property
    def is_closed(self) -> bool:
        return self.sheet is not None and self.sheet.is_closed

    @property
    def has_scan(self) -> bool:
        return self.sheet is not None and bool(self.sheet.scan_path)

    @property
    def signed_count(self) -> int:
        return sum(1 for row in self.rows if row.signature is not None)

    @property
    def absent_count(self) -> int:
        return sum(1 for row in self.rows if row.is_absent)

    @property
    def unmarked(self) -> list[SheetRow]:
        """The rows nobody signed nor marked (mark_unmarked_absent)."""
        return [r for r in self.rows if r.record is None and r.withdrawn_on is None]

    @property
    def unsigned(self) -> list[SheetRow]:
        """The rows marked (present, late...) without the trainee's signature; a paper scan stands for them."""
        return [r for r in self.rows if r.record is not None and r.signature_missing and not self.has_scan]

    @property
    def to_settle(self) -> list[SheetRow]:
        """Who keeps the sheet from closing (close_slot), in the sheet's order."""
        blocking = {id(r) for r in self.unmarked + self.unsigned}
        return [r for r in self.rows if id(r) in blocking]


def _enrolments_on(session_id: int, slot_ids) -> list[Enrolment]:
    """The enrolments totals_for_session counts: confirmed and withdrawn ones (a trainee who withdrew before
    anyone marked them still counts, their half-days after the withdrawal as unjustified absence), and any
    other one with a record on those slots."""
    recorded = select(AttendanceRecord.enrolment_id).where(AttendanceRecord.slot_id.in_(slot_ids))
    return list(db.session.scalars(
        select(Enrolment).join(Enrolment.trainee)
        .options(contains_eager(Enrolment.trainee), joinedload(Enrolment.employer))  # the sheets print it
        .where(Enrolment.session_id == session_id,
               or_(Enrolment.status.in_((EnrolmentStatus.CONFIRMED, EnrolmentStatus.WITHDRAWN)),
                   Enrolment.id.in_(recorded)))
        .order_by(Trainee.last_name, Trainee.first_name, Enrolment.id)).unique())


def slot_sheet(slot: Slot) -> SlotSheet:
    """One half-day's sheet, in four queries whatever the number of trainees."""
    sheet = db.session.scalar(select(AttendanceSheet).where(AttendanceSheet.slot_id == slot.id))
    enrolments = _enrolments_on(slot.session_id, [slot.id])
    records = {r.enrolment_id: r for r in _records([slot.id])}
    signatures = list(db.session.scalars(select(Signature).where(Signature.slot_id == slot.id)
                                         .options(selectinload(Signature.voided_by))
                                         .order_by(Signature.signed_at, Signature.id)))
    by_enrolment = {s.enrolment_id: s for s in signatures if s.enrolment_id and not s.is_voided}
    voided = _voided_by_key(signatures)
    rows = []
    for enrolment in enrolments:
        record = records.get(enrolment.id)
        if record is None and before_enrolment(slot, enrolment.confirmed_at, _closed_at(sheet)):
            continue
        withdrawn_on = _span(enrolment).withdrawn_on
        rows.append(SheetRow(enrolment, record, by_enrolment.get(enrolment.id),
                             withdrawn_on if record is None and after_withdrawal(slot, withdrawn_on) else None,
                             voided.get((slot.id, enrolment.id), [])))
    return SlotSheet(slot, sheet, rows, [s for s in signatures if s.trainer_id and not s.is_voided],
                     [s for s in signatures if s.trainer_id and s.is_voided])


def _voided_by_key(signatures) -> dict[tuple[int, int], list[Signature]]:
    """{(slot id, enrolment id): [voided signatures, oldest first]}."""
    voided = {}
    for signature in sorted((s for s in signatures if s.is_voided), key=lambda s: (s.signed_at, s.id)):
        voided.setdefault((signature.slot_id, signature.enrolment_id), []).append(signature)
    return voided


@dataclass
class Correction:
    """An administrator's correction of a closed sheet, behind a trainee's current status there."""
    at: datetime  # UTC
    reason: str

    @property
    def day(self) -> date:
        return to_local(self.at).date()


@dataclass
class GridCell:
    slot: Slot
    record: AttendanceRecord | None
    signature: Signature | None
    # signed, missing, absent_justified, absent_unjustified, upcoming (not asked yet, or ever in a cancelled
    # session), paper, withdrawn, corrected, not_enrolled, not_expected (an enrolment not in EXPECTED_STATUSES),
    # recorded (such an enrolment's record of some minutes attended, without a signature: its status shows)
    state: str
    withdrawn_on: date | None = None  # the withdrawal day, on a "withdrawn" cell
    correction: Correction | None = None  # when the status comes from an administrator's correction
    voided: list[Signature] = field(default_factory=list)  # signatures made in this cell, then voided

    @property
    def status(self) -> str | None:
        return self.record.status if self.record else None


@dataclass
class GridRow:
    enrolment: Enrolment
    cells: list[GridCell]
    totals: AttendanceTotals

    @property
    def name(self) -> str:
        return self.enrolment.trainee.full_name


@dataclass
class SlotColumn:
    slot: Slot
    sheet: AttendanceSheet | None
    trainer_signatures: list[Signature] = field(default_factory=list)  # valid ones
    voided_trainer_signatures: list[Signature] = field(default_factory=list)  # voided by a reopening
    signed: int = 0
    missing: int = 0
    attended_minutes: int = 0
    trainer_missing: bool = False  # closing opened (closing_opens), no trainer signature nor scan_stands_for_trainer
    expected: bool = True  # its signatures are asked for (expects_attendance: not in a cancelled session)

    @property
    def is_closed(self) -> bool:
        return self.sheet is not None and self.sheet.is_closed

    @property
    def office_closing_reason(self) -> str:
        """Why the office closed it without a trainer's signature ("" when it did not)."""
        return self.sheet.office_closing_reason if self.is_closed else ""

    @property
    def trainer_on_paper(self) -> bool:
        """No trainer signed it in the application, the paper sheet's scan standing for their signature
        (scan_stands_for_trainer): the sheets say to look at the paper sheet, not an empty box."""
        return not self.trainer_signatures and scan_stands_for_trainer(self.sheet)


@dataclass
class SessionGrid:
    session: TrainingSession
    columns: list[SlotColumn]
    rows: list[GridRow]

    @property
    def expected(self) -> bool:
        return expects_attendance(self.session)

    @property
    def planned_minutes(self) -> int:
        return sum(c.slot.minutes for c in self.columns)

    @property
    def attended_minutes(self) -> int:
        return sum(r.totals.attended_minutes for r in self.rows)

    @property
    def missing(self) -> int:
        """Signatures missing: trainees' and trainers'."""
        return sum(c.missing + c.trainer_missing for c in self.columns)


def session_grid(session: TrainingSession, with_images: bool = False) -> SessionGrid:
    """Trainees × half-days with statuses, signatures, corrections and hours, in six queries whatever the size."""
    slots, closed = _session_slots(session.id)
    slot_ids = [s.id for s in slots]
    sheets = {s.slot_id: s for s in db.session.scalars(
        select(AttendanceSheet).where(AttendanceSheet.slot_id.in_(slot_ids)))}
    enrolments = _enrolments_on(session.id, slot_ids)
    records = _records(slot_ids)
    query = select(Signature).where(Signature.slot_id.in_(slot_ids)).options(selectinload(Signature.voided_by))
    if with_images:
        query = query.options(undefer(Signature.image))
    signatures = list(db.session.scalars(query))
    record_at = {(r.slot_id, r.enrolment_id): r for r in records}
    signature_at = {(s.slot_id, s.enrolment_id): s for s in signatures if s.enrolment_id and not s.is_voided}
    voided = _voided_by_key(signatures)
    now = local_now()
    expected = expects_attendance(session)
    columns = [SlotColumn(slot, sheets.get(slot.id), expected=expected) for slot in slots]
    for column in columns:
        trainers = sorted((s for s in signatures if s.trainer_id and s.slot_id == column.slot.id),
                          key=lambda s: (s.signed_at, s.id))
        column.trainer_signatures = [s for s in trainers if not s.is_voided]
        column.voided_trainer_signatures = [s for s in trainers if s.is_voided]
        column.trainer_missing = (expected and not column.trainer_signatures and now >= closing_opens(column.slot)
                                  and not scan_stands_for_trainer(column.sheet)
                                  and not column.office_closing_reason)
    corrections = _corrections([sheet.id for sheet in sheets.values()])
    spans = {e.id: _span(e) for e in enrolments}
    totals = _sum_totals(spans, slots, records, closed)
    rows = []
    for enrolment in enrolments:
        cells = []
        for column in columns:
            slot = column.slot
            record, signature = record_at.get((slot.id, enrolment.id)), signature_at.get((slot.id, enrolment.id))
            correction = corrections.get((column.sheet.id, enrolment.id)) if column.sheet and record else None
            state = _cell_state(column, record, signature, now, spans[enrolment.id], correction)
            column.signed += signature is not None
            column.missing += state == "missing"
            column.attended_minutes += record.minutes_attended if record else 0
            cells.append(GridCell(slot, record, signature, state,
                                  spans[enrolment.id].withdrawn_on if state == "withdrawn" else None, correction,
                                  voided.get((slot.id, enrolment.id), [])))
        rows.append(GridRow(enrolment, cells, totals[enrolment.id]))
    return SessionGrid(session, columns, rows)


def _corrections(sheet_ids: list[int]) -> dict[tuple[int, int], Correction]:
    """{(sheet id, enrolment id): Correction} where a trainee's latest change of status on that sheet
    was an administrator's correction of the closed sheet (one query)."""
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == AttendanceSheet.__tablename__, AuditEntry.entity_id.in_(sheet_ids),
        AuditEntry.action.in_(("marked", "corrected"))).order_by(AuditEntry.at, AuditEntry.id))
    latest = {}
    for entry in entries:
        key = (entry.entity_id, (entry.details or {}).get("enrolment_id"))
        latest[key] = Correction(entry.at, entry.reason) if entry.action == "corrected" else None
    return {key: correction for key, correction in latest.items() if correction is not None}


def _cell_state(column: SlotColumn, record, signature, now: datetime, span: Span,
                correction: Correction | None) -> str:
    if record is not None and record.is_absent:
        return record.status
    if signature is not None:
        return "signed"
    if column.sheet is not None and column.sheet.scan_path and record is not None:
        return "paper"
    if correction is not None:
        return "corrected"  # attended without a signature, on the administrator's word: not a missing signature
    if record is None and before_enrolment(column.slot, span.confirmed_at, _closed_at(column.sheet)):
        return "not_enrolled"
    if record is None and after_withdrawal(column.slot, span.withdrawn_on):
        return "withdrawn"
    if not span.expected:  # its enrolment was cancelled (or moved, or is not confirmed): nothing is missing,
        return "not_expected" if record is None else "recorded"  # but what was recorded shows, as the sheets print it
    if record is None and (not column.expected or now < signing_window(column.slot)[0]):
        return "upcoming"
    return "missing"


@dataclass
class TodaySession:
    session: TrainingSession
    slots: list[Slot]
    current: Slot
    sheets: dict[int, AttendanceSheet]

    def sheet_of(self, slot: Slot) -> AttendanceSheet | None:
        return self.sheets.get(slot.id)


def todays_sessions(user: User) -> list[TodaySession]:
    """The sessions `user` teaches (all of them for an administrator) with a half-day today."""
    now = local_now()
    query = (select(TrainingSession)
             .where(TrainingSession.id.in_(select(Slot.session_id).where(Slot.date == now.date())),
                    TrainingSession.status != SessionStatus.CANCELLED)
             .options(selectinload(TrainingSession.slots), joinedload(TrainingSession.programme))
             .order_by(TrainingSession.start_at))
    if not user.is_admin:
        query = query.where(TrainingSession.id.in_(
            select(session_trainers.c.session_id).where(session_trainers.c.user_id == user.id)))
    sessions = list(db.session.scalars(query).unique())
    today_slots = [slot for s in sessions for slot in s.slots if slot.date == now.date()]
    sheets = {s.slot_id: s for s in db.session.scalars(
        select(AttendanceSheet).where(AttendanceSheet.slot_id.in_([s.id for s in today_slots])))}
    result = []
    for session in sessions:
        slots = [slot for slot in session.slots if slot.date == now.date()]
        result.append(TodaySession(session, slots, _current(slots, now), sheets))
    return result


def _current(slots: list[Slot], now: datetime) -> Slot:
    """The half-day being signed now, else the next one today, else the last one."""
    for slot in slots:
        if is_signing_open(slot, now):
            return slot
    for slot in slots:
        if now < slot.starts_at:
            return slot
    return slots[-1]


def signable_slot(session: TrainingSession) -> Slot | None:
    """The half-day of `session` open for signatures right now, if any."""
    if not (expects_attendance(session) and signs_in_app(session)):
        return None
    now = local_now()
    return next((slot for slot in session.slots if is_signing_open(slot, now)), None)


def signature_image(session: TrainingSession, signature_id: int) -> Signature | None:
    """A signature of `session`, with its image."""
    return db.session.scalar(select(Signature).join(Slot, Slot.id == Signature.slot_id)
                             .where(Signature.id == signature_id, Slot.session_id == session.id)
                             .options(undefer(Signature.image)))
