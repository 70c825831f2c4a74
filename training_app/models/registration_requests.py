"""A request made on the public registration page, waiting for its address to be proven (double opt-in)."""
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.enrolments import Enrolment
from training_app.models.sessions import TrainingSession


class RegistrationRequest(db.Model):
    """What a person typed on the public registration page, and the link e-mailed to the address typed
    (services/registration_requests.py). It holds no seat and writes no trainee, employer or enrolment: only
    the confirmation, through that link, enrols (registrations.register_public). `flask purge-expired` deletes
    it once expired, confirmed or not (the enrolment holds the data once confirmed)."""

    __tablename__ = "registration_requests"
    __table_args__ = (
        # The session page's list of the requests still waiting for their confirmation.
        Index("ix_registration_requests_session_confirmed", "session_id", "confirmed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), index=True)  # normalised (registrations.normalise_email)
    # The rest of what was typed, cleaned (registrations.PersonDetails without the address).
    details: Mapped[dict] = mapped_column(JSON)
    funding_mode: Mapped[str] = mapped_column(String(30))
    # SHA-256 of the link's secret (registration_requests.token_hash): the secret itself is only in the e-mail.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # UTC, like every stored time
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # UTC: the link works until then
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The enrolment the confirmation made, or found (`duplicate`: the address already held a live enrolment in
    # the session, nothing new was written).
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"), index=True)
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)

    session: Mapped[TrainingSession] = relationship()
    enrolment: Mapped[Enrolment | None] = relationship()

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.details.get("first_name"), self.details.get("last_name")) if part)

    def __repr__(self) -> str:
        return f"<RegistrationRequest {self.id} {self.email}>"
