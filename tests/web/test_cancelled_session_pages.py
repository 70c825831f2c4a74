"""A cancelled session is not one still to run: its pages ask for no signature, offer no signing, closing,
seat nor positioning questionnaire, and keep what is meaningful (the cancellation itself)."""
from datetime import datetime, timedelta

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceSheet, Survey
from training_app.services import sessions as session_service

REASON = "Formatrice malade"


def _page(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


@pytest.fixture
def cancelled(admin, trainer):
    """The reference session (Tue 5 Mar 2030 14:00 - Fri 8 Mar 12:30) with two trainees, cancelled on 20 Feb."""
    session, _enrolments = factories.make_attendance_session(trainees=2, trainers=(trainer,))
    with frozen_at(datetime(2030, 2, 20, 9, 0)):
        session_service.cancel_session(session, REASON, actor=admin)
    db.session.commit()
    return session


def test_the_attendance_overview_of_a_cancelled_session_asks_for_no_signature(admin_client, cancelled):
    with frozen_at(datetime(2030, 4, 1, 9, 0)):  # every half-day is over
        page = _page(admin_client.get(f"/sessions/{cancelled.id}/emargement"))
    assert "Session annulée : aucune signature n'est attendue." in page
    assert 'data-testid="missing-count"' not in page and "ouverte" not in page
    assert 'class="grid-cell missing"' not in page  # the trainer's row: no "!"


def test_the_trainers_sheet_of_a_cancelled_session_offers_no_signing_nor_closing(trainer_client, admin_client,
                                                                                 cancelled):
    slot = cancelled.slots[0]
    url = f"/sessions/{cancelled.id}/emargement/{slot.id}"
    with frozen_at(slot.ends_at - timedelta(minutes=5)):  # when a trainer signs and closes
        page = _page(trainer_client.get(url))
        assert "Session annulée" in page and "Feuille ouverte" not in page
        assert "Signer et clore la feuille" not in page and "Clore la feuille" not in page
        assert "Afficher le QR code" not in page
        assert "Joindre le scan" not in _page(admin_client.get(url))  # nor a paper sheet to attach
        response = trainer_client.post(f"{url}/clore", data={"signature": factories.signature_data_url(9)},
                                       follow_redirects=True)
    assert "Cette session est annulée : ses demi-journées ne s'émargent pas." in _page(response)
    assert db.session.scalar(db.select(AttendanceSheet.status).where(AttendanceSheet.slot_id == slot.id)) != "closed"


def test_the_page_of_a_cancelled_session_offers_no_seat_no_review_no_positioning(admin_client, cancelled):
    slot = cancelled.slots[0]
    with frozen_at(slot.starts_at + timedelta(minutes=30)):  # during its first half-day
        page = _page(admin_client.get(f"/sessions/{cancelled.id}"))
    assert "Session annulée le 20/02/2030 à 9h00 par" in page and f"Motif : {REASON}" in page  # kept
    assert "place libre" not in page and "places libres" not in page and "elle n'offre plus de place" in page
    assert "Bilan de la session à rédiger" not in page and "Évaluer les acquis" not in page
    assert "Positionnement à partir des objectifs" not in page and "Ajouter un questionnaire" not in page
    assert "Feuille de la demi-journée en cours" not in page and "close sur" not in page and "closes sur" not in page
    assert "Les documents s'émettent une fois la session terminée" not in page


def test_the_positioning_action_is_refused_on_a_cancelled_session(admin_client, cancelled):
    response = admin_client.post(f"/sessions/{cancelled.id}/questionnaires/positionnement", follow_redirects=True)
    assert "Cette session est annulée : elle n'a pas de questionnaire de positionnement." in _page(response)
    assert db.session.scalar(db.select(db.func.count(Survey.id))) == 0


def test_the_positioning_action_is_offered_before_the_end_only(admin_client):
    session = factories.make_session(programme=factories.make_programme(objectives=("Préparer", "Conclure")))
    url = f"/sessions/{session.id}"
    with frozen_at(datetime(2030, 3, 8, 12, 30)):  # its last half-day is over
        assert "Positionnement à partir des objectifs" not in _page(admin_client.get(url))
        response = admin_client.post(f"{url}/questionnaires/positionnement", follow_redirects=True)
        assert "Cette session est terminée : le positionnement se fait avant la formation." in _page(response)
    assert db.session.scalar(db.select(db.func.count(Survey.id))) == 0
    with frozen_at(datetime(2030, 3, 1, 9, 0)):
        assert "Positionnement à partir des objectifs" in _page(admin_client.get(url))
        admin_client.post(f"{url}/questionnaires/positionnement")
    assert db.session.scalar(db.select(db.func.count(Survey.id))) == 1
