"""Learning-outcome assessment (évaluation des acquis): per trainee and objective, and the session review."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.enrolments import Enrolment
from training_app.models.programmes import ProgrammeObjective
from training_app.models.sessions import TrainingSession
from training_app.models.users import User


class OutcomeResult(StrEnum):
    ACQUIRED = "acquired"
    PARTLY_ACQUIRED = "partly_acquired"
    NOT_ACQUIRED = "not_acquired"
    NOT_ASSESSED = "not_assessed"


class LearningOutcome(db.Model):
    """What a trainer recorded for one trainee (enrolment) and one objective of the programme."""

    __tablename__ = "learning_outcomes"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "objective_id"),
        CheckConstraint("result IN ('acquired', 'partly_acquired', 'not_acquired', 'not_assessed')",
                        name="result"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    objective_id: Mapped[int] = mapped_column(
        ForeignKey("programme_objectives.id", ondelete="CASCADE"), index=True)
    result: Mapped[str] = mapped_column(String(20), default=OutcomeResult.NOT_ASSESSED)
    comment: Mapped[str] = mapped_column(Text, default="")
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assessed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    enrolment: Mapped[Enrolment] = relationship()
    objective: Mapped[ProgrammeObjective] = relationship()
    assessed_by: Mapped[User | None] = relationship()


class SessionReview(db.Model):
    """The session's final review (bilan final oral), written by a trainer."""

    __tablename__ = "session_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_sessions.id", ondelete="CASCADE"), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    written_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    session: Mapped[TrainingSession] = relationship()
    written_by: Mapped[User | None] = relationship()
