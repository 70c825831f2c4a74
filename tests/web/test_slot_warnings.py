"""A half-day added or moved from the session's page: an absurd length is refused with its message on the form; a
weekend day, a date months away and planned hours unlike the programme's duration are told, not refused."""
import html
from datetime import datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import TrainingSession


def _page_after(client, response) -> str:
    return html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))


def test_a_half_day_of_a_few_minutes_or_a_whole_day_is_refused_with_its_reason(admin_client):
    session = factories.make_session()  # Tue 5 Mar 14:00 to Fri 8 Mar 2030 12:30: 21 h, as its programme
    for start, end, refusal in (("14:00", "14:05", "Une demi-journée dure au moins 30 minutes"),
                                ("00:00", "23:59", "Une demi-journée dure au plus 5 h")):
        response = admin_client.post(f"/sessions/{session.id}/creneaux", data={
            "date": "2030-03-11", "start_time": start, "end_time": end})
        assert response.status_code == 422 and refusal in html.unescape(response.get_data(as_text=True))
        response = admin_client.post(f"/sessions/{session.id}/creneaux/{session.slots[-1].id}", data={
            "date": "2030-03-08", "start_time": start, "end_time": end})
        assert response.status_code == 200 and refusal in html.unescape(response.get_data(as_text=True))
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert len(session.slots) == 6 and session.planned_minutes == 21 * 60


def test_an_odd_half_day_is_taken_with_warnings(admin_client):
    session = factories.make_session()  # its programme « … » lasts 21 h, as its half-days
    title = session.programme.title
    response = admin_client.post(f"/sessions/{session.id}/creneaux", data={
        "date": "2030-03-10", "start_time": "09:30", "end_time": "12:30"})  # a Sunday
    page = _page_after(admin_client, response)
    assert "Demi-journée ajoutée." in page
    assert "La demi-journée du 10/03/2030 tombe un dimanche : vérifiez sa date." in page
    assert f"Les demi-journées prévues font 24 h, alors que la formation « {title} » dure 21 h" in page
    sunday = session.slots[-1]
    response = admin_client.post(f"/sessions/{session.id}/creneaux/{sunday.id}", data={
        "date": "2030-08-30", "start_time": "09:30", "end_time": "12:30"})  # a Friday, five months later
    page = _page_after(admin_client, response)
    assert "Demi-journée modifiée." in page and "dimanche" not in page
    assert "La demi-journée du 30/08/2030 tombe à 175 jours des autres demi-journées de la session" in page
    assert "Les demi-journées prévues font 24 h" in page
    response = admin_client.post(f"/sessions/{session.id}/creneaux/{sunday.id}/supprimer")
    page = _page_after(admin_client, response)
    assert "Demi-journée supprimée." in page and "Les demi-journées prévues font" not in page  # 21 h again
    response = admin_client.post(f"/sessions/{session.id}/creneaux/{session.slots[0].id}/supprimer")
    assert f"Les demi-journées prévues font 17 h, alors que la formation « {title} » dure 21 h" in _page_after(
        admin_client, response)


def test_a_half_day_moved_to_yesterday_is_refused_in_words_that_fit_editing(admin_client):
    session = factories.make_session()
    with frozen_at(datetime(2030, 3, 6, 8, 0)):
        response = admin_client.post(f"/sessions/{session.id}/creneaux/{session.slots[-1].id}", data={
            "date": "2030-03-05", "start_time": "09:30", "end_time": "12:30"})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and "On ne peut pas déplacer une demi-journée dans le passé." in page
    assert "ajouter une demi-journée dans le passé" not in page
