"""Configuration classes.

Everything secret or site-specific comes from the environment; the defaults are
only good for development and tests. Production refuses to start without a real
SECRET_KEY; development without one uses a random key kept in the instance folder.
"""
import logging
import os
import secrets
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many

# The development default of earlier versions, public in this repository: refused in production.
PUBLIC_SECRET_KEY = "dev-only-not-secret"
# The address of the development server (`flask run`): the links e-mailed in production must not lead there.
DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:5000"


def _database_url(value: str | None, default: str) -> str:
    url = value or default
    # Heroku-style URLs and bare "postgresql://" use the psycopg 3 driver we ship.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int):
    """A whole number from the environment; what is not one is kept as typed, and check_settings refuses it
    (naming the setting) when the application starts."""
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return value


HUNDRED_YEARS_DAYS = 36500


def _days(count) -> timedelta | None:
    """`count` days (None when check_settings refuses it)."""
    return timedelta(days=count) if isinstance(count, int) and 0 < count <= HUNDRED_YEARS_DAYS else None


class SettingError(RuntimeError):
    """A setting cannot be used: the application refuses to start (create_app), saying which and why."""


# The whole-number settings read from the environment: {configuration key: (variable, least, greatest or None)}.
# A duration's greatest keeps dates within the calendar (100 years).
INTEGER_SETTINGS = {
    "MAX_CONTENT_LENGTH": ("MAX_UPLOAD_BYTES", 1, None),
    "MAIL_PORT": ("MAIL_PORT", 1, 65535),
    "MAIL_SENDER_THREADS": ("MAIL_SENDER_THREADS", 1, None),
    "MAIL_RETRY_MINUTES": ("MAIL_RETRY_MINUTES", 1, HUNDRED_YEARS_DAYS * 1440),
    "MAIL_CLAIM_MINUTES": ("MAIL_CLAIM_MINUTES", 1, HUNDRED_YEARS_DAYS * 1440),
    "MAIL_GIVE_UP_HOURS": ("MAIL_GIVE_UP_HOURS", 1, HUNDRED_YEARS_DAYS * 24),
    "TRAINEE_LINK_MAX_AGE_DAYS": ("TRAINEE_LINK_MAX_AGE_DAYS", 1, HUNDRED_YEARS_DAYS),
    "REGISTRATION_CONFIRM_HOURS": ("REGISTRATION_CONFIRM_HOURS", 1, HUNDRED_YEARS_DAYS * 24),
    "SIGNING_OPENS_MINUTES_BEFORE": ("SIGNING_OPENS_MINUTES_BEFORE", 0, HUNDRED_YEARS_DAYS * 1440),
    "CLOSING_OPENS_MINUTES_BEFORE_END": ("CLOSING_OPENS_MINUTES_BEFORE_END", 0, HUNDRED_YEARS_DAYS * 1440),
    "ATTENDANCE_UPLOAD_MAX_BYTES": ("ATTENDANCE_UPLOAD_MAX_BYTES", 1, None),
    "RECORD_RETENTION_YEARS": ("RECORD_RETENTION_YEARS", 4, 100),
    "MAIL_KEEP_DAYS": ("MAIL_KEEP_DAYS", 1, HUNDRED_YEARS_DAYS),
    "TRUSTED_PROXY_HOPS": ("TRUSTED_PROXY_HOPS", 0, None),
    "REMEMBER_COOKIE_DAYS": ("REMEMBER_COOKIE_DAYS", 1, HUNDRED_YEARS_DAYS),
}
# Why a bound, when the number alone does not say it.
BOUND_REASONS = {
    "RECORD_RETENTION_YEARS": "le certificat de réalisation engage à conserver les pièces 3 ans à compter de la "
                              "fin de l'année du dernier paiement, et la durée court ici de la date de ce paiement",
}


