"""The staff sessions list (/sessions) shows each session's seats taken over its capacity, and its waiting list
when there is one, counted as the session's page counts them (enrolments.count_places), in one statement for
the whole page."""
import re
from datetime import date, datetime

from tests import factories
from training_app.extensions import db
from training_app.models import EnrolmentStatus
from training_app.services import enrolments as enrolment_service


def _seats(page: str, session) -> str:
    """The text of the "Places" cell of `session`'s row, spaces squeezed."""
    row = re.search(rf'href="/sessions/{session.id}">.*?</tr>', page, re.S).group(0)
    cell = re.search(r'data-testid="seats">(.*?)</td>', row, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", cell).split())


def _withdrawn(session, on: date):
    enrolment = factories.make_enrolment(session, status=EnrolmentStatus.WITHDRAWN)
    enrolment.withdrawn_on = on
    db.session.commit()
    return enrolment


def test_the_list_shows_seats_taken_over_capacity_and_the_waiting_list(admin_client):
    full = factories.make_session(capacity=3)
    for status in ("confirmed", "confirmed", "waitlisted", "waitlisted", "requested", "cancelled"):
        factories.make_enrolment(full, status=status)
    _withdrawn(full, full.start_at.date())  # dropped out on the first day: the seat was used
    _withdrawn(full, date(2030, 3, 1))  # before the start (as recorded): no seat
    empty = factories.make_session(start=datetime(2031, 3, 4, 9, 30), end=datetime(2031, 3, 4, 18), capacity=12)

    page = admin_client.get("/sessions").get_data(as_text=True)

    assert _seats(page, full) == "3 / 3 2 en liste d'attente"
    assert _seats(page, empty) == "0 / 12"  # no waiting list: nothing said about it
    places = enrolment_service.count_places(full)
    assert (places.taken, places.waiting) == (3, 2)  # as the session's own page counts them


def test_places_of_counts_as_count_places_and_reads_nothing_for_an_empty_page(app):
    sessions = [factories.make_session(capacity=4) for _ in range(3)]
    factories.make_enrolment(sessions[0])
    factories.make_enrolment(sessions[1], status="waitlisted")
    _withdrawn(sessions[1], sessions[1].start_at.date())
    for session in sessions:
        db.session.refresh(session)  # loaded, as a page's sessions are
    with factories.count_queries() as statements:
        counted = enrolment_service.places_of(sessions)
    assert len(statements) == 1
    for session in sessions:
        expected = enrolment_service.count_places(session)
        assert (counted[session.id].capacity, counted[session.id].taken, counted[session.id].waiting) == \
            (expected.capacity, expected.taken, expected.waiting)
    with factories.count_queries() as statements:
        assert enrolment_service.places_of([]) == {}
    assert statements == []


def test_the_list_runs_as_many_statements_for_twenty_sessions_as_for_one(admin_client):
    def enrolled_session():
        session = factories.make_session()
        for status in ("confirmed", "confirmed", "waitlisted", "withdrawn"):
            factories.make_enrolment(session, status=status)
        return session

    enrolled_session()
    one = factories.rendered_page_queries(admin_client, "/sessions")
    for _ in range(19):
        enrolled_session()
    twenty = factories.rendered_page_queries(admin_client, "/sessions")
    page = admin_client.get("/sessions").get_data(as_text=True)
    assert page.count('data-testid="seats">2 / 15') == 20
    assert twenty == one
