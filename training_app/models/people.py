from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.edit_version import EditVersionChecked, EditVersioned
from training_app.models.funding import Funder


class TraineeCategory(StrEnum):
    """Categories of the annual report (bilan pédagogique et financier)."""
    EMPLOYEE = "employee"
    JOB_SEEKER = "job_seeker"
    INDIVIDUAL = "individual"
    OTHER = "other"


class Employer(EditVersionChecked, db.Model):
    """Structure employeuse: the organisation a trainee works for."""

    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    siret: Mapped[str] = mapped_column(String(14), default="", index=True)
    address: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    funder_id: Mapped[int | None] = mapped_column(ForeignKey("funders.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    funder: Mapped[Funder | None] = relationship()

    def __repr__(self) -> str:
        return f"<Employer {self.name}>"


# Registrations and imports look an employer up by its name in any case (registrations.find_or_create_employer).
Index("ix_employers_name_lower", func.lower(Employer.name))


class Trainee(EditVersioned, db.Model):
    """Stagiaire. Has no password: reaches their pages through a signed personal link."""

    __tablename__ = "trainees"
    __table_args__ = (
        CheckConstraint("category IN ('employee', 'job_seeker', 'individual', 'other')", name="category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    civility: Mapped[str] = mapped_column(String(20), default="")   # "Mme", "M.", "" (non précisé)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    job_title: Mapped[str] = mapped_column(String(200), default="")
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id", ondelete="SET NULL"), index=True)
    category: Mapped[str] = mapped_column(String(20), default=TraineeCategory.EMPLOYEE)
    # Bumped to revoke every personal link issued so far.
    link_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Personal data erased on request or at the end of the retention period (services/personal_data.erase):
    # the names, employer and job title the kept records need stay; the e-mail address is a placeholder.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)
    # At the end of the retention period the kept records went too (services/personal_data.expire_records): names
    # replaced, signatures' images and evidence, certificates' files deleted; what the annual report counts stays.
    records_expired_at: Mapped[datetime | None] = mapped_column(DateTime)

    employer: Mapped[Employer | None] = relationship()

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def records_expired(self) -> bool:
        return self.records_expired_at is not None

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def formal_name(self) -> str:
        return " ".join(part for part in (self.civility, self.first_name, self.last_name.upper()) if part)

    def __repr__(self) -> str:
        return f"<Trainee {self.full_name}>"