def check_settings(config) -> None:
    """Refuse to start (SettingError, in French) on a whole-number setting that is not one, or out of its
    bounds: better than a traceback on every command, or a purge that erases records still to be kept. So with a
    rate limit or the time zone that cannot be read: better than an error page on every sign-in or schedule."""
    for key, (variable, least, greatest) in INTEGER_SETTINGS.items():
        value = config.get(key)
        fits = (isinstance(value, int) and not isinstance(value, bool) and value >= least
                and (greatest is None or value <= greatest))
        if not fits:
            bounds = (f"entre {least} et {greatest}" if greatest is not None else f"d'au moins {least}")
            why = f" ({BOUND_REASONS[key]})" if key in BOUND_REASONS else ""
            raise SettingError(f"Réglage {variable} invalide (« {value} ») : un nombre entier {bounds} est "
                               f"attendu{why}. Corrigez la variable d'environnement puis relancez.")
    for key in RATE_LIMIT_SETTINGS:
        _check_rate_limits(key, config.get(key))
    for key in ("TIMEZONE", "BABEL_DEFAULT_TIMEZONE"):  # both read from the variable TIMEZONE
        _check_time_zone(config.get(key))


# The rate-limit settings, read during requests only (blueprints/auth/views.py, blueprints/trainee/views.py,
# blueprints/enrolments/views.py): checked at start, or a typo would answer every sign-in with an error page.
RATE_LIMIT_SETTINGS = ("SIGN_IN_FAILURES_PER_ACCOUNT", "SIGN_IN_FAILURES_PER_NETWORK", "LINK_REQUESTS_PER_ADDRESS",
                       "LINK_REQUESTS_PER_NETWORK", "REGISTRATION_REQUESTS_PER_ADDRESS")


def _check_rate_limits(variable: str, value) -> None:
    try:
        items = parse_many(value) if isinstance(value, str) else None
    except ValueError:
        items = None
    if not items or any(item.amount < 1 for item in items):
        raise SettingError(f"Réglage {variable} invalide (« {value} ») : une ou plusieurs limites en anglais, "
                           f"séparées par des points-virgules, chacune d'au moins 1, sont attendues (par exemple "
                           f"« 10 per hour; 30 per day »). Corrigez la variable d'environnement puis relancez.")


