"""The office's enrolment page of a session that takes nobody any more (over, cancelled) says why, with no form
and no seats offered (its submission was already refused)."""
from datetime import datetime

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Enrolment


@pytest.mark.parametrize("state, why", [
    ("over", "Cette session est terminée : on ne peut plus s'y inscrire."),
    ("cancelled", "Cette session est annulée : on ne peut plus s'y inscrire."),
])
def test_a_closed_session_shows_why_instead_of_seats_and_the_form(admin_client, state, why):
    session = factories.make_session(capacity=15, status="cancelled" if state == "cancelled" else "open")
    for _ in range(3):
        db.session.add(Enrolment(session=session, trainee=factories.make_trainee(), status="confirmed",
                                 requested_at=datetime(2030, 1, 1)))
    db.session.commit()
    with frozen_at(datetime(2030, 4, 1) if state == "over" else datetime(2030, 1, 1)):
        for response in (admin_client.get(f"/sessions/{session.id}/inscrire"),
                         admin_client.post(f"/sessions/{session.id}/inscrire", data={"trainee_id": "0"})):
            page = response.get_data(as_text=True).replace("&#39;", "'")
            assert response.status_code == 200 and why in page
            assert "places libres" not in page and "liste d'attente" not in page
            assert 'name="trainee_id"' not in page and ">Inscrire</button>" not in page
