import hashlib
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models.edit_version import EditVersioned


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

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """What the session and the "remember me" cookie hold: the id and a fingerprint of the password,
        so that changing the password signs out every browser signed in with the former one."""
        fingerprint = hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]
        return f"{self.id}:{fingerprint}"

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
