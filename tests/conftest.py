"""Shared fixtures.

The database is TEST_DATABASE_URL (PostgreSQL in CI) or a temporary SQLite file. The
schema is created once per run; every test starts from empty tables.

Requests made with `client` run in a fresh application context (as in production),
so a view never sees the test's own SQLAlchemy session: what the test reads back
after a request is what the request committed.
"""
import contextlib
import contextvars
import os
import threading

import flask.globals
import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.serving import make_server

from training_app import create_app
from training_app.extensions import db, limiter

from tests import factories

CHROMIUM = "/usr/bin/chromium"


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


class FreshContextClient(FlaskClient):
    """A test client whose requests never reuse the test's application context."""

    def open(self, *args, **kwargs):
        def run():
            flask.globals._cv_app.set(None)
            return FlaskClient.open(self, *args, **kwargs)
        return contextvars.copy_context().run(run)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    os.environ["INSTANCE_PATH"] = str(instance)
    application = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": _normalise(database_url(tmp_path_factory)),
        "STORAGE_DIR": str(instance / "storage"),
    })
    application.test_client_class = FreshContextClient
    with application.app_context():
        db.drop_all()
        _drop_alembic_version()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def rate_limited_app(app):
    """Another app on the test run's database, with rate limiting on. The limiter is one object shared by
    every app of the run: it is turned off and emptied again afterwards, or later tests would be limited."""
    limited = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                     "STORAGE_DIR": app.config["STORAGE_DIR"], "RATELIMIT_ENABLED": True})
    yield limited
    limiter.enabled = False
    limiter.reset()


@pytest.fixture
def month_long_sign_ins(app, monkeypatch):
    """The lifetime of a sign-in outside the tests (TestingConfig lengthens it: tests move the clock by years)."""
    monkeypatch.setitem(app.config, "SIGN_IN_LIFETIME", app.config["REMEMBER_COOKIE_DURATION"])


def _normalise(url: str) -> str:
    from training_app.config import _database_url
    return _database_url(url, url)


def _drop_alembic_version():
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def is_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


@pytest.fixture(autouse=True)
def _app_context(app):
    """Each test runs in an application context and leaves the tables empty."""
    with app.app_context():
        app.extensions["outbox"].clear()
        yield
        db.session.remove()
        _empty_tables(app)


def _empty_tables(app) -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if is_postgres(app):
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def outbox(app):
    return app.extensions["outbox"]


@pytest.fixture
def admin():
    return factories.make_user(role="admin", name="Alice Admin")


@pytest.fixture
def trainer():
    return factories.make_user(role="trainer", name="Tom Trainer")


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    factories.login(client, admin)
    return client


@pytest.fixture
def trainer_client(app, trainer):
    client = app.test_client()
    factories.login(client, trainer)
    return client


# --- browser tests -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def live_server(app):
    """The app served on a free local port, with CSRF on, as a browser sees it."""
    yield from serve(app)


def serve(app, **settings):
    """Serve an app on the test run's database on a free local port, with CSRF on and `settings`; yields it."""
    served = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "STORAGE_DIR": app.config["STORAGE_DIR"],
        "WTF_CSRF_ENABLED": True,
        **settings,
    })
    server = make_server("127.0.0.1", 0, served, threaded=True)
    served.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ])
        yield chromium
        chromium.close()


def _new_page(browser, live_server):
    """A page in a browser context of its own (its own cookies: another person), on the live server."""
    with browser_context(browser, live_server) as context:
        yield context.new_page()


@contextlib.contextmanager
def browser_context(browser, live_server, **options):
    """A browser context on the live server (`options`: Playwright's, e.g. a phone's viewport), closed at the end.
    Whatever the journey, the browser refused nothing under the Content-Security-Policy (its console says so)."""
    context = browser.new_context(base_url=live_server.config["PUBLIC_URL"], locale="fr-FR", **options)
    context.set_default_timeout(10_000)
    refused = []
    context.on("console", lambda message: refused.append(message.text)
               if "Content Security Policy" in message.text else None)
    yield context
    context.close()
    assert refused == []


@pytest.fixture
def page(browser, live_server):
    yield from _new_page(browser, live_server)


@pytest.fixture
def second_page(browser, live_server):
    """Another person's browser: a second administrator, or a visitor never signed in."""
    yield from _new_page(browser, live_server)


# --- the funding tests' world (tests.web.test_funding builds it) ----------------------------------------------

@pytest.fixture
def world():
    """A completed 21-hour session, Uniformation, an employer and three confirmed trainees
    (tests.web.test_funding.make_world). A test file may define its own `world`."""
    from tests.web.test_funding import make_world
    return make_world()


@pytest.fixture
def sources(monkeypatch):
    """The attendance and certificates the funding claims read, stubbed and set per test
    (tests.web.test_funding.stub_sources; the live server of the browser tests runs in this process)."""
    from tests.web.test_funding import stub_sources
    return stub_sources(monkeypatch)
