"""Convocations: what a session's convocation says beyond the session itself, and when,
to whom and how each one was sent."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.edit_version import EditVersioned
from training_app.models.enrolments import Enrolment
from training_app.models.users import User


class ConvocationText(EditVersioned, db.Model):
    """Per-session texts of the convocation; empty fields fall back to the defaults. Their form is checked
    against `version` (services/edit_versions; a session without a row yet is at version 1)."""

    __tablename__ = "convocation_texts"

    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    what_to_bring: Mapped[str] = mapped_column(Text, default="")
    absence_procedure: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")  # a word from the office, opening the e-mail


class ConvocationSending(db.Model):
    """One convocation sent: when, to which address, by whom, how, the document sent and what it states."""

    __tablename__ = "convocation_sendings"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_to: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    document_path: Mapped[str] = mapped_column(String(300), default="")  # relative to STORAGE_DIR
    # What the document states that a later change of the session can make wrong (the half-days and
    # the place), hashed; "" for sendings recorded before it was kept.
    fingerprint: Mapped[str] = mapped_column(String(64), default="")

    enrolment: Mapped[Enrolment] = relationship()
    actor: Mapped[User | None] = relationship()

    @property
    def who(self) -> str:
        return self.actor.name if self.actor else self.actor_label
