"""A session over (past its end, or marked completed) takes no trainee and offers none of its seats."""
from datetime import datetime

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import ServiceError


def test_a_session_marked_completed_takes_no_trainee_one_marked_running_still_does():
    completed, running = factories.make_session(), factories.make_session()
    completed.status, running.status = "completed", "running"
    db.session.commit()
    with frozen_at(datetime(2030, 3, 1, 10)):
        with pytest.raises(ServiceError, match="Cette session est terminée"):
            factories.enrol(completed)
        db.session.rollback()
        assert factories.enrol(running).status == "confirmed"  # a late joiner, as the calendar's running


@pytest.mark.parametrize("marked_completed", [False, True])
def test_a_session_over_offers_no_seat_nor_enrolment(admin_client, marked_completed):
    session = factories.make_session(capacity=2)
    factories.enrol(session)
    when = datetime(2030, 3, 1, 10) if marked_completed else datetime(2030, 4, 1, 10)
    if marked_completed:
        session.status = "completed"
        db.session.commit()
    with frozen_at(when):
        page = admin_client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Session terminée : elle ne prend plus d'inscription." in page.replace("&#39;", "'")
    assert "place(s) libre(s)" not in page and "Inscrire un·e stagiaire" not in page
    assert "Importer une liste" not in page
