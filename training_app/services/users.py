"""Staff accounts.

Rules: e-mails are unique (kept in lower case); at least one active administrator always remains (an
account change that would leave none is refused, and the check locks the administrators' rows so that two
administrators stepping down at once cannot both succeed; an account's edit form locks them with the account's
own row, in the same id order, so that two administrators changing each other's role, or one deactivating the
other, queue instead of deadlocking); nobody deactivates their own account. A password
set by somebody else (an administrator at creation or reset, or `flask reset-password`) is temporary: its
owner must choose their own at the next sign-in.

Each sign-in on a browser is a SignIn row, named by the session and the "remember me" cookie (User.get_id()): it
ends at the sign-out (its row is deleted: a copy of either cookie no longer signs in) and SIGN_IN_LIFETIME (as long
as "remember me", a month) after the password was typed, whatever expiry the browser keeps. A new password
changes the sign-in id, which signs out every browser signed in with the former one; so does a deactivation, for
good (its sign-ins are deleted, and reactivating the account brings none of them back).

A member of staff who forgot their password may ask for a link by e-mail (`send_reset_link`): signed, valid
RESET_LINK_MAX_AGE_MINUTES, and only until the password, the address or the account's activation changes (it
carries a fingerprint of them): it works once (checked under the account's row lock, so that two requests
with the same link cannot both use it), and a deactivation, even followed by a reactivation, ends it.
"""
import functools
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func
from sqlalchemy.orm import undefer
from werkzeug.security import check_password_hash, generate_password_hash

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models import AuditEntry, Role, SignIn, User
from training_app.services import ServiceError, audit, edit_versions, flush_or_refuse, mail
from training_app.services.registrations import email_to_look_up, normalise_email

MIN_PASSWORD_LENGTH = 10
# A passphrase fits well within it; a password manager's too. Beyond, a paste gone wrong.
MAX_PASSWORD_LENGTH = 128
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
ROLES = (Role.ADMIN, Role.TRAINER)
RESET_LINK_MAX_AGE_MINUTES = 60
RESET_LINK_SALT = "staff-password-reset"


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ServiceError(_("Le mot de passe doit compter au moins %(n)d caractères.", n=MIN_PASSWORD_LENGTH),
                           "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ServiceError(_("Le mot de passe doit compter au plus %(n)d caractères.", n=MAX_PASSWORD_LENGTH),
                           "password")


def generate_password() -> str:
    """A temporary password to hand over (16 characters, letters, digits, - and _)."""
    return secrets.token_urlsafe(12)


def create_user(email: str, name: str, role: str, password: str, *, temporary: bool = True) -> User:
    """A new active account. `temporary`: the password was chosen for its owner, who must change it."""
    email = _checked_email(email)
    name = _checked_name(name)
    _check_role(role)
    check_email_free(email)
    check_password_strength(password)
    user = User(email=email, name=name, role=role, active=True, must_change_password=temporary)
    user.set_password(password)
    db.session.add(user)
    flush_or_refuse(_email_taken(), "email")  # the same address given at the same moment in another request
    audit.record(user, "created", to_state=role)
    return user


def update_user(user: User, *, name: str, email: str, role: str, actor: User | None = None) -> None:
    """Correct an account's name and e-mail, or change its role. Every check runs before anything changes."""
    name, email = _checked_name(name), _checked_email(email)
    _check_role(role)
    if email != user.email:
        check_email_free(email, but=user)
    if role != user.role:
        _ensure_an_active_admin_remains(user, role=role, active=user.active)
    changes = {key: {"from": getattr(user, key), "to": value}
               for key, value in (("name", name), ("email", email)) if getattr(user, key) != value}
    if changes:
        user.name, user.email = name, email
        flush_or_refuse(_email_taken(), "email")
        audit.record(user, "updated", actor=actor, details=changes)
    if role != user.role:
        previous, user.role = user.role, role
        audit.record(user, "role_changed", actor=actor, from_state=previous, to_state=role)


