"""Certificates: the documents issued to trainees, their yearly numbering and the Word templates.

An issued document never changes: its file is stored once (documents/storage) with its SHA-256,
a number and a verification code. A correction issues a new version and marks the old one
replaced; a document that can no longer be issued (no attendance left after a correction) is
withdrawn: no longer current, replaced by nothing, with the reason. At most one current (neither
replaced nor withdrawn) document per enrolment and kind.
"""
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (JSON, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.enrolments import Enrolment
from training_app.models.users import User


class CertificateKind(StrEnum):
    ATTESTATION = "attestation"   # attestation individuelle de fin de formation
    REALISATION = "realisation"   # certificat de réalisation (national model)


_KIND_SQL = "kind IN ('attestation', 'realisation')"


class CertificateCounter(db.Model):
    """The last number given in a year. Incremented under the row's lock: numbers are sequential."""

    __tablename__ = "certificate_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class IssuedCertificate(db.Model):
    """One issued document (a stored file), as it was given to the trainee."""

    __tablename__ = "issued_certificates"
    __table_args__ = (
        CheckConstraint(_KIND_SQL, name="kind"),
        CheckConstraint("file_format IN ('docx', 'pdf')", name="file_format"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("replaced_by_id IS NULL OR replaced_at IS NOT NULL", name="replaced_has_date"),
        UniqueConstraint("year", "sequence"),
        UniqueConstraint("enrolment_id", "kind", "version"),
        # One current document per enrolment and kind.
        Index("uq_issued_certificates_current", "enrolment_id", "kind", unique=True,
              sqlite_where=text("replaced_at IS NULL"), postgresql_where=text("replaced_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(20), unique=True)          # "2018-00012"
    version: Mapped[int] = mapped_column(Integer, default=1)
    verification_code: Mapped[str] = mapped_column(String(20), unique=True)  # "K7QM-2XWD-PL9A"
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(200))                    # offered on download
    file_format: Mapped[str] = mapped_column(String(10), default="docx")
    template_sha256: Mapped[str] = mapped_column(String(64), default="")  # the template it came from
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    replaced_at: Mapped[datetime | None] = mapped_column(DateTime)
    replaced_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("issued_certificates.id", ondelete="SET NULL"))
    # Withdrawn (replaced_at is then the date), why; a new version issued later replaces it as usual.
    withdrawn_reason: Mapped[str | None] = mapped_column(String(300))
    # What the document says, as issued: the verification page shows this, whatever changes later.
    trainee_name: Mapped[str] = mapped_column(String(250))
    course_title: Mapped[str] = mapped_column(String(300))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    planned_minutes: Mapped[int] = mapped_column(Integer)
    attended_minutes: Mapped[int] = mapped_column(Integer)
    # The results per objective an attestation states, [{"objective", "code", "comment"}]; None for a
    # certificat de réalisation, and for attestations issued before they were kept (revision 0011).
    results: Mapped[list | None] = mapped_column(JSON)
    # The session's place and modality, and the employer (name and SIRET, "" on the trainee's own account) the
    # document was issued with: when they change, it is outdated (certificates.OverviewRow). None for documents
    # issued before they were kept (revision 0029): not compared.
    place: Mapped[str | None] = mapped_column(Text)
    modality: Mapped[str | None] = mapped_column(String(20))
    employer_name: Mapped[str | None] = mapped_column(String(300))
    employer_siret: Mapped[str | None] = mapped_column(String(14))
    # The nature of the action it states (the box of course_nature(): "formation", "bilan", "vae"), from the
    # programme's BPF objective when issued; None for documents issued before it was kept (revision 0032).
    nature: Mapped[str | None] = mapped_column(String(20))
    # The civility it prints with trainee_name (trainee.formal_name); None for documents issued before it was kept
    # (revision 0032): only their name is compared.
    trainee_civility: Mapped[str | None] = mapped_column(String(20))
    # The trainee's job title it prints ("" for none: the document shows « — »), kept only on the documents whose
    # template prints it; None for the others and for documents issued before it was kept (revision 0033).
    trainee_job_title: Mapped[str | None] = mapped_column(String(200))
    # What its template printed among what is compared when the records change (certificates.COMPARED_FIELDS:
    # "place", "employer_siret"...), read from the template when issued; None for documents issued before it was
    # kept (revision 0033): compared on what the shipped template of their kind prints (certificates.SHIPPED_PRINTS).
    printed: Mapped[list | None] = mapped_column(JSON)

    enrolment: Mapped[Enrolment] = relationship()
    issued_by: Mapped[User | None] = relationship()
    replaced_by: Mapped["IssuedCertificate | None"] = relationship(remote_side="IssuedCertificate.id")

    @property
    def is_current(self) -> bool:
        return self.replaced_at is None

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_reason is not None

    @property
    def mimetype(self) -> str:
        if self.file_format == "pdf":
            return "application/pdf"
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

    def __repr__(self) -> str:
        return f"<IssuedCertificate {self.number} {self.kind} v{self.version}>"


class CertificateTemplate(db.Model):
    """A Word template uploaded to replace the one shipped in certificates/ (test-rendered first)."""

    __tablename__ = "certificate_templates"
    __table_args__ = (
        CheckConstraint(_KIND_SQL, name="kind"),
        # At most one template in use per kind; none means the shipped one.
        Index("uq_certificate_templates_in_use", "kind", unique=True,
              sqlite_where=text("retired_at IS NULL"), postgresql_where=text("retired_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    storage_path: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    original_filename: Mapped[str] = mapped_column(String(200), default="")
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)

    uploaded_by: Mapped[User | None] = relationship()
