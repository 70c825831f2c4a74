"""The trainer's half-day sheet on a tablet: the time fields each status asks for."""
import re
from datetime import timedelta

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord


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
