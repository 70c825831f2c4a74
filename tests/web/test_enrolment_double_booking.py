"""The office's form refuses a seat at the same hours as another session where the trainee holds one
(services: tests/unit/test_enrolment_double_booking.py)."""
from datetime import datetime

from tests import factories
from training_app.extensions import db
from training_app.models import Enrolment


def test_the_enrolment_form_names_the_other_session_and_the_half_day_and_saves_nothing(admin_client):
    week = factories.make_session()
    nadia = factories.make_trainee("Nadia", "Belkacem")
    factories.enrol(week, nadia)
    morning = factories.make_session(start=datetime(2030, 3, 6, 9, 30), end=datetime(2030, 3, 6, 12, 30))
    response = admin_client.post(f"/sessions/{morning.id}/inscrire", data={
        "trainee_id": str(nadia.id), "employer_id": "0", "category": "individual", "funding_mode": "personal"})
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 200
    assert (f"Nadia Belkacem a déjà une place confirmée à la session « {week.title} » du 05/03/2030 à 14h00, dont "
            "la demi-journée du 06/03/2030 de 9h30 à 12h30 a lieu aux mêmes heures") in page
    assert db.session.scalar(db.select(db.func.count(Enrolment.id)).where(Enrolment.session_id == morning.id)) == 0
