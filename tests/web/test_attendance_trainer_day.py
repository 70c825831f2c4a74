"""The trainer's sheet page: what it shows to the trainees it is handed round to."""
import io
from datetime import timedelta

from tests import factories
from training_app.clock import frozen_at
from training_app.services import attendance

REASON = "Hospitalisation (chimiothérapie)"


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_the_sheet_handed_round_shows_no_absence_reason_and_the_overview_does(app, trainer, trainer_client,
                                                                             admin_client):
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[1]
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    download = f"{url}/justificatif/{julien.id}"
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        response = trainer_client.post(f"{url}/statut/{julien.id}", content_type="multipart/form-data", data={
            f"r{julien.id}-status": "absent_justified", f"r{julien.id}-justification": REASON,
            f"r{julien.id}-document": (io.BytesIO(b"%PDF-1.4 certificat"), "certificat.pdf")})
        assert response.status_code == 302
        sheet = text(trainer_client.get(url))
        overview = {name: text(client.get(f"/sessions/{session.id}/emargement"))
                    for name, client in (("trainer", trainer_client), ("admin", admin_client))}
        # left blank on the sheet, the reason stays
        response = trainer_client.post(f"{url}/statut/{julien.id}", data={f"r{julien.id}-status": "absent_justified"})
        assert response.status_code == 302
    assert "Faire signer" in sheet and "Absent·e, absence justifiée" in sheet
    assert REASON not in sheet and "chimiothérapie" not in sheet and download not in sheet
    assert "laissez vide pour le garder" in sheet
    for page in overview.values():  # the staff who see the sheet see the reason and the document on the overview
        assert f"motif : {REASON}" in page and f'href="{download}"' in page
    for client in (trainer_client, admin_client):
        assert client.get(download).data == b"%PDF-1.4 certificat"
    record = attendance.slot_sheet(slot).rows[1].record
    assert (record.justification, record.justification_kind) == (REASON, "pdf")
