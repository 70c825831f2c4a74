"""The dashboard's session lists and the session page's counts (review of the sessions area)."""
import re
from datetime import datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import sessions as session_service

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
