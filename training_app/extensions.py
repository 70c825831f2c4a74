"""Every Flask extension, created once here and initialised in create_app()."""
import ipaddress
import sqlite3

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from limits import parse_many
from sqlalchemy import Engine, MetaData, event, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase

# Named constraints so that Alembic can drop and alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def network_key() -> str:
    """A rate-limit key: the client's network. An IPv4 address as it is; an IPv6 address by its /64, the
    smallest network handed to a home or an office, whose every address its owner may use (otherwise each of
    them would be a network of its own, with its own guesses). An IPv4 address written as IPv6 (::ffff:a.b.c.d)
    is that IPv4 address. Every rate limit counts a network by this key: Flask-Limiter's (the limiter's
    key_func) and count_against's alike."""
    address = get_remote_address()
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return address
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.IPv6Network((parsed, 64), strict=False))


limiter = Limiter(key_func=network_key, default_limits=[])


def count_against(limits: str, scope: str, key: str | None = None) -> bool:
    """Count one more `scope` for this client's network (network_key), or for `key` (e.g. typed_email_key(); ""
    skips the count), against `limits` ("5 per minute; 40 per day"), in the limiter's storage, atomically: False
    once one of them is spent. For a limit on what succeeded only: the caller does the work, counts it, and
    undoes it when refused, so that requests arriving together cannot all pass a check made before any of them
    is counted (Flask-Limiter's deduct_when)."""
    if not limiter.enabled:
        return True
    key = network_key() if key is None else key
    if not key:
        return True
    return all(limiter.limiter.hit(item, scope, key) for item in parse_many(limits))


def typed_email_key() -> str:
    """A rate-limit key: the e-mail address typed in the form ("" when none: that limit is then skipped). A
    form that mails someone a link is limited per address, so that nobody's mailbox is flooded from many
    network addresses, whether or not the address is known (the answer tells nobody); so is signing in, so that
    one account's password is not guessed from many network addresses. The address is written as accounts and
    trainees store it (email_to_look_up: a punycode domain in Unicode...), so that its spellings share one count."""
    # registrations imports this module (db): imported when a request is counted, once everything is loaded.
    from training_app.services.registrations import email_to_look_up
    email = (request.form.get("email") or "").strip()
    return f"email:{email_to_look_up(email)}" if email else ""


def dialect_insert():
    """The INSERT of the session's database dialect, which has ON CONFLICT (PostgreSQL and SQLite alike)."""
    return postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert


def lowered(expression):
    """`expression` in lower case, every letter of it, on every database, as Python's str.lower writes it:
    PostgreSQL's lower() folds them all, SQLite's only the ASCII ones (« ÉLAN » would stay « Élan »), so on SQLite
    it is str.lower itself (_sqlite_functions), which no index holds. PostgreSQL keeps its plain lower(), and the
    indexes on it."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.lower(expression)
    return func.unicode_lower(expression)


@event.listens_for(Engine, "connect")
def _sqlite_functions(dbapi_connection, _record) -> None:
    """The SQL functions SQLite lacks, on each of its connections (lowered)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("unicode_lower", 1, _lower, deterministic=True)


def _lower(text):
    return text.lower() if isinstance(text, str) else text


def commit_keeping_loaded() -> None:
    """Commit without expiring the loaded objects: they hold what was just committed, so an answer
    rendered right after needs no row read again (every row would be, after a plain commit)."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
