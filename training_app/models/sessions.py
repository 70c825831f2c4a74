from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import cached_property

from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Integer, String, Table,
                        Text, Time, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.edit_version import EditVersioned
from training_app.models.programmes import Programme, ProgrammeObjective, competency_lines
from training_app.models.users import User


class Modality(StrEnum):
    IN_PERSON = "in_person"
    REMOTE = "remote"
    MIXED = "mixed"


class SessionStatus(StrEnum):
    PLANNED = "planned"
    OPEN = "open"            # open for enrolment
    FULL = "full"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


session_trainers = Table(
    "session_trainers",
    db.metadata,
    Column("session_id", ForeignKey("training_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class TrainingSession(EditVersioned, db.Model):
    """One run of a programme. Start and end are local wall-clock times."""

    __tablename__ = "training_sessions"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ends_after_start"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price_positive"),
        CheckConstraint("modality IN ('in_person', 'remote', 'mixed')", name="modality"),
        CheckConstraint(
            "status IN ('planned', 'open', 'full', 'running', 'completed', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="RESTRICT"), index=True)
    start_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    end_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    place: Mapped[str] = mapped_column(Text, default="")
    access_info: Mapped[str] = mapped_column(Text, default="")  # how to get there, accessibility
    modality: Mapped[str] = mapped_column(String(20), default=Modality.IN_PERSON)
    capacity: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=SessionStatus.PLANNED, index=True)
    contact_person: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # What the session was taught under, kept when the catalogue entry is edited after the session started
    # (services/programmes.save_programme); None: the session follows its programme (see `course`).
    taught_title: Mapped[str | None] = mapped_column(String(300))
    taught_objectives: Mapped[list | None] = mapped_column(JSON)  # [{"id": objective id, "text": ...}], in order
    taught_competencies: Mapped[str | None] = mapped_column(Text)  # one competency per line
    # Recorded once it had taken place, from its paper attendance sheets (« Session déjà réalisée »): its dates
    # may be past, the office enrols and enters each half-day's statuses from the paper sheet, whose scan stands
    # for the signatures; nobody signs its half-days in the application (services/attendance.signs_in_app).
    recorded_afterwards: Mapped[bool] = mapped_column(Boolean, default=False)

    programme: Mapped[Programme] = relationship()
    slots: Mapped[list["Slot"]] = relationship(
        back_populates="session", order_by="(Slot.date, Slot.start_time)", cascade="all, delete-orphan")
    trainers: Mapped[list[User]] = relationship(secondary=session_trainers, order_by=User.name)

    @property
    def planned_minutes(self) -> int:
        return sum(slot.minutes for slot in self.slots)

    @property
    def course(self) -> "CourseContent":
        """What this session teaches: its title, ordered objectives and competencies. Every document, outcome
        and certificate reads them here, never from the programme directly."""
        return CourseContent(self)

    @property
    def title(self) -> str:
        return self.course.title

    def has_trainer(self, user: User) -> bool:
        return any(t.id == user.id for t in self.trainers)

    def __repr__(self) -> str:
        return f"<TrainingSession {self.id} {self.start_at:%Y-%m-%d}>"


@dataclass(frozen=True)
class CourseObjective:
    """An objective as a session teaches it: the catalogue objective's id (outcomes are recorded against it;
    the row may have been removed from the catalogue since) and its text as taught."""
    id: int
    text: str


class CourseContent:
    """A session's course content: what was kept on the session when its catalogue entry was edited after
    it had started, otherwise the programme's current entry (upcoming sessions follow the catalogue).
    Objectives are read with one query (the programme itself is not loaded for them)."""

    def __init__(self, session: TrainingSession):
        self.session = session

    @property
    def kept(self) -> bool:
        return self.session.taught_title is not None

    @property
    def title(self) -> str:
        return self.session.taught_title if self.kept else self.session.programme.title

    @cached_property
    def objectives(self) -> list[CourseObjective]:
        if self.kept:
            return [CourseObjective(item["id"], item["text"]) for item in self.session.taught_objectives or []]
        return [CourseObjective(row.id, row.text) for row in db.session.execute(
            db.select(ProgrammeObjective.id, ProgrammeObjective.text)
            .where(ProgrammeObjective.programme_id == self.session.programme_id)
            .order_by(ProgrammeObjective.position))]

    @property
    def competencies(self) -> list[str]:
        session = self.session
        return competency_lines(session.taught_competencies if self.kept else session.programme.competencies)


class Slot(db.Model):
    """A half-day (demi-journée) of a session: a date, a start and an end time (local)."""

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("session_id", "date", "start_time"),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)

    session: Mapped[TrainingSession] = relationship(back_populates="slots")

    @property
    def minutes(self) -> int:
        return self.minutes_between(self.start_time, self.end_time)

    @staticmethod
    def minutes_between(start: time, end: time) -> int:
        """Minutes of a half-day from its times (for rows read without loading the slot)."""
        return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.date, self.start_time)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.date, self.end_time)

    @property
    def is_morning(self) -> bool:
        return self.start_time.hour < 12

    def __repr__(self) -> str:
        return f"<Slot {self.date} {self.start_time}-{self.end_time}>"