def set_active(user: User, active: bool, *, actor: User | None = None) -> None:
    if active == user.active:
        return
    if not active:
        if actor is not None and actor.id == user.id:
            raise ServiceError(_("Vous ne pouvez pas désactiver votre propre compte."))
        _ensure_an_active_admin_remains(user, role=user.role, active=False)
    user.active = active
    audit.record(user, "activated" if active else "deactivated", actor=actor)
    if not active:  # the sign-in id changes (User.get_id): its browsers stay signed out once it is reactivated
        db.session.execute(delete(SignIn).where(SignIn.user_id == user.id))
        db.session.flush()
        db.session.expire(user, ["last_deactivation"])


def reset_password(user: User, password: str, *, actor: User | None = None, actor_label: str = "") -> None:
    """Set a temporary password, to be changed at the next sign-in; every browser signed in is signed out."""
    if actor is not None and actor.id == user.id:
        raise ServiceError(_("Pour votre propre compte, utilisez « Changer de mot de passe »."), "password")
    check_password_strength(password)
    user.set_password(password)
    user.must_change_password = True
    audit.record(user, "password_reset", actor=actor, actor_label=actor_label)


def change_password(user: User, current: str, new: str) -> None:
    """The owner chooses their password (required after a temporary one)."""
    if not user.check_password(current):
        raise ServiceError(_("Le mot de passe actuel est incorrect."), "current_password")
    check_password_strength(new)
    if new == current:
        raise ServiceError(_("Choisissez un mot de passe différent de l'actuel."), "password")
    user.set_password(new)
    user.must_change_password = False
    audit.record(user, "password_changed", actor=user)


def send_reset_link(email: str) -> None:
    """E-mail a link to choose a new password to the active account with this address, if there is one.
    The caller answers the same way whether or not the address is known, so nobody learns who has an account.
    The current password keeps working until a new one is chosen."""
    from training_app.urls import public_url

    user = find_by_email(email)
    if user is None or not user.active:
        return
    link = public_url("auth.reset_with_link", link=make_reset_link_token(user))
    mail.queue(user.email, _("Choisir un nouveau mot de passe"), _(
        "Bonjour %(name)s,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien dans l'heure :\n%(link)s\n\n"
        "Il ne sert qu'une fois. Si vous n'avez rien demandé, ignorez ce message : votre mot de passe "
        "reste le même.", name=user.name, link=link), tag=f"{mail.PASSWORD_TAG}{user.id}")


def make_reset_link_token(user: User) -> str:
    return _reset_serializer().dumps({"u": user.id, "p": _link_fingerprint(user)})


def user_from_reset_link(token: str, *, lock: bool = False) -> User:
    """The active account a password link names, if the link is still valid (not expired; password, address and
    activation unchanged since it was made). `lock`: the account's row is locked and read afresh first (PostgreSQL),
    so that of two requests using the same link, the second sees the password the first set."""
    try:
        data = _reset_serializer().loads(token, max_age=RESET_LINK_MAX_AGE_MINUTES * 60)
    except BadSignature:  # SignatureExpired included
        data = None
    user_id = data.get("u") if isinstance(data, dict) else None
    user = None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        query = db.select(User).where(User.id == user_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        user = db.session.scalar(query)
    if user is None or not user.active or not hmac.compare_digest(str(data.get("p")), _link_fingerprint(user)):
        raise ServiceError(_("Ce lien n'est plus valable (il sert une fois, pendant une heure) : "
                             "demandez-en un nouveau."))
    return user


def set_password_from_link(token: str, new: str) -> User:
    """The owner, from an e-mailed link, chooses a new password (their own: no longer temporary). The link is then
    dead (the password changed); a link dead meanwhile is refused (a ServiceError without a field)."""
    check_password_strength(new)
    user = user_from_reset_link(token, lock=True)
    user.set_password(new)
    user.must_change_password = False
    audit.record(user, "password_reset_by_link", actor=user)
    return user


def _link_fingerprint(user: User) -> str:
    """Names the current password and address (a link works until either changes; a link sent to a former
    address is dead) and the account's last deactivation or reactivation (a link made before either is dead),
    unlike the sign-in id, which it does not give away."""
    activation = db.session.scalar(db.select(func.max(AuditEntry.id)).where(
        AuditEntry.entity_type == User.__tablename__, AuditEntry.entity_id == user.id,
        AuditEntry.action.in_(("activated", "deactivated"))))
    named = f"password link:{user.email}:{user.password_hash}"
    if activation is not None:  # never (de)activated: the links made before this rule still work
        named += f":activation {activation}"
    return hashlib.sha256(named.encode()).hexdigest()[:16]


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_LINK_SALT)


