"""An internal course (free) made external: its upcoming sessions priced 0 take the programme's price."""
from datetime import datetime

from tests import factories
from tests.web.test_form_input import programme_form
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import TrainingSession


def test_an_internal_course_made_external_prices_its_upcoming_sessions(admin_client):
    programme = factories.make_programme(kind="internal", price_cents=0, objectives=("Préparer",))
    upcoming = factories.make_session(programme=programme, price_cents=None)
    past = factories.make_session(programme=programme, start=datetime(2029, 3, 6, 9, 30),
                                  end=datetime(2029, 3, 6, 18))
    with frozen_at(datetime(2030, 1, 10, 10)):
        response = admin_client.post(f"/admin/formations/{programme.id}/modifier", follow_redirects=True, data=dict(
            programme_form(title=programme.title, price="840"), version=factories.version_of(programme)))
    assert "sa session à venir, gratuite jusqu'ici, passe à son prix" in response.get_data(as_text=True).replace(
        "&#39;", "'")
    db.session.expire_all()
    assert db.session.get(TrainingSession, upcoming.id).price_cents == 84000
    assert db.session.get(TrainingSession, past.id).price_cents == 0
