"""Who a half-day's sheet may be marked for, through the sheet's forms as a hand-made request would post them."""
from datetime import timedelta

from tests.unit.test_attendance_late_enrolment import confirmed_after_the_first_half_day
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def records_of(enrolment):
    return list(db.session.scalars(db.select(AttendanceRecord).where(AttendanceRecord.enrolment_id == enrolment.id)))


def test_a_row_the_sheet_hides_cannot_be_marked_by_a_posted_form(trainer, trainer_client):
    session, first, zoe = confirmed_after_the_first_half_day(trainer)
    url = f"/sessions/{session.id}/emargement/{first.id}"
    with frozen_at(first.ends_at + timedelta(minutes=20)):
        assert text(trainer_client.get(url)).count('data-testid="row"') == 1  # Awa only
        response = trainer_client.post(f"{url}/statut/{zoe.id}", data={f"r{zoe.id}-status": "absent_unjustified"})
    assert response.status_code == 422
    assert "n'était pas encore inscrit·e pour cette demi-journée" in text(response)
    db.session.expire_all()
    assert records_of(zoe) == []
