"""The public page's requests waiting for their confirmation, as the office sees them: the session's page shows the
newest (WAITING_REQUESTS_PER_PAGE) and their number, with a link to all of them a page at a time
(enrolments.unconfirmed_list, administrators only); either page runs as many statements for 3 requests as for 30."""
from datetime import datetime, timedelta

import pytest

from tests import factories
from tests.web.test_access_matrix import _is_sign_in_redirect
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import RegistrationRequest
from training_app.services import registration_requests

NOW = datetime(2030, 2, 1, 10, 0)  # local time, February: UTC+1; the sessions made here start on 5 March 2030
PER_PAGE = 20


def _waiting(session, count: int, first: int = 0) -> list[RegistrationRequest]:
    """`count` requests not confirmed, made in the last hours before NOW, a minute apart (UTC times, as stored)."""
    made = []
    for number in range(first, first + count):
        asked_at = NOW - timedelta(hours=10) + timedelta(minutes=number)
        made.append(RegistrationRequest(
            session=session, email=f"personne{number}@example.org", funding_mode="personal",
            details={"first_name": f"Prénom{number}", "last_name": f"Nom{number}"},
            token_hash=registration_requests.token_hash(f"{session.id}-{number}"),
            requested_at=asked_at, expires_at=asked_at + timedelta(hours=48)))
    db.session.add_all(made)
    db.session.commit()
    return made


def _rows(page: str) -> list[str]:
    return [row.split("</td>")[1].split("<td>")[1] for row in page.split('data-testid="unconfirmed-requests-row">')[1:]]


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_the_session_page_shows_the_newest_waiting_requests_their_number_and_a_link_to_all(admin_client):
    session = factories.make_session()
    made = _waiting(session, 25)
    # neither a confirmed request nor one whose link expired is waiting
    confirmed, expired = _waiting(session, 2, first=100)
    confirmed.confirmed_at = NOW - timedelta(hours=2)
    expired.expires_at = NOW - timedelta(hours=2)
    db.session.commit()
    newest_first = sorted(made, key=lambda asked: (asked.requested_at, asked.id), reverse=True)
    with frozen_at(NOW):
        page = _text(admin_client.get(f"/sessions/{session.id}"))
        assert "Demandes en attente de confirmation par e-mail (25)" in page
        assert _rows(page) == [asked.email for asked in newest_first[:PER_PAGE]]
        more = page.split('data-testid="unconfirmed-requests-more">')[1].split("</p>")[0]
        assert "Les 20 plus récentes sont affichées." in more
        assert f'href="/sessions/{session.id}/demandes-en-attente">Voir les 25 demandes en attente</a>' in more

        first = _text(admin_client.get(f"/sessions/{session.id}/demandes-en-attente"))
        second = _text(admin_client.get(f"/sessions/{session.id}/demandes-en-attente?page=2"))
        assert "Demandes en attente de confirmation par e-mail (25)" in first
        assert _rows(first) + _rows(second) == [asked.email for asked in newest_first]
        assert f'href="/sessions/{session.id}/demandes-en-attente?page=2"' in first  # the pager
        beyond = admin_client.get(f"/sessions/{session.id}/demandes-en-attente?page=9")
        assert beyond.status_code == 200 and "Aucune demande en attente sur cette page." in _text(beyond)


def test_up_to_20_waiting_requests_are_all_on_the_session_page_the_21st_brings_the_link(admin_client):
    for size, linked in ((20, False), (21, True)):
        session = factories.make_session()
        _waiting(session, size)
        with frozen_at(NOW):
            page = _text(admin_client.get(f"/sessions/{session.id}"))
        assert f"Demandes en attente de confirmation par e-mail ({size})" in page
        assert len(_rows(page)) == PER_PAGE
        assert ('data-testid="unconfirmed-requests-more"' in page) == linked


@pytest.mark.parametrize("url", ["/sessions/{id}", "/sessions/{id}/demandes-en-attente"])
def test_the_pages_of_waiting_requests_run_a_constant_number_of_statements(admin_client, url):
    counts = []
    for size in (3, 30):
        session = factories.make_session()
        _waiting(session, size)
        with frozen_at(NOW):
            statements, page = factories.page_statements(admin_client, url.format(id=session.id),
                                                         **{"Cache-Control": "no-cache"})
        assert f"Demandes en attente de confirmation par e-mail ({size})" in page
        assert len(_rows(page)) == min(size, PER_PAGE)
        counts.append(statements)
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("role, expected", [("anonymous", "sign-in"), ("trainer", 403), ("admin", 200)])
def test_only_administrators_see_the_list_of_waiting_requests(app, role, expected):
    """A trainer, even one teaching the session, sees its enrolments, not the addresses typed on the public page."""
    trainer = factories.make_user("trainer")
    session = factories.make_session(trainers=[trainer])
    _waiting(session, 2)
    client = app.test_client()
    if role != "anonymous":
        factories.login(client, trainer if role == "trainer" else factories.make_user("admin"))
    with frozen_at(NOW):
        response = client.get(f"/sessions/{session.id}/demandes-en-attente")
        session_page = client.get(f"/sessions/{session.id}")
    if expected == "sign-in":
        assert _is_sign_in_redirect(response) and _is_sign_in_redirect(session_page)
    else:
        assert response.status_code == expected and session_page.status_code == 200
        assert ("personne1@example.org" in _text(response)) == (role == "admin")
        assert ("personne1@example.org" in _text(session_page)) == (role == "admin")


def test_a_request_made_for_the_session_s_former_programme_is_not_listed_nor_counted_as_waiting(admin_client):
    """It can no longer be confirmed (registration_requests.closed_since: the person asked for another course, and
    is told so on the link's page): the office has nothing to wait for. One recorded before the programme was
    kept (none stored) still waits."""
    session = factories.make_session()
    current, former, unknown = _waiting(session, 3)
    current.details = {**current.details, registration_requests.PROGRAMME_KEY: session.programme_id}
    former.details = {**former.details, registration_requests.PROGRAMME_KEY: factories.make_programme().id}
    db.session.commit()
    with frozen_at(NOW):
        page = _text(admin_client.get(f"/sessions/{session.id}"))
        assert "Demandes en attente de confirmation par e-mail (2)" in page
        assert _rows(page) == [unknown.email, current.email]
        every = _text(admin_client.get(f"/sessions/{session.id}/demandes-en-attente"))
        assert "Demandes en attente de confirmation par e-mail (2)" in every
        assert _rows(every) == [unknown.email, current.email]
        assert [asked.id for asked in registration_requests.unconfirmed(session)] == [current.id, unknown.id]
        assert registration_requests.closed_since(former) != ""
    current.details = {**current.details, registration_requests.PROGRAMME_KEY: factories.make_programme().id}
    unknown.confirmed_at = NOW - timedelta(hours=1)
    db.session.commit()
    with frozen_at(NOW):  # none left waiting: no section at all
        page = _text(admin_client.get(f"/sessions/{session.id}"))
        assert "Demandes en attente de confirmation" not in page
        every = _text(admin_client.get(f"/sessions/{session.id}/demandes-en-attente"))
    assert 'data-testid="no-unconfirmed-requests"' in every
