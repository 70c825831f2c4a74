"""The trainer's sheet page: what it shows to the trainees it is handed round to, and what a trainer can still do
there once the half-day's day is over."""
import io
from datetime import timedelta

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
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


def test_after_the_day_the_trainer_sees_the_sheet_read_only_and_the_office_corrects_it(app, trainer, trainer_client,
                                                                                      admin, admin_client):
    factories.make_organisation()
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    slot = session.slots[1]
    url = f"/sessions/{session.id}/emargement/{slot.id}"
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        for n, enrolment in enumerate((awa, julien)):
            attendance.sign(slot, enrolment, factories.signature_data_url(n + 1), method="device")
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        attendance.close_slot(slot, trainer, factories.signature_data_url(9))
    db.session.commit()
    with frozen_at(slot.ends_at + timedelta(days=3)):
        attendance.reopen_slot(slot, admin, "Corriger l'heure de départ de Julien")
        db.session.commit()
        page = text(trainer_client.get(url))
        assert 'data-testid="marking-over"' in page and "data-status-form" not in page
        assert "Signer et clore la feuille" not in page and 'data-testid="closing-by-office"' in page
        assert 'data-testid="voided-trainer-signature"' in page
        assert "Feuille rouverte (motif dans l'historique de la feuille)" in page
        response = trainer_client.post(f"{url}/statut/{awa.id}", data={
            f"r{awa.id}-status": "left_early", f"r{awa.id}-departure_time": "10:00"}, follow_redirects=True)
        assert response.status_code == 422 and "Le jour de cette demi-journée est passé" in text(response)
        response = trainer_client.post(f"{url}/clore", data={}, follow_redirects=True)
        assert "ne se modifie et ne se clôt plus que par l'administration" in text(response)
        admin_page = text(admin_client.get(url))
        assert "data-status-form" in admin_page and 'data-testid="office-closing-help"' in admin_page
        assert "La réouverture a annulé la signature" in admin_page
    assert attendance.slot_sheet(slot).rows[0].record.status == "present"
    assert not attendance.slot_sheet(slot).is_closed
    overview = text(admin_client.get(f"/sessions/{session.id}/emargement"))
    assert f"signature de {trainer.name} (12h25) annulée à la réouverture du 09/03/2030" in overview


def test_the_overview_says_each_trainers_signature_a_reopening_voided_with_its_time(app, trainer, admin,
                                                                                    admin_client):
    elodie = factories.make_user("trainer", name="Élodie Martin")
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer, elodie])
    slot = session.slots[1]  # Wednesday 6 March 2030, 9:30-12:30
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        attendance.sign(slot, awa, factories.signature_data_url(1), method="device")
    for minute, who in ((25, trainer), (26, elodie)):
        with frozen_at(slot.ends_at - timedelta(minutes=30 - minute)):  # 12:25, then 12:26
            attendance.close_slot(slot, who, factories.signature_data_url(9))
            attendance.reopen_slot(slot, admin, "Vérification")
            db.session.commit()
    overview = text(admin_client.get(f"/sessions/{session.id}/emargement"))
    said = ("signature de Tom Trainer (12h25) annulée à la réouverture du 06/03/2030 ; "
            "signature d'Élodie Martin (12h26) annulée à la réouverture du 06/03/2030")
    assert f'data-testid="voided-trainer">{said}<' in overview and f'title="{said}"' in overview
