"""Pages kept once rendered (training_app/page_cache.py): given again while nothing changed, rendered
again at once when the data changes, per user, per minute, with each browser's own CSRF token."""
import re
from datetime import datetime

import pytest
from sqlalchemy import insert, text

from tests import factories
from tests.conftest import is_postgres
from training_app import create_app
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app import page_cache
from training_app.models import AuditEntry, DataVersion, Organisation
from training_app.page_cache import KeptPages, data_token
from training_app.services import programmes as programme_service


def _catalogue(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_changed_programme_shows_at_once_even_within_the_same_instant(client):
    programme = factories.make_programme(title="Négocier localement", price_cents=84000)
    other = factories.make_programme(title="Mobiliser")
    assert "Négocier localement" in _catalogue(client) and "840,00" in _catalogue(client)
    with frozen_at(datetime(2030, 1, 1, 10, 0)):  # same last-update time for both edits
        programme_service.save_programme(programme, {"title": "Négocier ensemble", "price_cents": 90000},
                                         ["Préparer une négociation"])
        db.session.commit()
        page = _catalogue(client)
        assert "Négocier ensemble" in page and "900,00" in page and "Négocier localement" not in page
        programme_service.set_archived(other, True)
        db.session.commit()
        assert "Mobiliser" not in _catalogue(client)
    factories.make_programme(title="Animer une réunion")
    assert "Animer une réunion" in _catalogue(client)


def test_the_organisation_shown_follows_its_settings(client):
    factories.make_programme(title="Négocier localement")
    assert "Si on s&#39;alliait" not in _catalogue(client)
    organisation = Organisation.get()
    organisation.name, organisation.declaration_number = "Si on s'alliait ?", "53350000035"
    db.session.commit()
    page = _catalogue(client)
    assert "alliait" in page and "53350000035" in page


def test_staff_see_their_own_menu_after_an_anonymous_visit(client, admin_client):
    factories.make_programme(title="Négocier localement")
    assert "Se déconnecter" not in _catalogue(client)
    assert "Se déconnecter" in _catalogue(admin_client)
    assert "Se déconnecter" not in _catalogue(client)


# --- the data version ------------------------------------------------------------------------------

def test_every_committed_write_changes_the_data_token_and_nothing_else_does(app):
    factories.make_programme()
    first = data_token()
    assert first is not None

    db.session.scalar(db.select(Organisation).limit(1))
    db.session.commit()  # a transaction that only read
    assert data_token() == first

    factories.make_programme()  # the ORM
    second = data_token()
    assert second not in (None, first)

    db.session.execute(text("UPDATE programmes SET title = 'Renommée'"))  # a text statement, rolled back
    db.session.rollback()
    assert data_token() == second

    db.session.execute(text("UPDATE programmes SET title = 'Renommée'"))  # the same, committed
    db.session.commit()
    third = data_token()
    assert third != second

    with db.engine.begin() as conn:  # Core, on a connection of its own
        conn.execute(insert(AuditEntry).values(entity_type="test", entity_id=1, action="noted",
                                               at=datetime(2030, 1, 1)))
    assert data_token() not in (second, third)


def test_a_transaction_that_changes_the_schema_leaves_the_token_alone(app):
    factories.make_programme()
    before = data_token()
    try:
        with db.engine.begin() as conn:  # what a migration does
            conn.execute(text("CREATE TABLE scratch_schema_change (x INTEGER)"))
            conn.execute(text("INSERT INTO scratch_schema_change VALUES (1)"))
        assert data_token() == before
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE scratch_schema_change"))


def test_each_write_renews_one_row_of_the_token_and_any_row_changes_it(app, monkeypatch):
    factories.make_programme()
    before = data_token()
    monkeypatch.setattr(page_cache, "token_row", lambda: 7)
    factories.make_programme()
    after_seventh = data_token()
    assert after_seventh != before
    assert db.session.get(DataVersion, 7) is not None
    monkeypatch.setattr(page_cache, "token_row", lambda: 3)
    factories.make_programme()
    assert data_token() not in (before, after_seventh)
    assert len(db.session.scalars(db.select(DataVersion)).all()) <= page_cache.DATA_VERSION_ROWS


@pytest.mark.postgres_only
def test_a_writer_does_not_wait_for_another_that_renewed_another_row(app, monkeypatch):
    """A writer holds the row it renewed until its commit: one still open on row 1 (as between its renewal and
    the end of its commit) does not hold back a writer that drew row 2. With a single row, this commit would
    wait for the other (and meet the lock timeout)."""
    if not is_postgres(app):
        pytest.skip("row locks need PostgreSQL (set TEST_DATABASE_URL)")
    factories.make_programme()
    with db.engine.connect() as other:
        other.execute(text(page_cache._NEW_TOKEN.format(row=1, token="ouvert-sur-la-ligne-1")))  # not committed
        monkeypatch.setattr(page_cache, "token_row", lambda: 2)
        db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
        factories.make_programme(title="Écrite pendant ce temps")
        other.rollback()
    assert db.session.scalar(db.select(DataVersion.token).where(DataVersion.id == 1)) != "ouvert-sur-la-ligne-1"


def test_kept_pages_forget_the_least_recently_used_beyond_their_size():
    pages = KeptPages(2)
    pages.put("a", b"A")
    pages.put("b", b"B")
    assert pages.get("a") == b"A"  # "b" is now the least recently used
    pages.put("c", b"C")
    assert (pages.get("a"), pages.get("b"), pages.get("c")) == (b"A", None, b"C")


def test_kept_pages_stay_within_their_bytes():
    pages = KeptPages(10, max_bytes=10)
    pages.put("a", b"x" * 6)
    pages.put("b", b"y" * 4)
    pages.put("b", b"y" * 3)  # replaced, not counted twice
    pages.put("c", b"z" * 3)  # 6 + 3 + 3 > 10: "a" goes
    assert (pages.get("a"), pages.get("b"), pages.get("c")) == (None, b"yyy", b"zzz")
    pages.put("d", b"w" * 11)  # larger than everything: never kept
    assert pages.get("d") is None and pages.get("b") == b"yyy"


# --- staff pages -----------------------------------------------------------------------------------

def _without_csrf_token(page: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*?value=")[^"]+', r"\1", page)


def test_a_kept_page_is_given_again_until_the_data_changes(admin_client):
    session = factories.make_session(programme=factories.make_programme(title="Négocier localement"))
    with frozen_at(datetime(2030, 3, 5, 10, 0, 5)):  # both within the minute a page is kept for
        rendered, page = factories.page_statements(admin_client, "/sessions")
        kept, again = factories.page_statements(admin_client, "/sessions")
    # the same page, but for the CSRF token signed for each request (it carries the second it was made in)
    assert "Négocier localement" in page and _without_csrf_token(again) == _without_csrf_token(page)
    assert rendered > 3 and kept == 1  # the data token only

    session.programme.title = "Négocier ensemble"
    db.session.commit()
    _, changed = factories.page_statements(admin_client, "/sessions")
    assert "Négocier ensemble" in changed and "Négocier localement" not in changed

    forced, _ = factories.page_statements(admin_client, "/sessions", **{"Cache-Control": "no-cache"})  # a forced reload
    assert forced == rendered


def test_a_kept_page_lasts_the_minute_it_was_rendered_in(admin_client):
    factories.make_session()
    with frozen_at(datetime(2030, 3, 5, 10, 0, 5)):
        factories.page_statements(admin_client, "/tableau-de-bord")
    with frozen_at(datetime(2030, 3, 5, 10, 0, 55)):
        assert factories.page_statements(admin_client, "/tableau-de-bord")[0] == 1
    with frozen_at(datetime(2030, 3, 5, 10, 1, 0)):  # time-dependent states (phases, signing windows)
        assert factories.page_statements(admin_client, "/tableau-de-bord")[0] > 1


def test_each_user_gets_their_own_page(app, admin, trainer):
    mine = factories.make_session(trainers=[trainer])
    others = factories.make_session()
    admin_client, trainer_client = app.test_client(), app.test_client()
    factories.login(admin_client, admin)
    factories.login(trainer_client, trainer)
    assert f'href="/sessions/{others.id}"' in factories.page_statements(admin_client, "/sessions")[1]
    page = factories.page_statements(trainer_client, "/sessions")[1]
    assert f'href="/sessions/{mine.id}"' in page and f'href="/sessions/{others.id}"' not in page
    other = app.test_client()
    factories.login(other, factories.make_user("trainer"))
    assert f'href="/sessions/{mine.id}"' not in factories.page_statements(other, "/sessions")[1]
    assert other.get(f"/sessions/{mine.id}").status_code == 403  # the page kept for its trainer is not given
    assert trainer_client.get(f"/sessions/{mine.id}").status_code == 200


def test_a_message_for_the_next_page_is_shown_once(admin_client):
    session = factories.make_session()
    factories.page_statements(admin_client, f"/sessions/{session.id}")  # kept
    with admin_client.session_transaction() as browser_session:
        browser_session["_flashes"] = [("success", "Bien enregistré.")]
    assert "Bien enregistré." in factories.page_statements(admin_client, f"/sessions/{session.id}")[1]
    assert "Bien enregistré." not in factories.page_statements(admin_client, f"/sessions/{session.id}")[1]


def test_a_user_signed_in_by_their_remember_me_cookie_never_shares_their_page(app):
    trainer = factories.make_user("trainer", name="Tom Formateur")
    factories.make_session(trainers=[trainer])
    tom = app.test_client()
    answer = tom.post("/connexion", data={"email": trainer.email, "password": factories.PASSWORD, "remember": "y"})
    assert answer.status_code == 302 and tom.get_cookie("remember_token") is not None
    tom.delete_cookie("session")  # the browser was closed: only the remember-me cookie is left
    assert "Tom Formateur" in factories.page_statements(tom, "/tableau-de-bord")[1]
    assert "Tom Formateur" in factories.page_statements(tom, "/tableau-de-bord")[1]
    stranger = app.test_client()
    answer = stranger.get("/tableau-de-bord")
    assert answer.status_code == 302 and "/connexion" in answer.headers["Location"]
    assert "Tom Formateur" not in stranger.get("/").get_data(as_text=True)


def test_a_query_string_that_is_not_utf8_is_no_error(client):
    factories.make_programme(title="Négocier localement")
    for _ in range(2):
        answer = client.get("/", environ_overrides={"QUERY_STRING": "x=\xff"})  # a raw byte, as proxies pass it
        assert answer.status_code == 200 and "Négocier localement" in answer.get_data(as_text=True)


@pytest.fixture
def protected(app):
    """The application with CSRF on, as in production."""
    application = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                         "WTF_CSRF_ENABLED": True})
    yield application
    with application.app_context():
        db.engine.dispose()
    token_engine = application.extensions.get("data_version_engine")
    if token_engine is not None:
        token_engine.dispose()


