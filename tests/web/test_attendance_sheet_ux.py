"""The trainer's half-day sheet on a tablet: the time fields each status asks for, an error on one row named at
the top and brought into view, confirmations in the row."""
import re
from datetime import timedelta

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord

DATA_URL = factories.signature_data_url


def sheet_url(session, slot, suffix=""):
    return f"/sessions/{session.id}/emargement/{slot.id}{suffix}"


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def card(page: str, enrolment) -> str:
    start = page.index(f'id="stagiaire-{enrolment.id}"')
    return page[start:page.index("</section>", start)]


@pytest.fixture
def course(trainer):
    session, enrolments = factories.make_attendance_session(trainees=4, trainers=[trainer])
    names = [("Nolwenn", "Guégan"), ("Awa", "Diallo"), ("Julien", "Le Bihan"), ("Sophie", "Renaud")]
    for enrolment, (first, last) in zip(enrolments, names):
        enrolment.trainee.first_name, enrolment.trainee.last_name = first, last
    db.session.commit()
    return session, enrolments  # sorted on the sheet: Diallo, Guégan, Le Bihan, Renaud


def statuses():
    db.session.expire_all()
    return dict(db.session.execute(db.select(AttendanceRecord.enrolment_id, AttendanceRecord.status)).all())


def test_the_arrival_time_shows_for_a_late_arrival_and_the_departure_time_for_an_early_departure(
        trainer_client, course):
    session, (nolwenn, *_rest) = course
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=30)):
        row = card(text(trainer_client.get(sheet_url(session, slot))), nolwenn)
    arrival = re.search(r'<div class="col-6" data-show-for="([^"]*)" data-keep-for="([^"]*)">\s*'
                        r'<div class="mb-3 ">\s*<label[^>]*for="r\d+-arrival_time"', row)
    departure = re.search(r'<div class="col-6" data-show-for="([^"]*)" data-keep-for="([^"]*)">\s*'
                          r'<div class="mb-3 ">\s*<label[^>]*for="r\d+-departure_time"', row)
    assert arrival.groups() == ("late", "left_early") and departure.groups() == ("left_early", "late")


def test_a_refused_status_is_named_at_the_top_and_its_field_brought_into_view(trainer_client, course):
    session, (nolwenn, awa, *_rest) = course
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=30)):
        response = trainer_client.post(sheet_url(session, slot, f"/statut/{nolwenn.id}"),
                                       data={f"r{nolwenn.id}-status": "late"})
    assert response.status_code == 422
    page = text(response)
    top = page[:page.index('data-testid="row"')]
    assert "Statut non enregistré pour Nolwenn Guégan : indiquez l'heure d'arrivée." in top
    assert page.count("autofocus") == 1
    assert re.search(rf'<input[^>]*autofocus[^>]*id="r{nolwenn.id}-arrival_time"'
                     rf'|<input[^>]*id="r{nolwenn.id}-arrival_time"[^>]*autofocus', page)
    assert "failed" in page[page.rindex("<section", 0, page.index(f'id="stagiaire-{nolwenn.id}"')):
                            page.index(f'id="stagiaire-{nolwenn.id}"')]
    assert "Indiquez l'heure d'arrivée." in card(page, nolwenn)
    with frozen_at(slot.starts_at + timedelta(minutes=30)):  # a refusal of the service, on no field: the status
        response = trainer_client.post(sheet_url(session, slot, f"/statut/{awa.id}"),
                                       data={f"r{awa.id}-status": "nonsense"})
    page = text(response)
    assert response.status_code == 422 and "Statut non enregistré pour Awa Diallo : " in page
    assert re.search(rf'<select[^>]*autofocus[^>]*id="r{awa.id}-status"|<select[^>]*id="r{awa.id}-status"[^>]*'
                     r'autofocus', page)
    assert statuses() == {}


def test_a_signature_and_a_status_are_confirmed_in_their_row_and_at_the_top(trainer_client, course):
    session, (nolwenn, awa, *_rest) = course
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        response = trainer_client.post(sheet_url(session, slot, f"/signer/{nolwenn.id}"), data={"signature": DATA_URL()})
        assert response.headers["Location"].endswith(f"#stagiaire-{nolwenn.id}")
        page = text(trainer_client.get(response.headers["Location"]))
        assert page.count("Signature de Nolwenn Guégan enregistrée.") == 2  # the flash, and in the row
        assert re.search(r'role="status" data-testid="row-notice">Signature de Nolwenn Guégan enregistrée\.',
                         card(page, nolwenn))
        again = text(trainer_client.get(sheet_url(session, slot)))  # shown once
        assert "enregistrée" not in again
        response = trainer_client.post(sheet_url(session, slot, f"/signer/{nolwenn.id}"), data={"signature": DATA_URL()},
                                       follow_redirects=True)  # a refusal too
        assert 'role="alert" data-testid="row-notice">Nolwenn Guégan a déjà signé' in card(text(response), nolwenn)
        response = trainer_client.post(sheet_url(session, slot, f"/statut/{awa.id}"),
                                       data={f"r{awa.id}-status": "absent_unjustified"}, follow_redirects=True)
        assert 'data-testid="row-notice">Statut d\'Awa Diallo enregistré.' in card(text(response), awa)
