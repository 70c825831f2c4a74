"""The office closes, from the sheet, a sheet no trainer signed on its day (rules and documents:
tests/unit/test_attendance_office_closing.py)."""
from datetime import timedelta

from tests.unit.test_attendance_office_closing import REASON, SAID, forgotten_sheet, next_morning, with_paper_scan
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import attendance


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_the_office_closes_a_forgotten_sheet_from_the_sheet_page(admin_client, trainer_client, trainer):
    session, slot = forgotten_sheet(trainer)
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    with next_morning(slot):
        page = text(trainer_client.get(url))
        assert 'data-testid="office-closing-help"' not in page and 'name="reason"' not in page
        page = text(admin_client.get(url))
        assert 'data-testid="office-closing-help"' in page and 'name="reason"' in page
        response = admin_client.post(f"{url}/clore", data={"reason": ""})
        assert response.status_code == 422 and "indiquez le motif de la clôture par l'administration" in text(response)
        response = admin_client.post(f"{url}/clore", data={"reason": REASON})
        assert response.status_code == 302
        page = text(admin_client.get(url))
    assert "Feuille close par l'administration, sans signature du / de la formateur·rice." in page
    assert SAID in page
    db.session.expire_all()
    assert attendance.slot_sheet(slot).is_closed
    grid = text(admin_client.get(f"/sessions/{session.id}/emargement"))
    assert grid.count('data-testid="office-closing"') == 1 and SAID in grid
    history = text(admin_client.get(f"{url}/historique"))
    assert "Clôture par l'administration, sans signature du / de la formateur·rice" in history and REASON in history


def test_a_reopened_sheet_with_a_paper_scan_is_closed_by_the_office_with_a_reason(admin, admin_client, trainer,
                                                                                  trainer_client):
    session, slot = forgotten_sheet(trainer)
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    with next_morning(slot):
        with_paper_scan(slot, admin)
        page = text(admin_client.get(url))
        assert 'data-testid="office-closing-help"' not in page  # the paper bears the trainer's signature
        assert text(trainer_client.post(f"{url}/clore", data={}, follow_redirects=True)).count(
            "ne se modifie et ne se clôt plus que par l'administration") == 2  # the refusal, the page's notice
        assert admin_client.post(f"{url}/clore", data={}).status_code == 302
        attendance.reopen_slot(slot, admin, "Erreur de saisie")
        db.session.commit()
    with frozen_at(slot.ends_at + timedelta(days=2)):
        page = text(admin_client.get(url))
        assert 'data-testid="office-closing-help"' in page and "La réouverture a annulé la signature" in page
        response = admin_client.post(f"{url}/clore", data={"reason": ""})
        assert response.status_code == 422 and "indiquez le motif de la clôture par l'administration" in text(response)
        assert admin_client.post(f"{url}/clore", data={"reason": REASON}).status_code == 302
    db.session.expire_all()
    assert attendance.slot_sheet(slot).sheet.office_closing_reason == REASON