def sign_in_lifetime() -> timedelta:
    """How long a sign-in lasts at most, "remember me" or not (SIGN_IN_LIFETIME: REMEMBER_COOKIE_DURATION)."""
    return current_app.config["SIGN_IN_LIFETIME"]


def _sign_in_over(now: datetime):
    """SQL condition: the sign-in is over (started `sign_in_lifetime()` ago or more): it no longer signs in."""
    return SignIn.signed_in_at <= now - sign_in_lifetime()


def start_sign_in(user: User) -> None:
    """A new sign-in of `user` on this browser, who just typed their password (then `login_user`, after the
    commit); their sign-ins that are over are deleted (those of people who no longer sign in go with
    `flask purge-expired`: delete_sign_ins_over)."""
    now = utcnow()
    db.session.execute(delete(SignIn).where(SignIn.user_id == user.id, _sign_in_over(now)))
    token = secrets.token_urlsafe(24)
    db.session.add(SignIn(user_id=user.id, token_hash=_sign_in_hash(token), signed_in_at=now))
    user.sign_in_token = token


def end_sign_in(user: User) -> None:
    """The sign-out of `user` (loaded by `signed_in_user`) on this browser: its session and "remember me" cookie,
    and any copy of them, no longer sign in."""
    if user.sign_in_token:
        db.session.execute(delete(SignIn).where(SignIn.user_id == user.id,
                                                SignIn.token_hash == _sign_in_hash(user.sign_in_token)))


def sign_ins_over() -> int:
    """How many sign-ins are over and still recorded (`flask purge-expired --dry-run`)."""
    return db.session.scalar(db.select(func.count(SignIn.id)).where(_sign_in_over(utcnow())))


def delete_sign_ins_over() -> int:
    """Delete every sign-in that is over, whoever it belongs to (`flask purge-expired`): a member of staff who
    no longer signs in would otherwise keep theirs (start_sign_in deletes only those of who signs in). Returns how
    many were deleted. None of them signs in any more: nobody is signed out."""
    return db.session.execute(delete(SignIn).where(_sign_in_over(utcnow()))
                              .execution_options(synchronize_session=False)).rowcount


def signed_in_user(sign_in_id: str) -> User | None:
    """The user a session or "remember me" cookie names (User.get_id()), if that sign-in was not ended (signed out,
    or started more than `sign_in_lifetime()` ago), with the current password and since the account was last
    deactivated; inactive accounts are returned too (Flask-Login then treats them as signed out). One statement."""
    user_id, _sep, rest = sign_in_id.partition(":")
    token = rest.partition(":")[2]
    if not user_id.isdigit() or not token:
        return None
    found = db.session.execute(
        db.select(User, SignIn.signed_in_at).join(SignIn, SignIn.user_id == User.id)
        .where(User.id == int(user_id), SignIn.token_hash == _sign_in_hash(token))
        .options(undefer(User.last_deactivation))).first()
    if found is None or not _sign_in_lasting(found.signed_in_at):
        return None
    user = found.User
    user.sign_in_token = token
    return user if hmac.compare_digest(user.get_id().encode(), sign_in_id.encode()) else None


def _sign_in_lasting(signed_in_at: datetime) -> bool:
    """A sign-in ends at the start of the minute in which it is `sign_in_lifetime()` old: a page kept for its user
    (page_cache.py keeps them for the minute) is therefore never served once it has ended."""
    ends_at = (signed_in_at + sign_in_lifetime()).replace(second=0, microsecond=0)
    return utcnow() < ends_at


