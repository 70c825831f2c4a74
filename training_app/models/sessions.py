from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (CheckConstraint, Column, Date, DateTime, ForeignKey, Integer, String, Table,
                        Text, Time, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.programmes import Programme
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


class TrainingSession(db.Model):
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

    programme: Mapped[Programme] = relationship()
    slots: Mapped[list["Slot"]] = relationship(
        back_populates="session", order_by="(Slot.date, Slot.start_time)", cascade="all, delete-orphan")
    trainers: Mapped[list[User]] = relationship(secondary=session_trainers, order_by=User.name)

    @property
    def planned_minutes(self) -> int:
        return sum(slot.minutes for slot in self.slots)

    @property
    def title(self) -> str:
        return self.programme.title

    def has_trainer(self, user: User) -> bool:
        return any(t.id == user.id for t in self.trainers)

    def __repr__(self) -> str:
        return f"<TrainingSession {self.id} {self.start_at:%Y-%m-%d}>"


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
        return (self.end_time.hour * 60 + self.end_time.minute) - (self.start_time.hour * 60 + self.start_time.minute)

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