def _csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_each_browser_gets_its_own_csrf_token_in_a_kept_page_and_can_post_with_it(protected):
    admin = factories.make_user("admin")
    session = factories.make_session(status="planned")
    browsers = [protected.test_client(), protected.test_client()]
    for browser in browsers:
        token = _csrf_token(browser.get("/connexion").get_data(as_text=True))
        answer = browser.post("/connexion", data={"email": admin.email, "password": factories.PASSWORD,
                                                  "csrf_token": token})
        assert answer.status_code == 302
    pages = [browser.get(f"/sessions/{session.id}").get_data(as_text=True) for browser in browsers]
    kept = browsers[0].get(f"/sessions/{session.id}").get_data(as_text=True)
    tokens = [_csrf_token(page) for page in pages]
    assert tokens[0] != tokens[1] and "\x00" not in kept
    assert kept.replace(_csrf_token(kept), "") == pages[0].replace(tokens[0], "")  # the same page, given again
    for browser, page, day in zip(browsers, pages, ("2030-03-06", "2030-03-07")):
        answer = browser.post(f"/sessions/{session.id}/creneaux", data={
            "csrf_token": _csrf_token(page), "date": day, "start_time": "18:00", "end_time": "19:00"})
        assert answer.status_code == 302 and "Le formulaire a expiré" not in answer.get_data(as_text=True)
    db.session.expire_all()
    assert len(session.slots) == 8
