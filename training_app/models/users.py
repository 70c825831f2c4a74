import hashlib
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, column, func, select, table
from sqlalchemy.orm import Mapped, column_property, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.edit_version import EditVersioned


# The audit entries (models/audit.py, which imports this module), as far as the sign-in id reads them.
_audit_entries = table("audit_entries", column("id", Integer), column("entity_type", String),
                       column("entity_id", Integer), column("action", String))


class Role(StrEnum):
    ADMIN = "admin"
    TRAINER = "trainer"


class User(UserMixin, EditVersioned, db.Model):
    """A member of staff who signs in: an administrator or a trainer."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'trainer')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=Role.TRAINER)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A temporary password (set by an administrator at creation or reset): to be changed at the next sign-in
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The last time the account was deactivated (its audit entry's id), None if never: part of the sign-in id.
    # Loaded when asked for (the sign-in loader asks for it with the account: services/users.signed_in_user).
    last_deactivation: Mapped[int | None] = column_property(
        select(func.max(_audit_entries.c.id)).where(
            _audit_entries.c.entity_type == "users", _audit_entries.c.entity_id == id,
            _audit_entries.c.action == "deactivated").scalar_subquery(),
        deferred=True)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # This browser's sign-in (a SignIn's secret token), when the account was signed in or loaded by this request
    # (services/users.start_sign_in and signed_in_user); never stored here.
    sign_in_token = None  # str

    def get_id(self) -> str:
        """What the session and the "remember me" cookie hold: the id, a fingerprint of the password and of
        the last deactivation, and this browser's sign-in token, so that changing the password signs out every
        browser signed in with the former one, a deactivated account, once reactivated, is signed in on none of
        the browsers it had before, and a sign-in ends at its sign-out or after SIGN_IN_LIFETIME whatever
        the browser keeps (SignIn)."""
        signed = self.password_hash if self.last_deactivation is None else \
            f"{self.password_hash}:deactivated {self.last_deactivation}"
        fingerprint = hashlib.sha256(signed.encode()).hexdigest()[:16]
        account = f"{self.id}:{fingerprint}"
        return f"{account}:{self.sign_in_token}" if self.sign_in_token else account

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_trainer(self) -> bool:
        return self.role == Role.TRAINER

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class SignIn(db.Model):
    """One sign-in on one browser: from the password typed at /connexion to the sign-out, or for
    SIGN_IN_LIFETIME (as long as "remember me") at most. The session and the "remember me" cookie name it
    (User.get_id()); the browser is signed in only while its row is here and young enough, so a copy of either
    cookie stops working at the sign-out and at the end of the lifetime, whatever expiry the browser was told
    (services/users.py)."""

    __tablename__ = "sign_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token the cookies hold
    signed_in_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # UTC
