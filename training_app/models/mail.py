"""E-mail written by the application: every message is a row, written in the transaction that decided to send
it, so that a message is never lost with a process, and the office can see what left, when, and what failed
(training_app/services/mail.py sends them)."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training_app.clock import utcnow
from training_app.extensions import db


class MailStatus(StrEnum):
    PENDING = "pending"  # to be handed to the SMTP server
    SENT = "sent"  # the SMTP server took it
    FAILED = "failed"  # refused for good (a bad address), or not taken for MAIL_GIVE_UP_HOURS
    CAPTURED = "captured"  # no SMTP server configured (development): kept here, never sent
    DISMISSED = "dismissed"  # failed, then filed by the office (dealt with otherwise)


class OutgoingMail(db.Model):
    __tablename__ = "outgoing_mail"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'captured', 'dismissed')", name="status"),
        # The sender's look-up of what is left to send: only pending rows, oldest first.
        Index("ix_outgoing_mail_pending", "status", "queued_at"),
        # The outbox page: the most recent first, by the time each was written (read backwards).
        Index("ix_outgoing_mail_queued_at", "queued_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipients: Mapped[list] = mapped_column(JSON)  # addresses
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    tag: Mapped[str] = mapped_column(String(100), default="")  # what it is about, e.g. "convocation:12"
    attachment_names: Mapped[list] = mapped_column(JSON, default=list)  # kept once the files are gone
    status: Mapped[str] = mapped_column(String(20), default=MailStatus.PENDING)
    queued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # UTC, like every stored time
    # A sender holds a pending message (its random claim) from this time (UTC) for MAIL_CLAIM_MINUTES: no other
    # sends it meanwhile, and only the holder records what became of it.
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    message_id: Mapped[str] = mapped_column(String(200), default="")  # the Message-ID header, kept across attempts
    error: Mapped[str] = mapped_column(Text, default="")  # the SMTP server's last answer when it did not take it

    attachments: Mapped[list["OutgoingMailAttachment"]] = relationship(
        order_by="OutgoingMailAttachment.id", cascade="all, delete-orphan", passive_deletes=True)


class OutgoingMailAttachment(db.Model):
    """A file to send with a message; deleted once the message is sent (the issued document stays stored)."""

    __tablename__ = "outgoing_mail_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("outgoing_mail.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
