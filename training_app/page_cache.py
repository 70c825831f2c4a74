"""Pages kept once rendered, until the data changes.

A page marked `@kept_page` is a function of four things: the data in the database, the
signed-in user, its address (host, path and query string) and the time, to the minute. Rendering
one of the busy staff pages costs 10 to 50 ms of CPU (bench/README.md); giving back the HTML
rendered for the same four things costs about one. So:

- every committed transaction that wrote something gives one of the DATA_VERSION_ROWS rows of
  `data_version`, taken at random, a new random token, in that same transaction (an engine event:
  the ORM, Core and text statements, the CLI and every process of the application alike);
- the data's token is made of all those rows' tokens, so any committed write changes it;
- a kept page is found by (token, user, address, minute); otherwise the view renders it and it
  is kept. A page can therefore never show data older than the last commit its request could
  see, nor time-dependent states (signing windows, phases, deadlines) older than a minute.

The CSRF token of a page's forms belongs to the browser session: it is kept as a placeholder and
put back for each request. Not kept: answers other than a rendered template, pages of a request
that shows a flash message (or another message kept in the browser session for the next page:
message_key), the reload a browser forces (`Cache-Control: no-cache`), which renders the page
again, and requests whose user is not in the session yet (signed in by the "remember me"
cookie: Flask-Login finds them during the request). Each process keeps at most
PAGE_CACHE_ENTRIES pages (0 turns this off) and PAGE_CACHE_BYTES bytes of them.

Not seen: a change written without this application (psql, another program), or by statements
the application does not send (COPY, procedures, a raw driver cursor, two-phase commits); kept
pages then last until the minute ends. Transactions that change the schema (migrations) leave the
token alone: the application is restarted after a migration. The table must exist before the
application serves (`flask db upgrade` first, as the README says): every write renews its row.
On PostgreSQL, a writer holds the row it renewed from then until its commit is on disk (the last lock
it takes, so it cannot deadlock). With one row, every writer of the application queued there: writes
were committed one at a time, whatever the number of processes (bench/README.md, thirteenth round:
8 writers of one row each reached a quarter of the rate of the same writes without it). Spread over
DATA_VERSION_ROWS rows, two writers queue only when they draw the same row.
"""
import functools
import hashlib
import random
import re
import secrets
import threading
from collections import OrderedDict

from flask import Flask, current_app, g, request, session
from flask.globals import request_ctx
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import create_engine, event, select
from sqlalchemy.exc import DBAPIError

from training_app.clock import utcnow
from training_app.extensions import db
from training_app.models import DataVersion

_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|TRUNCATE|MERGE|REPLACE|WITH)\b", re.IGNORECASE)
_SCHEMA = re.compile(r"\s*(CREATE|ALTER|DROP)\b", re.IGNORECASE)
_WROTE, _CHANGED_SCHEMA = "data_version.wrote", "data_version.schema"
DATA_VERSION_ROWS = 32
_NEW_TOKEN = ("INSERT INTO data_version (id, token) VALUES ({row}, '{token}') "
              "ON CONFLICT (id) DO UPDATE SET token = excluded.token")
_READ_TOKENS = select(DataVersion.token).order_by(DataVersion.id)
_CSRF_PLACEHOLDER = b"\x00csrf-token\x00"
_MESSAGE_KEYS = {"_flashes"}  # the browser session's keys holding a message for the next page (message_key)


def init_app(app: Flask) -> None:
    app.extensions["kept_pages"] = KeptPages(app.config.get("PAGE_CACHE_ENTRIES", 0),
                                             app.config.get("PAGE_CACHE_BYTES", 20_000_000))
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        app.extensions["data_version_engine"] = create_engine(engine.url, isolation_level="AUTOCOMMIT",
                                                              pool_size=2, max_overflow=8)
    event.listen(engine, "before_cursor_execute", _note_statement)
    event.listen(engine, "commit", _on_commit)
    event.listen(engine, "rollback", _forget)
    event.listen(engine, "checkin", lambda _dbapi, record: _forget_info(record.info))
    app.before_request_funcs.setdefault(None, []).insert(0, _serve_kept_page)


# --- the data version ------------------------------------------------------------------------------