def _check_time_zone(value) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise SettingError(f"Réglage TIMEZONE invalide (« {value} ») : un fuseau horaire de la base IANA est "
                           f"attendu (par exemple « Europe/Paris »). Corrigez la variable d'environnement puis "
                           f"relancez.") from None


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")  # None: instance_secret_key() (production refuses to start)
    SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("DATABASE_URL"), "sqlite:///training_app.db")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Generated documents (certificates, claims, convocations, uploads); default: <instance>/storage
    STORAGE_DIR = os.environ.get("STORAGE_DIR")
    MAX_CONTENT_LENGTH = _int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)

    # Mail: sent through SMTP when MAIL_SERVER is set, otherwise captured in the outbox.
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = _int("MAIL_PORT", 587)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", True)
    # Connections each process opens at once to the SMTP server (some providers allow only a few).
    MAIL_SENDER_THREADS = _int("MAIL_SENDER_THREADS", 4)
    # A message the SMTP server did not take is tried again every MAIL_RETRY_MINUTES by each serving process
    # (and by `flask send-mail`), then marked failed MAIL_GIVE_UP_HOURS after it was written. A process sending a
    # message holds it for MAIL_CLAIM_MINUTES (longer than its own retries: no other process sends it meanwhile).
    MAIL_RETRY_MINUTES = _int("MAIL_RETRY_MINUTES", 5)
    MAIL_CLAIM_MINUTES = _int("MAIL_CLAIM_MINUTES", 10)
    MAIL_GIVE_UP_HOURS = _int("MAIL_GIVE_UP_HOURS", 72)
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "formation@example.org")
    MAIL_OFFICE = os.environ.get("MAIL_OFFICE", "formation@example.org")  # notified of registrations

    # Public address used in e-mails and QR codes (links must work outside a request).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", DEVELOPMENT_PUBLIC_URL)

    # Trainees' personal links: valid this many days, then renewable by e-mail.
    TRAINEE_LINK_MAX_AGE_DAYS = _int("TRAINEE_LINK_MAX_AGE_DAYS", 120)
    # A request on the public registration page holds no seat until the person opens the link e-mailed to the
    # address typed and confirms it: the link works this many hours (services/registration_requests.py).
    REGISTRATION_CONFIRM_HOURS = _int("REGISTRATION_CONFIRM_HOURS", 48)
    # Wall-clock time zone of the schedule (slots are stored as local dates and times).
    TIMEZONE = os.environ.get("TIMEZONE", "Europe/Paris")
    # Signing window: from this many minutes before a slot starts to its end.
    SIGNING_OPENS_MINUTES_BEFORE = _int("SIGNING_OPENS_MINUTES_BEFORE", 15)
    # A trainer closes a half-day's sheet from this many minutes before its end (early departures first).
    CLOSING_OPENS_MINUTES_BEFORE_END = _int("CLOSING_OPENS_MINUTES_BEFORE_END", 30)
    # Largest scan of a paper attendance sheet or absence justification (checked by content too).
    ATTENDANCE_UPLOAD_MAX_BYTES = _int("ATTENDANCE_UPLOAD_MAX_BYTES", 5 * 1024 * 1024)
    # Records (attendance, certificates, funding evidence) are kept this many years.
    RECORD_RETENTION_YEARS = _int("RECORD_RETENTION_YEARS", 6)
    # `flask purge-expired` deletes the e-mails sent or filed more than this many days ago.
    MAIL_KEEP_DAYS = _int("MAIL_KEEP_DAYS", 90)
    # Convert issued documents to PDF through LibreOffice when it is installed.
    DOCUMENTS_AS_PDF = _bool("DOCUMENTS_AS_PDF", False)

    # Reverse proxies in front of the app (nginx, a load balancer...): with N > 0, the client's address
    # and scheme are read from the last N X-Forwarded-For / X-Forwarded-Proto values. Leave 0 when the
    # app is reached directly: those headers could then be forged by anyone.
    TRUSTED_PROXY_HOPS = _int("TRUSTED_PROXY_HOPS", 0)

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # Flask-Limiter's default, named: a sign-in counted as failed before its password is checked is given back
    # when it succeeds (blueprints/auth/views.py), which fixed windows allow.
    RATELIMIT_STRATEGY = "fixed-window"
    # "Recevoir un nouveau lien" (blueprints/trainee/views.py): per e-mail address typed, and per network address
    # (a whole group asks from the room's Wi-Fi: one address for all of them).
    LINK_REQUESTS_PER_ADDRESS = os.environ.get("LINK_REQUESTS_PER_ADDRESS", "3 per hour")
    # Public registration requests accepted for one e-mail address typed, from any network (each mails it a
    # confirmation link): enough for someone asking for several courses, not to flood a mailbox.
    REGISTRATION_REQUESTS_PER_ADDRESS = os.environ.get("REGISTRATION_REQUESTS_PER_ADDRESS", "5 per hour; 20 per day")
    LINK_REQUESTS_PER_NETWORK = os.environ.get("LINK_REQUESTS_PER_NETWORK", "30 per minute; 300 per day")
    # Failed sign-ins (POST /connexion, wrong password or unknown address; a successful one is not counted): per
    # network address, and per account typed from each network address (a new password starts its count again).
    # Once one is spent, that network is refused, even the right password; other networks are not (strangers who
    # type a trainer's address cannot lock the trainer out), each with its own bounded number of guesses.
    SIGN_IN_FAILURES_PER_ACCOUNT = os.environ.get("SIGN_IN_FAILURES_PER_ACCOUNT", "10 per hour; 30 per day")
    SIGN_IN_FAILURES_PER_NETWORK = os.environ.get("SIGN_IN_FAILURES_PER_NETWORK", "10 per minute; 300 per day")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("TIMEZONE", "Europe/Paris")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # A form's CSRF token lasts as long as the browser's session (to which it is bound), not one hour: a
    # trainee who leaves the follow-up questionnaire half-filled and comes back in the evening keeps their answers.
    WTF_CSRF_TIME_LIMIT = None
    REMEMBER_COOKIE_HTTPONLY = True
    # "Se souvenir de moi": a month, not Flask-Login's year, and not sent along with another site's requests.
    REMEMBER_COOKIE_DAYS = _int("REMEMBER_COOKIE_DAYS", 30)
    REMEMBER_COOKIE_DURATION = _days(REMEMBER_COOKIE_DAYS)
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # How long a sign-in lasts, "remember me" or not, whatever the browser keeps (a copy of a cookie, a browser
    # that ignores its expiry): the server refuses it afterwards (services/users.py). As long as "remember me".
    SIGN_IN_LIFETIME = REMEMBER_COOKIE_DURATION
    SESSIONS_PER_PAGE = 20
    CLAIMS_PER_PAGE = 50
    # The public page's requests waiting for their confirmation: the newest on the session's page, then a page each.
    WAITING_REQUESTS_PER_PAGE = 20
    # Rendered pages each process keeps until the data changes (training_app/page_cache.py); 0: none.
    PAGE_CACHE_ENTRIES = 200
    PAGE_CACHE_BYTES = 20_000_000
    # Benchmarks only (bench/load.py): an X-SQL-Queries header on every response. Off in real use.
    BENCH_COUNT_QUERIES = _bool("BENCH_COUNT_QUERIES", False)
    PRODUCTION = False


