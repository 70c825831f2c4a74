"""Who a half-day's sheet may be marked for (a hand-made request included), and how the pages show an enrolment
whose attendance has begun."""
from datetime import timedelta

from tests import factories
from tests.unit.test_attendance_late_enrolment import confirmed_after_the_first_half_day
from tests.unit.test_enrolment_attendance_begun import cancelled_on_the_sheet, started_course
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


def test_a_cancelled_enrolment_on_the_sheet_shows_its_state_and_no_status_form(trainer, trainer_client):
    session, slot, _awa, julien = cancelled_on_the_sheet(trainer)
    with frozen_at(slot.starts_at + timedelta(minutes=10)):
        page = text(trainer_client.get(f"/sessions/{session.id}/emargement/{slot.id}"))
    row = page[page.index(f'id="stagiaire-{julien.id}"'):]
    row = row[:row.index("</section>")]
    assert 'data-testid="row-enrolment-state"' in row and "Inscription : " in row
    assert "data-status-form" not in row and "Signature manquante" not in row


def test_once_signing_opens_the_pages_offer_a_withdrawal_not_a_cancellation(trainer, admin_client, client):
    session, slot, _awa, julien, _other = started_course(trainer)
    with frozen_at(slot.starts_at - timedelta(minutes=10)):
        office = text(admin_client.get(f"/inscriptions/{julien.id}"))
        personal = text(client.get(factories.personal_path(julien.trainee)))
    assert "Enregistrer un abandon" in office and "Déplacer vers une autre session" not in office
    assert "Annuler mon inscription" not in personal
    with frozen_at(slot.starts_at - timedelta(minutes=20)):  # before: as it was
        office = text(admin_client.get(f"/inscriptions/{julien.id}"))
        personal = text(client.get(factories.personal_path(julien.trainee)))
    assert "Enregistrer un abandon" not in office and "Déplacer vers une autre session" in office
    assert "Annuler mon inscription" in personal
