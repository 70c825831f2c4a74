"""Funding files: the funders' hourly caps, funding agreements and the claims sent to funders.

The Funder itself lives in models/funding.py (foundation). Amounts are integer cents,
hours are minutes. States change only through services/funding.py.
"""
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (JSON, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, String, Table,
                        Text, UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.edit_version import EditVersionChecked
from training_app.models.enrolments import Enrolment
from training_app.models.funding import Funder
from training_app.models.people import Employer
from training_app.models.sessions import TrainingSession


class FunderHourlyCap(db.Model):
    """The most a funder pays per trainee and hour of training, for one calendar year."""

    __tablename__ = "funder_hourly_caps"
    __table_args__ = (
        UniqueConstraint("funder_id", "year"),
        CheckConstraint("cap_cents >= 0", name="cap_positive"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    cap_cents: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(300), default="")

    funder: Mapped[Funder] = relationship()


class AgreementStatus(StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"


class FundingMode(StrEnum):
    SUBROGATION = "subrogation"       # the funder pays the training organisation
    REIMBURSEMENT = "reimbursement"   # the funder reimburses the employer


class FundingAgreement(EditVersionChecked, db.Model):
    """A funder's agreement (prise en charge) for one enrolment, or for several trainees of
    one employer in one session."""

    __tablename__ = "funding_agreements"
    __table_args__ = (
        CheckConstraint("status IN ('requested', 'granted', 'refused')", name="status"),
        CheckConstraint("mode IN ('subrogation', 'reimbursement')", name="mode"),
        CheckConstraint("hourly_rate_cents IS NULL OR hourly_rate_cents >= 0", name="rate_positive"),
        CheckConstraint("amount_cents IS NULL OR amount_cents >= 0", name="amount_positive"),
        CheckConstraint("hourly_cap_cents IS NULL OR hourly_cap_cents >= 0", name="cap_positive"),
        # A file number is unique for one funder (empty while the request is not answered).
        Index("uq_funding_agreements_file_number", "funder_id", "file_number", unique=True,
              sqlite_where=text("file_number != ''"), postgresql_where=text("file_number != ''")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id", ondelete="RESTRICT"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="RESTRICT"), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=AgreementStatus.REQUESTED)
    requested_on: Mapped[date] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    file_number: Mapped[str] = mapped_column(String(60), default="")
    mode: Mapped[str] = mapped_column(String(20), default=FundingMode.SUBROGATION)
    hourly_rate_cents: Mapped[int | None] = mapped_column(Integer)  # agreed rate per trainee and hour
    amount_cents: Mapped[int | None] = mapped_column(Integer)       # agreed (granted) amount, all trainees
    hourly_cap_cents: Mapped[int | None] = mapped_column(Integer)   # the funder's cap applied to this file
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    funder: Mapped[Funder] = relationship()
    session: Mapped[TrainingSession] = relationship()
    employer: Mapped[Employer | None] = relationship()
    trainees: Mapped[list["AgreementTrainee"]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", order_by="AgreementTrainee.id")

    @property
    def enrolments(self) -> list[Enrolment]:
        return [t.enrolment for t in self.trainees]

    def __repr__(self) -> str:
        return f"<FundingAgreement {self.id} {self.status} {self.file_number}>"


ANNEX_KINDS = ("travel", "accommodation", "meals")


class AgreementTrainee(db.Model):
    """A trainee covered by an agreement, with the annex costs agreed and actually incurred."""

    __tablename__ = "funding_agreement_trainees"
    __table_args__ = (
        UniqueConstraint("agreement_id", "enrolment_id"),
        *(CheckConstraint(f"{kind}_{which}_cents >= 0", name=f"{kind}_{which}_positive")
          for kind in ANNEX_KINDS for which in ("agreed", "actual")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("funding_agreements.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="RESTRICT"), index=True)
    travel_agreed_cents: Mapped[int] = mapped_column(Integer, default=0)
    travel_actual_cents: Mapped[int] = mapped_column(Integer, default=0)
    accommodation_agreed_cents: Mapped[int] = mapped_column(Integer, default=0)
    accommodation_actual_cents: Mapped[int] = mapped_column(Integer, default=0)
    meals_agreed_cents: Mapped[int] = mapped_column(Integer, default=0)
    meals_actual_cents: Mapped[int] = mapped_column(Integer, default=0)

    agreement: Mapped[FundingAgreement] = relationship(back_populates="trainees")
    enrolment: Mapped[Enrolment] = relationship()


class ClaimStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    REJECTED = "rejected"                # the funder paid nothing and refused the claim: it may be made again
    BALANCE_REFUSED = "balance_refused"  # the funder paid part and refused the rest: what was paid stays paid


claim_sessions = Table(
    "funding_claim_sessions",
    db.metadata,
    Column("claim_id", ForeignKey("funding_claims.id", ondelete="CASCADE"), primary_key=True),
    Column("session_id", ForeignKey("training_sessions.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class FundingClaim(db.Model):
    """A claim (demande de paiement) to one funder for one session or the sessions of a period.

    `snapshot` holds the figures as last calculated (plain data: lines and totals); it is
    recalculated while the claim is a draft and frozen once it is sent, with the dossier's files.
    """

    __tablename__ = "funding_claims"
    # Not stored: why today's figures of a draft could not replace `snapshot` (funding.bring_up_to_date), which
    # preflight() then lists; None while they could.
    figures_refusal = None
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'sent', 'partially_paid', 'paid', 'rejected', 'balance_refused')",
                        name="status"),
        CheckConstraint("total_cents >= 0", name="total_positive"),
        CheckConstraint("paid_cents >= 0", name="paid_positive"),
        CheckConstraint("status = 'draft' OR number IS NOT NULL", name="numbered_once_sent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The invoice number, e.g. "2018-0001": given when the claim is sent (services/funding.send), in the order of
    # the sendings, for the sending date's year, without gaps. None while a draft (a draft numbered before
    # revision 0036 between claims since sent keeps its number: dropped, it would leave a gap).
    number: Mapped[str | None] = mapped_column(String(30), unique=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id", ondelete="RESTRICT"), index=True)
    period_start: Mapped[date | None] = mapped_column(Date)  # set for a claim over a date range
    period_end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=ClaimStatus.DRAFT, index=True)
    total_cents: Mapped[int] = mapped_column(Integer, default=0)  # asked of the funder: the subrogation lines
    paid_cents: Mapped[int] = mapped_column(Integer, default=0)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    calculated_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_on: Mapped[date | None] = mapped_column(Date)
    rejected_on: Mapped[date | None] = mapped_column(Date)
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    # The dossier (.zip) as sent to the funder, stored once when the claim is sent (documents/storage), and
    # its SHA-256: what the funder received, whatever changes afterwards. None while a draft.
    dossier_path: Mapped[str | None] = mapped_column(String(300))
    dossier_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    funder: Mapped[Funder] = relationship()
    sessions: Mapped[list[TrainingSession]] = relationship(secondary=claim_sessions,
                                                           order_by=TrainingSession.start_at)
    payments: Mapped[list["ClaimPayment"]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimPayment.received_on")

    @property
    def balance_cents(self) -> int:
        return self.total_cents - self.paid_cents

    @property
    def employer_share(self):
        """Its reimbursement lines: what the employer pays us, its own annex costs (claim_calculation)."""
        from training_app.services.claim_calculation import employer_share
        return employer_share((self.snapshot or {}).get("lines", []))

    @property
    def for_information(self) -> bool:
        """Whether it asks the funder nothing because all its lines are in reimbursement of the employer: sent to
        the funder for information only, it takes neither a payment nor a rejection. (A claim of subrogation
        lines at 0 € — hours corrected after sending — is a claim like any other: it can be rejected, which frees
        its sessions for a new one.)"""
        from training_app.services.claim_calculation import is_reimbursement
        if self.total_cents:  # its lines (a snapshot the claims list does not load) need no reading
            return False
        lines = (self.snapshot or {}).get("lines", [])
        return bool(lines) and all(is_reimbursement(line) for line in lines)

    @property
    def reference(self) -> str:
        """How files name it: its invoice number, or "brouillon-<id>" while a draft has none."""
        return self.number or f"brouillon-{self.id}"

    def __repr__(self) -> str:
        return f"<FundingClaim {self.reference} {self.status}>"


class ClaimPayment(db.Model):
    """Money received from the funder for a claim. A payment typed by mistake is cancelled (funding.cancel_payment),
    never deleted: it stays in the claim's list, marked cancelled with its reason, and no longer counts."""

    __tablename__ = "funding_claim_payments"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),
                      CheckConstraint("cancelled_at IS NULL OR cancel_reason != ''", name="cancelled_with_reason"))

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("funding_claims.id", ondelete="CASCADE"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(Integer)
    overpayment_cents: Mapped[int] = mapped_column(Integer, default=0)  # above the balance: recorded, flagged
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)  # UTC; who did it: the claim's audit entry
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    claim: Mapped[FundingClaim] = relationship(back_populates="payments")

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None
