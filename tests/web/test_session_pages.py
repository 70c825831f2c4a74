"""The dashboard's session lists and the session page's counts (review of the sessions area)."""
import re
from datetime import datetime

from tests import factories
from tests.web.test_sessions import session_form
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import sessions as session_service
from training_app.services.sessions import SessionData

DURING = datetime(2030, 3, 6, 10)  # the factory session runs Tue 5 March 2030 14:00 - Fri 8 March 12:30


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True).replace("&#39;", "'"))


def test_the_dashboard_leaves_cancelled_sessions_out_of_upcoming_and_running_ones(admin_client):
    kept = factories.make_session(programme=factories.make_programme(title="Négocier avec l'employeur"))
    cancelled = factories.make_session(programme=factories.make_programme(title="Accueillir sans juger"))
    session_service.cancel_session(cancelled, "La formatrice est malade.")
    db.session.commit()
    page = _text(admin_client.get("/tableau-de-bord"))
    assert "Négocier avec l'employeur" in page and "Accueillir sans juger" not in page
    with frozen_at(DURING):
        page = _text(admin_client.get("/tableau-de-bord"))
    assert kept.title in page and "Accueillir sans juger" not in page and "Aucune session en cours." not in page


def test_the_session_page_counts_the_seats_taken_once_as_its_enrolment_list_does(trainer_client, trainer):
    """A trainee who dropped out once the course had started keeps their seat (enrolments.count_places): the
    session's enrolments' section says so, and the page says it once."""
    session = factories.make_session(trainers=[trainer], capacity=2)
    factories.make_enrolment(session)
    dropped = factories.make_enrolment(session, status="withdrawn")
    dropped.withdrawn_on = session.start_at.date()
    db.session.commit()
    page = _text(trainer_client.get(f"/sessions/{session.id}"))
    assert re.search(r'data-testid="seats">\s*2 places occupées sur 2', page)
    assert page.count("places occupées") == 1 and "Places</dt>" not in page


def test_raising_the_capacity_tells_the_office_who_got_a_seat_from_the_waiting_list(admin_client, outbox):
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    waiting = [factories.enrol(session), factories.enrol(session)]
    db.session.commit()
    data = session_form(session.programme, version=factories.version_of(session), capacity="3")
    response = admin_client.post(f"/sessions/{session.id}/modifier", data=data, follow_redirects=True)
    page = _text(response)
    assert "Session mise à jour." in page
    assert "2 personnes de la liste d'attente ont obtenu une place (places ajoutées). Chaque personne concernée " \
           "est prévenue par e-mail." in page
    db.session.expire_all()
    assert [e.status for e in waiting] == ["confirmed", "confirmed"]


def test_promotions_from_the_waiting_list_are_returned_by_the_update(outbox):
    session = factories.make_session(capacity=1)
    factories.enrol(session)
    waiting = factories.enrol(session)
    update = session_service.update_session(session, SessionData(
        programme=session.programme, start_at=session.start_at, end_at=session.end_at, capacity=2,
        status=session.status))
    assert update.promoted == [waiting] and waiting.status == "confirmed"