def _note_statement(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    if _WRITES.match(statement):
        conn.info[_WROTE] = True
    elif _SCHEMA.match(statement):
        conn.info[_CHANGED_SCHEMA] = True


def _on_commit(conn) -> None:
    """Just before the transaction commits: a new token if it wrote, in the same transaction, so
    that the token and the data it stands for become visible together."""
    wrote = conn.info.pop(_WROTE, False)
    if conn.info.pop(_CHANGED_SCHEMA, False) or not wrote:
        return
    cursor = conn.connection.cursor()  # the driver's own: not seen by _note_statement
    try:
        cursor.execute(_NEW_TOKEN.format(row=token_row(), token=secrets.token_hex(16)))
    finally:
        cursor.close()


def token_row() -> int:
    """The row of `data_version` a writing transaction renews: any one, so that writers rarely share it."""
    return random.randint(1, DATA_VERSION_ROWS)


def _forget(conn) -> None:
    _forget_info(conn.info)


def _forget_info(info: dict) -> None:
    info.pop(_WROTE, None)
    info.pop(_CHANGED_SCHEMA, None)


def data_token() -> str | None:
    """The data's current token, made of every row's (None before anything was ever written, or when it
    cannot be read).

    On PostgreSQL it is read on a connection of its own in autocommit mode: one round trip, no
    transaction to begin and end, no ping (a broken connection is dropped and the page rendered). Its
    rows are read in one statement, hence as of one moment.
    """
    engine = current_app.extensions.get("data_version_engine")
    if engine is None:
        return _token_of(db.session.scalars(_READ_TOKENS))
    try:
        with engine.connect() as conn:
            return _token_of(conn.scalars(_READ_TOKENS))
    except DBAPIError:
        current_app.logger.warning("data version unreadable: pages rendered without the kept ones")
        return None


def _token_of(tokens) -> str | None:
    joined = ",".join(tokens)
    return hashlib.blake2b(joined.encode(), digest_size=16).hexdigest() if joined else None


# --- kept pages ------------------------------------------------------------------------------------

class KeptPages:
    """At most `size` pages and `max_bytes` bytes of this process, the least recently used going first."""

    def __init__(self, size: int, max_bytes: int = 20_000_000):
        self.size, self.max_bytes = size, max_bytes
        self._pages: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key) -> bytes | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key, page: bytes) -> None:
        if len(page) > self.max_bytes:
            return
        with self._lock:
            previous = self._pages.pop(key, None)
            self._bytes += len(page) - (len(previous) if previous is not None else 0)
            self._pages[key] = page
            while len(self._pages) > self.size or self._bytes > self.max_bytes:
                self._bytes -= len(self._pages.popitem(last=False)[1])

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0


def kept_page(view):
    """Mark `view` as giving the same page for the same data, user, address and minute (see above)."""

    @functools.wraps(view)
    def keeping(*args, **kwargs):
        answer = view(*args, **kwargs)
        key = g.pop("kept_page_key", None)
        # Kept only for the user it was looked up for (the one the view saw, checked again here).
        page = _keepable(answer) if key is not None and key[1] == current_user.get_id() else None
        if page is not None:
            current_app.extensions["kept_pages"].put(key, page)
        return answer

    keeping.keeps_page = True
    return keeping


def message_key(key: str) -> str:
    """Declare `key` a key of the browser session holding a message for the next page, as Flask's flashes: while
    one is pending no kept page is given, and the page that takes it out (pop_message) is not kept."""
    _MESSAGE_KEYS.add(key)
    return key


def pop_message(key: str):
    """Take the message under `key` (declared with message_key) out of the browser session, for this page."""
    message = session.pop(key, None)
    if message is not None:
        g.kept_page_shows_message = True
    return message


def _message_pending() -> bool:
    return any(session.get(key) for key in _MESSAGE_KEYS)


def _serve_kept_page():
    """Before anything else, even the access check: the page kept for this key, if any.

    The key holds the signed-in user's id (from the signed session cookie) and the data's token: the
    page was given to this same user, on this same data, after every check passed; any change of the
    user's account, rights or sessions is a change of the data, hence of the token.
    """
    pages: KeptPages = current_app.extensions["kept_pages"]
    if pages.size <= 0 or request.method != "GET" or _message_pending():
        return None
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "keeps_page", False):
        return None
    user = session.get("_user_id")
    if user is None and _remembered():
        return None  # Flask-Login will sign them in from their cookie during this request
    token = data_token()  # read before the view reads anything: see the module's docstring
    if token is None:
        return None
    key = (token, user, request.host_url, request.path, request.query_string,
           utcnow().replace(second=0, microsecond=0))
    g.kept_page_key = key
    if request.cache_control.no_cache:
        return None
    page = pages.get(key)
    return None if page is None else _with_csrf_token(page)


def _remembered() -> bool:
    cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return cookie in request.cookies and session.get("_remember") != "clear"


def _keepable(answer) -> bytes | None:
    """The page to keep from a view's answer (a rendered template: a string), in UTF-8 with its CSRF token
    as a placeholder; None if it is not to be kept (a response, a redirect, an error, a message shown or
    pending)."""
    if isinstance(answer, tuple) and len(answer) == 2 and answer[1] == 200:
        answer = answer[0]  # (page, status)
    if not isinstance(answer, str) or _message_pending() or request_ctx.flashes or g.get("kept_page_shows_message"):
        return None
    page = answer.encode()
    csrf_token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    return page.replace(csrf_token.encode(), _CSRF_PLACEHOLDER) if csrf_token else page


def _with_csrf_token(page: bytes) -> bytes:
    return page.replace(_CSRF_PLACEHOLDER, generate_csrf().encode()) if _CSRF_PLACEHOLDER in page else page
