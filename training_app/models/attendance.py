"""Attendance (émargement): per half-day sheet, one record per trainee, signatures, versions.

- AttendanceSheet: the state of one slot's sheet (open / closed), its paper scan, its version.
- AttendanceRecord: one trainee's status on one slot and the minutes attended (one per
  enrolment and slot, enforced by a unique constraint).
- Signature: who signed which slot, when (UTC), how, from where, with the image (PNG, kept in
  the database so that the evidence and its image are written in one transaction). One valid
  valid signature per trainee per slot and one per trainer per slot, enforced by unique indexes.
  A trainee's signature made in the wrong row, and a trainer's when an administrator reopens the
  sheet, is voided (when, by whom, why), never deleted: it stays as evidence and no longer counts.
- AttendanceSheetVersion: append-only snapshots of a sheet at each close, reopen and correction.
"""
from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import (JSON, CheckConstraint, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, Time,
                        UniqueConstraint, event, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.enrolments import Enrolment
from training_app.models.sessions import Slot
from training_app.models.users import User


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    LATE = "late"                          # arrival_time set
    LEFT_EARLY = "left_early"              # departure_time set
    ABSENT_JUSTIFIED = "absent_justified"  # justification (reason, optional document)
    ABSENT_UNJUSTIFIED = "absent_unjustified"


ATTENDED_STATUSES = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)
ABSENT_STATUSES = (AttendanceStatus.ABSENT_JUSTIFIED, AttendanceStatus.ABSENT_UNJUSTIFIED)


class SignatureMethod(StrEnum):
    DEVICE = "device"                # on the trainer's tablet or laptop
    PERSONAL_LINK = "personal_link"  # the trainee's personal link (remote and mixed sessions)
    QR = "qr"                        # the room's QR code, opened with the trainee's personal link


class SheetStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class AttendanceSheet(db.Model):
    """The sheet of one half-day. Created on the first action on the slot; closed by a trainer."""

    __tablename__ = "attendance_sheets"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(SheetStatus)})", name="status"),
        CheckConstraint("version >= 0", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A slot can only be deleted before it starts (services/sessions), when there is no evidence yet.
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=SheetStatus.OPEN)
    version: Mapped[int] = mapped_column(Integer, default=0)  # number of the latest version kept
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The scan of a paper sheet (storage path), when the room used paper.
    scan_path: Mapped[str] = mapped_column(String(300), default="")
    scan_kind: Mapped[str] = mapped_column(String(10), default="")
    scan_uploaded_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Why an administrator closed it without a trainer's signature (too late for one); "" otherwise.
    office_closing_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    slot: Mapped[Slot] = relationship()
    closed_by: Mapped[User | None] = relationship()

    @property
    def is_closed(self) -> bool:
        return self.status == SheetStatus.CLOSED


class AttendanceRecord(db.Model):
    """One trainee on one half-day: status, times and the minutes actually attended."""

    __tablename__ = "attendance_records"
    __table_args__ = (
        UniqueConstraint("slot_id", "enrolment_id"),
        CheckConstraint(f"status IN ({_in(AttendanceStatus)})", name="status"),
        CheckConstraint("minutes_attended >= 0", name="minutes_positive"),
        CheckConstraint("arrival_time IS NULL OR departure_time IS NULL OR arrival_time < departure_time",
                        name="arrives_before_leaving"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"))  # unique (slot, ...) indexes it
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    arrival_time: Mapped[time | None] = mapped_column(Time)
    departure_time: Mapped[time | None] = mapped_column(Time)
    minutes_attended: Mapped[int] = mapped_column(Integer, default=0)
    justification: Mapped[str] = mapped_column(Text, default="")
    justification_path: Mapped[str] = mapped_column(String(300), default="")  # storage path
    justification_kind: Mapped[str] = mapped_column(String(10), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    slot: Mapped[Slot] = relationship()
    enrolment: Mapped[Enrolment] = relationship()

    @property
    def is_absent(self) -> bool:
        return self.status in ABSENT_STATUSES


_VALID_SQL = "voided_at IS NULL"


class Signature(db.Model):
    """A signature: a trainee's (enrolment_id) or a trainer's (trainer_id) on one half-day.

    A signature can be voided (voided_at, voided_by, voided_reason): a trainee's when they are marked absent with
    a reason (services/attendance.mark), a trainer's when an administrator reopens the sheet (reopen_slot: the
    closing it validated is undone). It is kept, shown as voided, and counts for nothing."""

    __tablename__ = "attendance_signatures"
    __table_args__ = (
        # One valid signature per trainee per slot (voided ones stay beside it).
        Index("uq_attendance_signatures_valid", "slot_id", "enrolment_id", unique=True,
              sqlite_where=text(_VALID_SQL), postgresql_where=text(_VALID_SQL)),
        # One valid signature per trainer per slot: a reopening voids it, the trainer signs the sheet again.
        Index("uq_attendance_signatures_trainer_valid", "slot_id", "trainer_id", unique=True,
              sqlite_where=text(_VALID_SQL), postgresql_where=text(_VALID_SQL)),
        CheckConstraint("(enrolment_id IS NULL AND trainer_id IS NOT NULL) OR "
                        "(enrolment_id IS NOT NULL AND trainer_id IS NULL)", name="one_signer"),
        CheckConstraint(f"method IN ({_in(SignatureMethod)})", name="method"),
        CheckConstraint("voided_at IS NULL OR voided_reason != ''", name="voided_with_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed on its own: the unique indexes above hold valid signatures only, and pages read voided ones too
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="RESTRICT"), index=True)
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    signer_name: Mapped[str] = mapped_column(String(200))  # as it was when signing
    signed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # UTC
    method: Mapped[str] = mapped_column(String(20))
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    image_sha256: Mapped[str] = mapped_column(String(64))
    image: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # PNG, size-bounded
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)  # UTC
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    voided_reason: Mapped[str] = mapped_column(Text, default="")

    slot: Mapped[Slot] = relationship()
    enrolment: Mapped[Enrolment | None] = relationship()
    trainer: Mapped[User | None] = relationship(foreign_keys=[trainer_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class AttendanceSheetVersion(db.Model):
    """An append-only snapshot of a sheet: written at each close, reopen and correction, never changed."""

    __tablename__ = "attendance_sheet_versions"
    __table_args__ = (UniqueConstraint("sheet_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("attendance_sheets.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # closed, reopened, corrected
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    snapshot: Mapped[dict] = mapped_column(JSON)

    sheet: Mapped[AttendanceSheet] = relationship()


@event.listens_for(AttendanceSheetVersion, "before_update")
def _versions_are_append_only(mapper, connection, target):
    raise RuntimeError("attendance sheet versions are append-only")


@event.listens_for(AttendanceSheetVersion, "before_delete")
def _versions_are_never_deleted(mapper, connection, target):
    raise RuntimeError("attendance sheet versions are append-only")