def _sign_in_hash(token: str) -> str:
    return hashlib.sha256(f"sign-in:{token}".encode()).hexdigest()


def authenticate(email: str, password: str) -> User | None:
    """The active account with this address and password, or None. An unknown address costs the same password
    check as a known one, so that the time of the answer does not tell who has an account (a hash was computed
    for known addresses only: about 200 ms against 13 ms)."""
    user = find_by_email(email)
    if user is None:
        check_password_hash(_unused_password_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user


@functools.cache
def _unused_password_hash() -> str:
    """A hash made as the accounts' are (same method and cost), of a password nobody has, once per process."""
    return generate_password_hash(secrets.token_urlsafe(16))


def find_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == email_to_look_up(email)))


def sign_in_failures_key(email: str) -> str:
    """Whom the failed sign-ins with this typed address are counted against (blueprints/auth/views.py): a known
    account with its current password, so that a new password (chosen through the e-mailed link, say) starts the
    count again; an unknown address as typed."""
    user = find_by_email(email)
    if user is None:
        return f"email:{email_to_look_up(email)}"
    fingerprint = hashlib.sha256(f"sign-in failures:{user.password_hash}".encode()).hexdigest()[:16]
    return f"account:{user.id}:{fingerprint}"


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Indiquez le nom."), "name")
    if len(name) > MAX_NAME_LENGTH:
        raise ServiceError(_("Le nom ne peut pas dépasser %(n)d caractères.", n=MAX_NAME_LENGTH), "name")
    return name


def _checked_email(email: str) -> str:
    """The address as the forms accept it (the command line too: an address the forms refuse could never be
    edited, nor get a password link)."""
    email = normalise_email(email)
    if len(email) > MAX_EMAIL_LENGTH:
        raise ServiceError(_("Cette adresse e-mail n'est pas valide."), "email")
    return email


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ServiceError(_("Rôle inconnu : %(role)s.", role=role), "role")


def _email_taken() -> str:
    return _("Un compte existe déjà avec cette adresse e-mail.")


def check_email_free(email: str, but: User | None = None) -> None:
    """The address (as typed, or normalised already) names no account (but `but`'s): run by the account forms too,
    with their other checks."""
    query = db.select(User.id).where(User.email == normalise_email(email))
    if but is not None:
        query = query.where(User.id != but.id)
    if db.session.scalar(query) is not None:
        raise ServiceError(_email_taken(), "email")


def _ensure_an_active_admin_remains(user: User, *, role: str, active: bool) -> None:
    """Refuse a change of `user` to (`role`, `active`) that would leave no active administrator. The
    active administrators' rows are locked in id order (PostgreSQL), so that concurrent changes queue."""
    if not (user.role == Role.ADMIN and user.active) or (role == Role.ADMIN and active):
        return
    if not [admin_id for admin_id in _lock_administrators() if admin_id != user.id]:
        raise ServiceError(_("Il doit rester au moins un compte administrateur actif : nommez d'abord "
                             "un·e autre administrateur·rice."), "role")


def _lock_administrators(also: User | None = None) -> list[int]:
    """Lock the rows of the active administrators (and of `also`) in id order (PostgreSQL), in one statement:
    every path that may change an administrator takes its locks in this one order. Returns the active
    administrators' ids."""
    is_admin = (User.role == Role.ADMIN) & User.active.is_(True)
    locked = is_admin if also is None else is_admin | (User.id == also.id)
    # FOR NO KEY UPDATE: the rows queue every path that locks them here, but not the foreign-key checks of
    # rows that name these accounts (an audit entry an administrator writes in another transaction), which
    # would otherwise wait for this one while it waits for them.
    rows = db.session.execute(db.select(User.id, is_admin.label("admin")).where(locked)
                              .order_by(User.id).with_for_update(key_share=True)).all()
    return [row.id for row in rows if row.admin]


# An account's edit form (edit_versions.save) locks its row with the administrators', before update_user runs.
edit_versions.lock_with(User, _lock_administrators)
