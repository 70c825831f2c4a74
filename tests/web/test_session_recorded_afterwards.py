"""« Session déjà réalisée » through the pages: the creation form's box (administrators only), the enrolment of a
session over, and its sheets, which say they were entered afterwards from the paper sheet and offer no signing."""
import html
import io
from datetime import datetime

from tests import factories
from tests.web.test_sessions import session_form
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, Enrolment, Slot, TrainingSession
from training_app.services import attendance
from training_app.services import sessions as session_service

NOW = datetime(2030, 3, 20, 10, 0)  # after the course of 5 to 8 March 2030 (session_form's dates)
BOX = "Session déjà réalisée : je la saisis à partir des feuilles d'émargement papier"
NOTE = "Saisie a posteriori d'après la feuille papier jointe"


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)))


def test_a_past_session_is_refused_without_the_box_which_the_message_names_and_nothing_is_saved(admin_client):
    programme = factories.make_programme()
    with frozen_at(NOW):
        page = _text(admin_client.get("/sessions/nouvelle"))
        response = admin_client.post("/sessions/nouvelle", data=session_form(programme))
    assert BOX in page and 'name="recorded_afterwards"' in page
    text = _text(response)
    assert response.status_code == 200
    assert "La fin de la session (08/03/2030 à 12h30) est déjà passée" in text and f"cochez « {BOX} »" in text
    assert _count(TrainingSession) == 0 and _count(Slot) == 0


def test_with_the_box_the_past_session_is_created_recorded_afterwards_by_whom_ticked_it(admin_client, admin):
    programme = factories.make_programme()
    with frozen_at(NOW):
        response = admin_client.post("/sessions/nouvelle", data=session_form(programme, recorded_afterwards="y",
                                                                             status="running"))
    assert response.status_code == 302
    session = db.session.scalar(db.select(TrainingSession))
    assert session.recorded_afterwards and len(session.slots) == 6
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.entity_type == "training_sessions",
                                                          AuditEntry.entity_id == session.id))
    assert (entry.action, entry.actor_id, entry.details) == ("created", admin.id, {"recorded_afterwards": True})
    with frozen_at(NOW):  # its edit form has no box: chosen once, and kept
        edit = _text(admin_client.get(f"/sessions/{session.id}/modifier"))
        enrolments = _text(admin_client.get(f"/sessions/{session.id}"))
    assert 'name="recorded_afterwards"' not in edit
    assert "Inscrire un·e stagiaire" in enrolments  # over, it still takes the office's enrolments
    assert "Saisie a posteriori d'après les feuilles d'émargement papier" in enrolments


def test_the_box_ticked_for_a_session_to_come_is_refused_on_it_and_nothing_is_saved(admin_client):
    programme = factories.make_programme()
    with frozen_at(datetime(2030, 3, 1, 9)):
        response = admin_client.post("/sessions/nouvelle", data=session_form(programme, recorded_afterwards="y"))
    assert response.status_code == 200
    assert "Une session déjà réalisée a commencé : son début (05/03/2030 à 14h00) est à venir." in _text(response)
    assert _count(TrainingSession) == 0 and _count(Slot) == 0


def test_a_trainer_cannot_create_one(trainer_client):
    programme = factories.make_programme()
    with frozen_at(NOW):
        response = trainer_client.post("/sessions/nouvelle", data=session_form(programme, recorded_afterwards="y"))
    assert response.status_code == 403 and _count(TrainingSession) == 0


def _recorded(trainer):
    with frozen_at(NOW):
        session = session_service.create_session(session_service.SessionData(
            programme=factories.make_programme(), start_at=datetime(2030, 3, 5, 14),
            end_at=datetime(2030, 3, 8, 12, 30), status="running", trainers=(trainer,)), recorded_afterwards=True)
        db.session.commit()
    return session, factories.make_enrolment(session)


def test_the_office_enrols_a_trainee_through_the_form_once_it_is_over(admin_client, trainer):
    session, _enrolment = _recorded(trainer)
    trainee = factories.make_trainee(first_name="Karim", last_name="Benali")
    with frozen_at(NOW):
        response = admin_client.post(f"/sessions/{session.id}/inscrire", data={
            "trainee_id": str(trainee.id), "employer_id": "0", "category": "", "funding_mode": "personal"})
    assert response.status_code == 302, response.get_data(as_text=True)
    status = db.session.scalar(db.select(Enrolment.status).where(Enrolment.session_id == session.id,
                                                                 Enrolment.trainee_id == trainee.id))
    assert status == "confirmed"


def test_its_sheets_say_they_were_entered_afterwards_and_offer_no_signing(admin_client, trainer_client, admin,
                                                                         trainer):
    session, enrolment = _recorded(trainer)
    slot = session.slots[0]
    base = f"/sessions/{session.id}/emargement"
    with frozen_at(NOW):
        sheet = _text(admin_client.get(f"{base}/{slot.id}"))
        overview = _text(admin_client.get(base))
        qr = admin_client.get(f"{base}/{slot.id}/qr")
    assert NOTE in sheet and NOTE in overview
    assert "Afficher le QR code" not in sheet and "Faire signer" not in sheet and qr.status_code == 404
    with frozen_at(datetime(2030, 3, 5, 17, 55)):  # on the day, closing time: no pad for the trainer either
        trainer_sheet = _text(trainer_client.get(f"{base}/{slot.id}"))
        personal = factories.personal_path(enrolment.trainee, "attendance.trainee_sign", slot_id=slot.id)
        trainee_page = _text(admin_client.application.test_client().get(personal))
    assert NOTE in trainer_sheet and "pad-formateur" not in trainer_sheet
    assert "ne se signe pas ici" in trainee_page and "pad-stagiaire" not in trainee_page
    with frozen_at(NOW):  # the office enters the paper sheet, attaches its scan, closes
        attendance.mark(slot, enrolment, "present", actor=admin)
        db.session.commit()
        refused = admin_client.post(f"{base}/{slot.id}/clore", data={})
        assert "Joignez d'abord le scan de la feuille papier" in _text(refused)
        assert admin_client.post(f"{base}/{slot.id}/scan", data={
            "file": (io.BytesIO(b"%PDF-1.4 feuille papier"), "feuille.pdf")},
            content_type="multipart/form-data").status_code == 302
        assert admin_client.post(f"{base}/{slot.id}/clore", data={}).status_code == 302
        word = admin_client.get(f"{base}/feuille.docx")
    assert attendance.slot_sheet(slot).is_closed
    assert "Saisie a posteriori d'après la feuille papier jointe" in factories.docx_text(word.data)
