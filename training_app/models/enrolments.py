from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.people import Employer, Trainee
from training_app.models.sessions import TrainingSession


class EnrolmentStatus(StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"


LIVE_STATUSES = (EnrolmentStatus.REQUESTED, EnrolmentStatus.CONFIRMED, EnrolmentStatus.WAITLISTED)
_LIVE_SQL = "status IN ('requested', 'confirmed', 'waitlisted')"
# The trainees a session's trainers teach: confirmed, and withdrawn (a withdrawal is dated from the first day on,
# so the trainee was in the group: on the sheets, assessed, certified for the hours attended). Trainers see these
# and no other enrolment of their sessions (training_app/access.may_see_enrolment).
TAUGHT_STATUSES = (EnrolmentStatus.CONFIRMED, EnrolmentStatus.WITHDRAWN)


class Enrolment(db.Model):
    """A trainee in a session. The status changes only through services/enrolments.py."""

    __tablename__ = "enrolments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'confirmed', 'waitlisted', 'cancelled', 'withdrawn')", name="status"),
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price_positive"),
        # The waiting list's order is the moment each one joined it: never unknown.
        CheckConstraint("status != 'waitlisted' OR waitlisted_at IS NOT NULL", name="waitlisted_at"),
        # One live enrolment per trainee per session.
        Index("uq_enrolments_live", "session_id", "trainee_id", unique=True,
              sqlite_where=text(_LIVE_SQL), postgresql_where=text(_LIVE_SQL)),
        Index("ix_enrolments_session_status", "session_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="RESTRICT"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=EnrolmentStatus.REQUESTED)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When it joined the waiting list (set by services/enrolments, kept once it leaves it): the list is first
    # come, first served by this moment, not by the request's (a request the office confirms late, a
    # pre-registration given its state at the opening, join it then, behind those already waiting).
    waitlisted_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    funding_mode: Mapped[str] = mapped_column(String(30), default="")  # how the trainee says it is paid
    price_cents: Mapped[int | None] = mapped_column(Integer)  # price applied to this trainee
    # The employer the trainee follows this course for (None: on their own account): the trainee's employer when
    # the enrolment is made, following the trainee's record until the session ends (services/enrolments), then
    # kept, whatever the trainee's record says later; the office corrects it on the enrolment. Certificates and
    # funding claims name it, or the employer of the funding agreement covering the enrolment when that names one
    # (enrolments.course_employers).
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id", ondelete="SET NULL"), index=True)

    session: Mapped[TrainingSession] = relationship()
    trainee: Mapped[Trainee] = relationship()
    employer: Mapped[Employer | None] = relationship()

    # Not stored: the place on the waiting list given by services/enrolments.enrol(), counted under the session
    # lock (None otherwise; services/enrolments.waitlist_position() tells the current place).
    position_when_enrolled = None

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def is_taught(self) -> bool:
        return self.status in TAUGHT_STATUSES

    def __repr__(self) -> str:
        return f"<Enrolment {self.id} {self.status}>"
