"""A closed sheet is read far more often than corrected: an administrator gets one correction form,
for the trainee they chose, instead of a form per row (bench/README.md)."""
from datetime import timedelta

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import attendance


def _closed_sheet(trainer):
    session, enrolments = factories.make_attendance_session(trainees=3, trainers=[trainer])
    slot = session.slots[0]
    with frozen_at(slot.ends_at - timedelta(minutes=5)):  # the trainer closes near the end
        for enrolment in enrolments:
            attendance.sign(slot, enrolment, factories.signature_data_url(), method="device")
        attendance.close_slot(slot, trainer, factories.signature_data_url(9))
        db.session.commit()
    return session, slot, enrolments


def test_a_closed_sheet_offers_one_correction_form_at_a_time(admin_client, trainer):
    session, slot, (_awa, julien, _sophie) = _closed_sheet(trainer)
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    page = admin_client.get(url).get_data(as_text=True)
    assert page.count('data-testid="correct-link"') == 3 and "data-status-form" not in page
    assert f"{url}?corriger={julien.id}#stagiaire-{julien.id}" in page
    page = admin_client.get(f"{url}?corriger={julien.id}").get_data(as_text=True)
    assert page.count("data-status-form") == 1 and f'name="r{julien.id}-reason"' in page
    assert page.count('data-testid="correct-link"') == 2
    response = admin_client.post(f"{url}/statut/{julien.id}", data={
        f"r{julien.id}-status": "late", f"r{julien.id}-arrival_time": "14:30",
        f"r{julien.id}-reason": "Arrivée tardive oubliée"})
    assert response.status_code == 302
    assert [v.action for v in attendance.versions(slot)] == ["closed", "corrected"]


def test_trainers_read_a_closed_sheet_without_forms(trainer_client, trainer):
    session, slot, _enrolments = _closed_sheet(trainer)
    page = trainer_client.get(f"/sessions/{session.id}/emargement/{slot.id}").get_data(as_text=True)
    assert "data-status-form" not in page and 'data-testid="correct-link"' not in page
