"""The office closes, from the sheet, a sheet no trainer signed on its day (rules and documents:
tests/unit/test_attendance_office_closing.py)."""
from tests.unit.test_attendance_office_closing import REASON, SAID, forgotten_sheet, next_morning
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
