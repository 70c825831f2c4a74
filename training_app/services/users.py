"""Staff accounts."""
import hmac

from flask_babel import gettext as _

from training_app.extensions import db
from training_app.models import Role, User
from training_app.services import ServiceError, audit

MIN_PASSWORD_LENGTH = 10


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ServiceError(_("Le mot de passe doit compter au moins %(n)d caractères.", n=MIN_PASSWORD_LENGTH),
                           "password")


def create_user(email: str, name: str, role: str, password: str) -> User:
    email = email.strip().lower()
    if role not in (Role.ADMIN, Role.TRAINER):
        raise ServiceError(_("Rôle inconnu : %(role)s.", role=role), "role")
    if db.session.scalar(db.select(User.id).where(User.email == email)) is not None:
        raise ServiceError(_("Un compte existe déjà avec cette adresse e-mail."), "email")
    check_password_strength(password)
    user = User(email=email, name=name.strip(), role=role, active=True)
    user.set_password(password)
    db.session.add(user)
    audit.record(user, "created", to_state=role)
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise ServiceError(_("Le mot de passe actuel est incorrect."), "current_password")
    check_password_strength(new)
    user.set_password(new)
    audit.record(user, "password_changed", actor=user)


def set_active(user: User, active: bool) -> None:
    user.active = active
    audit.record(user, "activated" if active else "deactivated")


def signed_in_user(sign_in_id: str) -> User | None:
    """The user a session or "remember me" cookie names (User.get_id()), if signed in with the current
    password; inactive accounts are returned too (Flask-Login then treats them as signed out)."""
    user_id = sign_in_id.partition(":")[0]
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None:
        return None
    return user if hmac.compare_digest(user.get_id().encode(), sign_in_id.encode()) else None


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(db.select(User).where(User.email == (email or "").strip().lower()))
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    return user