class DevelopmentConfig(Config):
    DEBUG = False  # the demo is served without the debugger (it must be safe on a room network)


class TestingConfig(Config):
    TESTING = True
    # Tests move the clock years away from the moment their clients signed in; those of the rule
    # (tests/web/test_sign_in_sessions.py, tests/unit/test_users.py) set the month back.
    SIGN_IN_LIFETIME = timedelta(days=36500)
    SECRET_KEY = "testing-secret"
    SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("TEST_DATABASE_URL"), "sqlite://")
    WTF_CSRF_ENABLED = False  # tests/web/test_csrf.py switches it back on and checks every form
    RATELIMIT_ENABLED = False
    MAIL_SERVER = None
    # The tests read the e-mails kept (the `outbox` fixture) as the mailboxes that would get them: the pages that
    # tell "an e-mail was sent" (« Mot de passe oublié ») say so and send it. tests/web/test_password_link.py
    # turns it off to see what the site says without MAIL_SERVER.
    MAIL_CAPTURED_AS_DELIVERED = True
    SERVER_NAME = None


class ProductionConfig(Config):
    # Real data: `flask seed-demo` refuses to run (cli.py), whatever the cookies' settings.
    PRODUCTION = True
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    PUBLIC_URL = os.environ.get("PUBLIC_URL")  # no default: check() refuses to start without it

    @classmethod
    def check(cls, settings) -> None:
        """Refuse to start without a real SECRET_KEY (from the environment), or without the site's own
        PUBLIC_URL in `settings` (the configuration with create_app's overrides): every link e-mailed (password
        links, trainees' personal links, convocations) and every QR code would lead to the loopback."""
        key = os.environ.get("SECRET_KEY")
        if not key or key == PUBLIC_SECRET_KEY or len(key) < 16:
            raise RuntimeError(
                "SECRET_KEY must be set to a long random value in production "
                "(python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        check_public_url(settings.get("PUBLIC_URL"))


def check_public_url(value) -> None:
    """SettingError unless `value` is an http(s) address with a host, other than the development server's."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if (parts is None or parts.scheme not in {"http", "https"} or not parts.hostname
            or value.rstrip("/") == DEVELOPMENT_PUBLIC_URL):
        typed = f"« {value} »" if value else "non défini"
        raise SettingError(f"Réglage PUBLIC_URL invalide ({typed}) : l'adresse publique du site, avec "
                           f"http:// ou https:// et son nom (par exemple « https://formation.example.org »), est "
                           f"attendue en production, car les liens envoyés par e-mail (mots de passe, liens "
                           f"personnels des stagiaires, convocations) et les QR codes y mènent. Définissez la "
                           f"variable d'environnement puis relancez.")


def instance_secret_key(instance_path: str) -> str:
    """A random key made on the first run and kept in <instance>/secret_key, readable by its owner only,
    so that restarts keep sessions and trainees' links valid (development without SECRET_KEY)."""
    path = os.path.join(instance_path, "secret_key")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, encoding="ascii") as file:
            key = file.read().strip()
        if len(key) < 32:
            raise RuntimeError(f"{path} holds no usable key: delete it (a new one is made) or set SECRET_KEY.")
        return key
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key + "\n")
    logging.getLogger(__name__).warning("SECRET_KEY is not set: a random key was made and kept in %s", path)
    return key


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
