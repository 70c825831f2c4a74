"""Attendance through the test client: sheets, signing, QR flow, closing, exports, access, query counts."""
import base64
import io
import re
from datetime import datetime, timedelta

import openpyxl
import pytest
from docx import Document

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord, AttendanceSheet, Organisation, Signature
from training_app.services import attendance

DATA_URL = factories.signature_data_url


def sheet_url(session, slot, suffix=""):
    return f"/sessions/{session.id}/emargement/{slot.id}{suffix}"


def during(slot, minutes=5):
    return frozen_at(slot.starts_at + timedelta(minutes=minutes))


def near_end(slot):
    """When a trainer can close the sheet: a few minutes before the end of the half-day."""
    return frozen_at(slot.ends_at - timedelta(minutes=5))


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


@pytest.fixture
def course(trainer):
    return factories.make_attendance_session(trainees=3, trainers=[trainer])


def test_trainer_takes_attendance_and_closes_then_changes_are_refused(trainer_client, course):
    session, (awa, julien, sophie) = course
    slot = session.slots[0]
    with near_end(slot):
        page = text(trainer_client.get(sheet_url(session, slot)))
        assert page.count('data-testid="row"') == 3 and "Faire signer" in page
        assert "Elle se clôt à partir de 17h30" in page
        for enrolment in (awa, julien):
            response = trainer_client.post(sheet_url(session, slot, f"/signer/{enrolment.id}"),
                                           data={"signature": DATA_URL()}, headers={"User-Agent": "Tablette"})
            assert response.status_code == 302
        response = trainer_client.post(sheet_url(session, slot, f"/statut/{sophie.id}"),
                                       data={f"r{sophie.id}-status": "absent_unjustified"})
        assert response.status_code == 302
        response = trainer_client.post(sheet_url(session, slot, "/clore"), data={"signature": DATA_URL(5)},
                                       follow_redirects=True)
        assert "Feuille signée et close." in text(response)
        response = trainer_client.post(sheet_url(session, slot, f"/statut/{sophie.id}"),
                                       data={f"r{sophie.id}-status": "present"})
        assert "est close" in text(response)
        response = trainer_client.post(sheet_url(session, slot, f"/signer/{sophie.id}"),
                                       data={"signature": DATA_URL()}, follow_redirects=True)
        assert "est close" in text(response)
    assert db.session.scalar(db.select(AttendanceRecord.status).where(AttendanceRecord.enrolment_id == sophie.id)) \
        == "absent_unjustified"
    signatures = db.session.scalars(db.select(Signature).order_by(Signature.id)).all()
    assert [(s.enrolment_id, s.trainer_id is not None) for s in signatures] == [
        (awa.id, False), (julien.id, False), (None, True)]
    assert signatures[0].user_agent == "Tablette" and signatures[0].ip_address == "127.0.0.1"


def test_before_closing_opens_the_close_button_is_disabled_and_says_from_when(trainer_client, course):
    session, _enrolments = course
    slot = session.slots[0]
    opens = attendance.closing_opens(slot)
    with frozen_at(opens - timedelta(minutes=45)):
        page = text(trainer_client.get(sheet_url(session, slot)))
        button = re.search(r"<button [^>]*>Signer et clore la feuille</button>", page).group(0)
        assert "disabled" in button and 'aria-describedby="closing-not-yet"' in button
        said = re.search(r'data-testid="closing-not-yet">([^<]*)<', page).group(1)
        assert said.startswith("Cette feuille se signe et se clôt à partir du ") and "à 17h30" in said
        response = trainer_client.post(sheet_url(session, slot, "/clore"), data={"signature": DATA_URL(5)},
                                       follow_redirects=True)
        assert said in text(response)  # the server still refuses
    with frozen_at(opens):
        page = text(trainer_client.get(sheet_url(session, slot)))
        assert "disabled" not in re.search(r"<button [^>]*>Signer et clore la feuille</button>", page).group(0)
        assert 'data-testid="closing-not-yet"' not in page


def test_bad_marks_show_a_message_next_to_the_field_and_save_nothing(trainer_client, course):
    session, (awa, *_rest) = course
    slot = session.slots[1]  # 9:30-12:30
    with during(slot, 60):
        response = trainer_client.post(sheet_url(session, slot, f"/statut/{awa.id}"), data={
            f"r{awa.id}-status": "late", f"r{awa.id}-arrival_time": "11:00", f"r{awa.id}-departure_time": "10:00"})
        assert response.status_code == 422
        page = text(response)
        assert re.search(r'id="r\d+-arrival_time-erreur"[^>]*>L\'heure d\'arrivée \(11h00\) doit précéder', page)
        response = trainer_client.post(sheet_url(session, slot, f"/statut/{awa.id}"), data={
            f"r{awa.id}-status": "late", f"r{awa.id}-arrival_time": "25:99"})
        assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count(AttendanceRecord.id))) == 0


def test_marking_a_trainee_who_is_not_confirmed_is_refused(admin_client, course):
    """Refused by the service, as the office sees it (a trainer does not even find the person: see
    test_attendance_enrolment_state)."""
    session, _enrolments = course
    slot = session.slots[0]
    waiting = factories.make_enrolment(session, status="waitlisted")
    with during(slot):
        response = admin_client.post(sheet_url(session, slot, f"/statut/{waiting.id}"),
                                     data={f"r{waiting.id}-status": "present"})
        assert "n'est pas confirmée" in text(response)
        response = admin_client.post(sheet_url(session, slot, f"/signer/{waiting.id}"),
                                     data={"signature": DATA_URL()}, follow_redirects=True)
        assert "n'est pas confirmée" in text(response)
    assert db.session.scalar(db.select(db.func.count(AttendanceRecord.id))) == 0


def test_a_half_day_not_yet_begun_shows_no_missing_signature(trainer_client, course):
    course, _enrolments = course
    slot = course.slots[0]
    with frozen_at(slot.starts_at - timedelta(days=1)):
        before = text(trainer_client.get(sheet_url(course, slot)))
    with near_end(slot):
        during_slot = text(trainer_client.get(sheet_url(course, slot)))
    with frozen_at(slot.ends_at + timedelta(hours=2)):
        after = text(trainer_client.get(sheet_url(course, slot)))
    assert "Signature manquante" not in before
    assert "Faire signer" in during_slot
    assert "Signature manquante" in after


def test_trainers_only_reach_their_own_sessions_and_admins_alone_reopen(app, trainer_client, course):
    session, _enrolments = course
    slot = session.slots[0]
    outsider = factories.make_user("trainer")
    client = app.test_client()
    factories.login(client, outsider)
    for url in (sheet_url(session, slot), f"/sessions/{session.id}/emargement",
                f"/sessions/{session.id}/emargement/feuille.docx", sheet_url(session, slot, "/qr")):
        assert client.get(url).status_code == 403, url
    assert trainer_client.post(sheet_url(session, slot, "/rouvrir"), data={"reason": "x"}).status_code == 403


def test_admin_reopens_with_a_reason_and_the_history_shows_every_version(admin_client, trainer, course):
    session, enrolments = course
    slot = session.slots[0]
    with near_end(slot):
        for i, enrolment in enumerate(enrolments):
            attendance.sign(slot, enrolment, DATA_URL(i), method="device")
        attendance.close_slot(slot, trainer, DATA_URL(9))
        db.session.commit()
    with during(slot, 60 * 30):
        response = admin_client.post(sheet_url(session, slot, "/rouvrir"), data={"reason": ""})
        assert response.status_code == 422 and "Indiquez le motif de la réouverture." in text(response)
        response = admin_client.post(sheet_url(session, slot, "/rouvrir"),
                                     data={"reason": "Arrivée tardive oubliée"}, follow_redirects=True)
        assert "Feuille rouverte" in text(response)
        awa = enrolments[0]
        admin_client.post(sheet_url(session, slot, f"/statut/{awa.id}"), data={
            f"r{awa.id}-status": "late", f"r{awa.id}-arrival_time": "14:30"})
        # the reopening voided the trainer's signature: the office closes, with a reason
        response = admin_client.post(sheet_url(session, slot, "/clore"), data={}, follow_redirects=True)
        assert "La réouverture a annulé la signature du / de la formateur·rice" in text(response)
        response = admin_client.post(sheet_url(session, slot, "/clore"), data={"reason": "Arrivée d'Awa corrigée"},
                                     follow_redirects=True)
        assert "Feuille close par l'administration" in text(response)
    history = text(admin_client.get(sheet_url(session, slot, "/historique")))
    assert history.count('data-testid="version"') == 3
    assert "Arrivée tardive oubliée" in history and "Réouverture" in history
    assert "arrivée 14:30" in history
    assert history.count('data-testid="version-trainer-voided"') == 2  # in the reopened and the closed versions
    assert "Feuille rouverte (motif dans l'historique de la feuille)" in history


def test_admin_corrects_a_closed_sheet_only_with_a_reason(admin_client, trainer, course):
    session, (awa, julien, sophie) = course
    slot = session.slots[0]
    with near_end(slot):
        attendance.sign(slot, awa, DATA_URL(), method="device")
        attendance.sign(slot, julien, DATA_URL(), method="device")
        attendance.mark(slot, sophie, "absent_unjustified", actor=trainer)
        attendance.close_slot(slot, trainer, DATA_URL(9))
        db.session.commit()
    form = {f"r{sophie.id}-status": "absent_justified", f"r{sophie.id}-justification": "Arrêt maladie"}
    response = admin_client.post(sheet_url(session, slot, f"/statut/{sophie.id}"), data=form)
    assert response.status_code == 422 and "Indiquez le motif de la correction." in text(response)
    form[f"r{sophie.id}-reason"] = "Certificat reçu le lendemain"
    assert admin_client.post(sheet_url(session, slot, f"/statut/{sophie.id}"), data=form).status_code == 302
    db.session.expire_all()
    assert [v.action for v in attendance.versions(slot)] == ["closed", "corrected"]
    assert db.session.scalar(db.select(AttendanceSheet.status)) == "closed"


def test_the_overview_shows_reasons_as_numbered_notes_and_its_legend_outside_the_scrolling_table(
        admin_client, admin, trainer, course):
    """A touch screen has no hover: the reasons are numbered in their cells and listed under the table, and the
    legend is not a caption cut at the edge of the horizontally scrolling box."""
    session, (awa, julien, sophie) = course
    slot = session.slots[0]
    with near_end(slot):
        attendance.sign(slot, awa, DATA_URL(), method="device")
        attendance.mark(slot, julien, "absent_justified", actor=trainer, justification="Rendez-vous médical")
        attendance.mark(slot, sophie, "absent_unjustified", actor=trainer)
        attendance.close_slot(slot, trainer, DATA_URL(9))
        db.session.commit()
    with frozen_at(slot.ends_at + timedelta(hours=1)):
        attendance.mark(slot, sophie, "absent_justified", actor=admin,
                        justification="Arrêt maladie", reason="Certificat reçu le lendemain")
        db.session.commit()
        page = text(admin_client.get(f"/sessions/{session.id}/emargement"))
    scrolling = page[page.index('<div class="table-responsive">'):page.index("</table></div>")]
    assert "<caption>" not in scrolling and "survol" not in page
    assert page.index('id="grid-legend"') < page.index('<div class="table-responsive">')
    assert scrolling.count('data-testid="note-mark"') == 2
    notes = re.findall(r"<li><strong>([^<]*)</strong> : ([^<]*)</li>",
                       page[page.index('data-testid="grid-notes"'):])
    (julien_where, julien_reasons), (sophie_where, sophie_reasons) = notes
    assert julien.trainee.last_name in julien_where and julien_reasons == "motif : Rendez-vous médical"
    assert sophie.trainee.last_name in sophie_where and sophie_reasons.startswith(
        "motif : Arrêt maladie — corrigé par l'administration le ")
    assert sophie_reasons.endswith(" : Certificat reçu le lendemain")


def test_an_enrolment_of_another_session_is_not_found_on_a_sheet_and_not_named(trainer_client, course):
    session, _enrolments = course
    slot = session.slots[0]
    elsewhere = factories.make_session(start=datetime(2030, 3, 5, 14), end=datetime(2030, 3, 8, 12, 30))
    stranger = factories.make_enrolment(elsewhere, factories.make_trainee(first_name="Zoé", last_name="Secret"))
    with during(slot):
        signed = trainer_client.post(sheet_url(session, slot, f"/signer/{stranger.id}"),
                                     data={"signature": DATA_URL()}, follow_redirects=True)
        marked = trainer_client.post(sheet_url(session, slot, f"/statut/{stranger.id}"),
                                     data={f"r{stranger.id}-status": "absent_unjustified"})
    for response in (signed, marked):
        assert response.status_code == 404 and "Secret" not in text(response)
    assert db.session.scalar(db.select(db.func.count(AttendanceRecord.id))) == 0


def test_qr_code_flow_signs_for_the_trainee_of_the_personal_link(app, trainer_client, course):
    session, (awa, julien, _sophie) = course
    slot = session.slots[0]
    with during(slot):
        qr_page = text(trainer_client.get(sheet_url(session, slot, "/qr")))
        room_url = f"/emargement/salle/{attendance.qr_token(slot)}"
        # The page shows the QR code of this minute, refreshes itself, and never prints the link itself.
        shown = re.search(r'src="data:image/png;base64,([^"]+)"', qr_page).group(1)
        assert base64.b64decode(shown) == attendance.qr_png(app.config["PUBLIC_URL"] + room_url)
        assert '<meta http-equiv="refresh" content="30">' in qr_page and "/emargement/salle/" not in qr_page

        phone = app.test_client()
        # A phone that never opened a personal link is told how to sign, and cannot sign.
        unknown = text(phone.get(room_url))
        assert "ne sait pas encore qui vous êtes" in unknown and "<canvas" not in unknown
        # Awa opens her personal link on her phone; then the room QR code says whose link it is.
        assert phone.get(factories.personal_path(awa.trainee)).status_code == 200
        room = text(phone.get(room_url))
        assert re.search(r'data-testid="remembered">([^<]+)<', room).group(1) == awa.trainee.full_name
        assert "Ce n'est pas moi" in room
        sign_page = re.search(r'href="([^"]+)">C\'est moi', room).group(1).replace("&amp;", "&")
        page = text(phone.get(sign_page))
        assert awa.trainee.full_name in page and "<canvas" in page
        qr = re.search(r'name="qr" type="hidden" value="([^"]+)"', page).group(1)
        # Whatever else is posted, the signature is Awa's: the identity comes from her link.
        response = phone.post(sign_page, data={"signature": DATA_URL(), "qr": qr, "enrolment_id": julien.id})
        assert response.status_code == 302
        assert "Votre signature est enregistrée" in text(phone.get(response.headers["Location"]))
        again = phone.post(sign_page, data={"signature": DATA_URL(), "qr": qr})
        assert "Vous avez déjà signé cette demi-journée." in text(again)
    signature = db.session.scalar(db.select(Signature))
    assert (signature.enrolment_id, signature.method) == (awa.id, "qr")
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 1


def test_on_a_shared_phone_the_next_trainee_says_it_is_not_them_and_signs_with_their_own_link(app, course):
    session, (awa, julien, _sophie) = course
    slot = session.slots[0]
    phone = app.test_client()
    with during(slot):
        room_url = f"/emargement/salle/{attendance.qr_token(slot)}"
        assert phone.get(factories.personal_path(awa.trainee)).status_code == 200
        assert awa.trainee.full_name in text(phone.get(room_url))  # Julien picks up Awa's phone
        response = phone.post("/emargement/salle/oublier", follow_redirects=True)
        assert "ne vous reconnaît plus" in text(response)
        room = text(phone.get(room_url))
        assert "ne sait pas encore qui vous êtes" in room and awa.trainee.full_name not in room
        assert phone.get(factories.personal_path(julien.trainee)).status_code == 200
        room = text(phone.get(room_url))
        assert re.search(r'data-testid="remembered">([^<]+)<', room).group(1) == julien.trainee.full_name
        sign_page = re.search(r'href="([^"]+)">C\'est moi', room).group(1).replace("&amp;", "&")
        qr = re.search(r'[?&]qr=([^&]+)', sign_page).group(1)
        assert phone.post(sign_page, data={"signature": DATA_URL(), "qr": qr}).status_code == 302
        # Julien's pass is no use on Awa's link: a scan proves the presence of the one who scanned.
        awa_page = factories.personal_path(awa.trainee, "attendance.trainee_sign", slot_id=slot.id, qr=qr)
        response = app.test_client().post(awa_page, data={"signature": DATA_URL(), "qr": qr})
        assert response.status_code == 422 and "a expiré" in text(response)
    assert [s.enrolment_id for s in db.session.scalars(db.select(Signature))] == [julien.id]


def test_the_signing_page_leads_back_to_my_space_and_offers_to_forget_the_phone_only_from_the_room(app, course):
    """The personal link's signing page is the trainee's own (« ← Mon espace »); « Oublier ce téléphone » is for
    the room's QR code, on a phone that may be shared."""
    session, (awa, *_rest) = course
    slot = session.slots[0]
    phone = app.test_client()
    with during(slot):
        own = text(phone.get(factories.personal_path(awa.trainee, "attendance.trainee_sign", slot_id=slot.id)))
        back = re.search(r'<a href="/moi/([^"/]+)" data-testid="back-home">← Mon espace</a>', own)
        assert back and text(phone.get(f"/moi/{back.group(1)}")).count(awa.trainee.full_name) >= 1
        assert "Oublier ce téléphone" not in own
        room = text(phone.get(f"/emargement/salle/{attendance.qr_token(slot)}"))
        sign_page = re.search(r'href="([^"]+)">C\'est moi', room).group(1).replace("&amp;", "&")
        from_room = text(phone.get(sign_page))
        assert "Ce n'est pas vous ? Oublier ce téléphone" in from_room and 'data-testid="back-home"' in from_room
        refused = phone.get(factories.personal_path(awa.trainee, "attendance.trainee_sign", slot_id=10**6))
        assert refused.status_code == 403 and 'data-testid="back-home"' in text(refused)


def test_a_mixed_session_trainee_whose_room_pass_expired_signs_through_the_personal_link(app, trainer):
    """Came through the room's QR code, drew the signature 20 minutes later: the page neither says the pass
    expired nor sends it again, and the signature is the personal link's (it is enough outside the room)."""
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer], modality="mixed")
    slot = session.slots[0]
    with during(slot):
        qr = attendance.qr_pass(slot, awa.trainee)
    path = factories.personal_path(awa.trainee, "attendance.trainee_sign", slot_id=slot.id, qr=qr)
    phone = app.test_client()
    with during(slot, minutes=25):
        page = text(phone.get(path))
        assert "<canvas" in page and "a expiré" not in page and qr not in page
        hidden_qr = re.search(r'<input[^>]*name="qr"[^>]*>', page).group(0)
        assert 'value=""' in hidden_qr or "value=" not in hidden_qr
        response = phone.post(path, data={"signature": DATA_URL(), "qr": ""})
        assert response.status_code == 302 and "qr=" not in response.headers["Location"]
    signature = db.session.scalar(db.select(Signature))
    assert (signature.enrolment_id, signature.method) == (awa.id, "personal_link")


def test_a_photo_of_the_qr_code_forwarded_later_no_longer_opens_the_signing_page(app, course):
    session, (awa, *_rest) = course
    slot = session.slots[0]
    phone = app.test_client()
    assert phone.get(factories.personal_path(awa.trainee)).status_code == 200
    with during(slot):
        room_url = f"/emargement/salle/{attendance.qr_token(slot)}"
    with during(slot, minutes=7):
        response = phone.get(room_url)
        assert response.status_code == 404 and "change chaque minute" in text(response)
        path = factories.personal_path(awa.trainee, "attendance.trainee_sign", slot_id=slot.id,
                                       qr=room_url.rsplit("/", 1)[1])
        page = text(phone.get(path))
        assert "Ce QR code a expiré" in page and "<canvas" not in page
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 0


def test_qr_code_signing_is_refused_outside_the_window(app, course):
    session, (awa, *_rest) = course
    slot = session.slots[0]
    phone = app.test_client()
    with frozen_at(slot.ends_at + timedelta(minutes=5)):
        path = factories.personal_path(awa.trainee, "attendance.trainee_sign", slot_id=slot.id,
                                       qr=attendance.qr_token(slot))
        page = text(phone.get(path))
        assert "La signature était ouverte de 13h45 à 18h00 le mardi 5 mars 2030 ; elle est terminée." in page
        assert "<canvas" not in page
        response = phone.post(path, data={"signature": DATA_URL(), "qr": attendance.qr_token(slot)})
        assert response.status_code == 422 and "ouverte de 13h45 à 18h00 seulement" in text(response)
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 0


@pytest.mark.parametrize("moment, said", [
    (datetime(2030, 3, 5, 9, 0), "La signature ouvrira à 13h45 le mardi 5 mars 2030."),
    (datetime(2030, 3, 5, 14, 5), "La signature est ouverte jusqu'à 18h00."),
    (datetime(2030, 3, 7, 10, 0), "La signature était ouverte de 13h45 à 18h00 le mardi 5 mars 2030 ; elle est "
                                  "terminée."),
])
def test_the_signing_page_says_whether_signing_will_open_is_open_or_is_over(app, trainer, moment, said):
    """Tuesday afternoon's half-day (13h45 to 18h00 for trainees), on Tuesday morning, during it, and on Thursday
    (its sheet never closed): one sentence each, and the pad only while it is open."""
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer], modality="mixed")
    slot = session.slots[0]
    with frozen_at(moment):
        page = text(app.test_client().get(
            factories.personal_path(awa.trainee, "attendance.trainee_sign", slot_id=slot.id)))
    shown = re.search(r'data-testid="signing-window">([^<]+)<', page).group(1)
    assert shown == said and page.count('data-testid="signing-window"') == 1
    assert ("<canvas" in page) == (moment == datetime(2030, 3, 5, 14, 5))


def test_a_trainee_refused_on_their_own_signing_page_is_spoken_to(app, trainer_client, trainer, monkeypatch):
    """The trainer marks her absent while her pad is open; another tab signs first, seen before the write or
    only by the database's unique index: each refusal says "vous", never her name as to the trainer."""
    session, (awa, julien) = factories.make_attendance_session(trainees=2, trainers=[trainer], modality="mixed")
    slot = session.slots[0]
    awa_page = factories.personal_path(awa.trainee, "attendance.trainee_sign", slot_id=slot.id)
    julien_page = factories.personal_path(julien.trainee, "attendance.trainee_sign", slot_id=slot.id)
    with during(slot):
        assert "<canvas" in text(app.test_client().get(awa_page))  # her pad is open...
        trainer_client.post(sheet_url(session, slot, f"/statut/{awa.id}"),
                            data={f"r{awa.id}-status": "absent_unjustified"})  # ...when the trainer marks her
        refused = app.test_client().post(awa_page, data={"signature": DATA_URL()})
        page = text(refused)
        assert refused.status_code == 422
        assert page.count("Vous êtes noté·e absent·e sur cette demi-journée. Adressez-vous au / à la "
                          "formateur·rice.") == 1
        assert "changez d'abord son statut" not in page and "est marqué·e absent·e" not in page

        assert app.test_client().post(julien_page, data={"signature": DATA_URL()}).status_code == 302
        for seen_by in ("the check", "the unique index"):
            if seen_by == "the unique index":  # the other tab's signature written between the check and the write
                monkeypatch.setattr(attendance, "_signature_of", lambda *_args: None)
            refused = app.test_client().post(julien_page, data={"signature": DATA_URL(2)})
            page = text(refused)
            assert refused.status_code == 422 and "Vous avez déjà signé cette demi-journée." in page
            assert "a déjà signé" not in page and "Votre signature est enregistrée" in page
    assert [s.enrolment_id for s in db.session.scalars(db.select(Signature))] == [julien.id]


def test_a_trainee_cannot_sign_a_session_they_are_not_in(app, course):
    session, _enrolments = course
    stranger = factories.make_trainee()
    slot = session.slots[0]
    with during(slot):
        path = factories.personal_path(stranger, "attendance.trainee_sign", slot_id=slot.id,
                                       qr=attendance.qr_token(slot))
        response = app.test_client().post(path, data={"signature": DATA_URL(), "qr": attendance.qr_token(slot)})
        assert response.status_code == 403 and "pas d'inscription confirmée" in text(response)
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 0


def test_the_refusal_names_nothing_of_a_session_the_trainee_is_not_in(app, course):
    """A personal link walking slot ids reads nothing of other sessions (an internal one, a cancelled one):
    the same refusal, without the title nor the date, whether the half-day exists or not."""
    _session, (awa, *_rest) = course
    internal = factories.make_session(
        programme=factories.make_programme(title="Formation interne confidentielle", kind="internal"),
        start=datetime(2030, 4, 2, 9, 30), end=datetime(2030, 4, 2, 18, 0))
    client = app.test_client()
    pages = []
    for slot_id in (internal.slots[0].id, internal.slots[-1].id + 1000):
        response = client.get(factories.personal_path(awa.trainee, "attendance.trainee_sign", slot_id=slot_id))
        assert response.status_code == 403 and "pas d'inscription confirmée" in text(response)
        pages.append(text(response))
    assert "confidentielle" not in pages[0] and "2 avril" not in pages[0] and "9h30" not in pages[0]
    assert pages[0] == pages[1]


def test_trainee_home_shows_hours_and_the_signing_hint(app, trainer, course):
    session, (awa, *_rest) = course
    slot = session.slots[0]
    with during(slot):
        attendance.sign(slot, awa, DATA_URL(), method="device")
        db.session.commit()
        page = text(app.test_client().get(factories.personal_path(awa.trainee)))
    assert "Heures suivies : 4 h sur 21 h prévues." in page
    assert "scannez le QR code affiché dans la salle" in page


def _signed_course(trainer, trainees, year=2030):
    session, enrolments = factories.make_attendance_session(
        trainees=trainees, trainers=[trainer], start=datetime(year, 3, 5, 14), end=datetime(year, 3, 8, 12, 30))
    for slot in session.slots[:2]:
        with near_end(slot):
            for i, enrolment in enumerate(enrolments):
                if i == 0 and slot is session.slots[1]:
                    attendance.mark(slot, enrolment, "absent_justified", actor=trainer, justification="Malade")
                else:
                    attendance.sign(slot, enrolment, DATA_URL(i), method="device")
            attendance.close_slot(slot, trainer, DATA_URL(99))
        db.session.commit()
    return session, enrolments


def test_word_sheet_holds_names_dates_times_and_signature_images(trainer_client, trainer):
    organisation = Organisation.get()
    organisation.name, organisation.declaration_number = "Si on s'alliait ?", "53350999935"
    db.session.commit()
    session, enrolments = _signed_course(trainer, trainees=3)
    response = trainer_client.get(f"/sessions/{session.id}/emargement/feuille.docx")
    assert response.status_code == 200
    document = Document(io.BytesIO(response.data))
    body = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    assert "Si on s'alliait ?" in body and "53350999935" in body and "FEUILLE D'ÉMARGEMENT" in body
    assert session.title in body and "4 rue du Bourbonnais" in body and "Tom Trainer" in body
    for enrolment in enrolments:
        assert enrolment.trainee.last_name.upper() in cells
    assert "mardi 5 mars 2030" in cells and "mercredi 6 mars 2030" in cells and "vendredi 8 mars 2030" in cells
    assert "14h00 – 18h00" in cells and "9h30 – 12h30" in cells and "Après-midi" in cells and "Matin" in cells
    assert "Absent·e, absence justifiée" in cells
    # 3 trainees on the first half-day, 2 on the second (one absent), a trainer signature on each.
    assert len(document.inline_shapes) == 3 + 2 + 2
    assert len(document.tables) == 1 and len(document.tables[0].rows) == 1 + 3 + 1


def test_blank_word_sheet_has_names_and_half_days_but_no_signature(trainer_client, trainer):
    session, enrolments = _signed_course(trainer, trainees=2)
    response = trainer_client.get(f"/sessions/{session.id}/emargement/feuille-vierge.docx")
    document = Document(io.BytesIO(response.data))
    cells = "\n".join(cell.text for row in document.tables[0].rows for cell in row.cells)
    assert enrolments[1].trainee.last_name.upper() in cells and "jeudi 7 mars 2030" in cells
    assert len(document.inline_shapes) == 0 and "Absent" not in cells
    assert "Feuille vierge" in "\n".join(p.text for p in document.paragraphs)


def test_word_sheet_spreads_long_sessions_over_several_tables(trainer_client, trainer):
    session, _enrolments = factories.make_attendance_session(
        trainees=1, trainers=[trainer], start=datetime(2030, 3, 4, 9, 30), end=datetime(2030, 3, 8, 18))
    document = Document(io.BytesIO(trainer_client.get(f"/sessions/{session.id}/emargement/feuille.docx").data))
    assert len(document.tables) == 2  # 10 half-days: 6 + 4


def test_excel_grid_has_statuses_and_hours(trainer_client, trainer):
    session, enrolments = _signed_course(trainer, trainees=2)
    response = trainer_client.get(f"/sessions/{session.id}/emargement/grille.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    header, first, second = rows[0], rows[1], rows[2]
    assert header[-5:] == ("Heures prévues", "Heures suivies", "Absences justifiées (h)",
                           "Absences non justifiées (h)", "Signatures manquantes")
    by_name = {first[0]: first, second[0]: second}
    absent = by_name[enrolments[0].trainee.full_name]
    assert absent[2].startswith("Présent·e (4 h)") and absent[3] == "Absent·e, absence justifiée"
    assert absent[-5:-1] == (21, 4, 3, 0)
    assert by_name[enrolments[1].trainee.full_name][-5:-1] == (21, 7, 0, 0)
    assert rows[3][0] == "Total" and rows[3][-4].startswith("=SUM(")
    # the totals carry their values: a preview or a program that does not recalculate shows them too
    values = openpyxl.load_workbook(io.BytesIO(response.data), data_only=True).active
    assert list(values.iter_rows(min_row=7, max_row=7, values_only=True))[0][-5:-1] == (42, 11, 3, 0)


def test_overview_highlights_missing_signatures_and_shows_hours(trainer_client, trainer, course):
    session, (awa, julien, sophie) = course
    slot = session.slots[0]
    with during(slot):
        attendance.sign(slot, awa, DATA_URL(), method="device")
        attendance.mark(slot, julien, "present", actor=trainer)
        attendance.mark(slot, sophie, "absent_unjustified", actor=trainer)
        db.session.commit()
    with near_end(slot):  # the trainer can sign from closing_opens
        page = text(trainer_client.get(f"/sessions/{session.id}/emargement"))
    assert "2 signatures manquantes" in page  # Julien's, and the trainer's
    assert page.count('class="grid-cell missing"') == 2
    assert page.count('data-testid="grid-row"') == 3
    assert re.search(r'data-testid="total-attended">8 h<', page)


def test_scan_upload_is_checked_by_content(app, admin_client, course, monkeypatch):
    session, _enrolments = course
    slot = session.slots[0]
    url = sheet_url(session, slot, "/scan")
    response = admin_client.post(url, data={"file": (io.BytesIO(b"MZ\x90 not a pdf"), "feuille.pdf")},
                                 content_type="multipart/form-data", follow_redirects=True)
    assert "n'est pas d'un type accepté" in text(response)
    monkeypatch.setitem(app.config, "ATTENDANCE_UPLOAD_MAX_BYTES", 100)
    response = admin_client.post(url, data={"file": (io.BytesIO(b"%PDF-" + b"x" * 200), "feuille.pdf")},
                                 content_type="multipart/form-data", follow_redirects=True)
    assert "taille maximale" in text(response)
    assert db.session.scalar(db.select(AttendanceSheet.scan_path)) in (None, "")
    response = admin_client.post(url, data={"file": (io.BytesIO(b"%PDF-1.4 sheet"), "photo.png")},
                                 content_type="multipart/form-data", follow_redirects=True)
    assert "Scan de la feuille papier joint." in text(response)
    download = admin_client.get(url)
    assert download.data == b"%PDF-1.4 sheet" and download.mimetype == "application/pdf"


def test_replacing_the_scan_of_a_closed_sheet_asks_for_a_reason_on_the_form(admin_client, trainer, course):
    session, enrolments = course
    slot = session.slots[0]
    url = sheet_url(session, slot, "/scan")
    admin_client.post(url, data={"file": (io.BytesIO(b"%PDF-1.4 first"), "a.pdf")}, content_type="multipart/form-data")
    with near_end(slot):
        for enrolment in enrolments:
            attendance.mark(slot, enrolment, "present", actor=trainer)
        attendance.close_slot(slot, trainer)
        db.session.commit()
    first = db.session.scalar(db.select(AttendanceSheet.scan_path))
    response = admin_client.post(url, data={"file": (io.BytesIO(b"%PDF-1.4 second"), "b.pdf")},
                                 content_type="multipart/form-data")
    assert response.status_code == 422 and "Indiquez le motif du remplacement du scan" in text(response)
    assert 'name="reason"' in text(response)
    assert db.session.scalar(db.select(AttendanceSheet.scan_path)) == first
    response = admin_client.post(url, data={"file": (io.BytesIO(b"%PDF-1.4 second"), "b.pdf"),
                                            "reason": "Scan illisible"}, content_type="multipart/form-data")
    assert response.status_code == 302
    history = text(admin_client.get(sheet_url(session, slot, "/historique")))
    assert "Scan remplacé" in history and "Scan illisible" in history
    assert first.rsplit("/", 1)[-1] in history


def test_today_page_and_dashboard_panel_lead_to_the_current_slot(trainer_client, course):
    session, _enrolments = course
    slot = session.slots[2]  # Wednesday afternoon
    with frozen_at(datetime(2030, 3, 6, 14, 10)):
        today = text(trainer_client.get("/emargement"))
        dashboard = text(trainer_client.get("/tableau-de-bord"))
        detail = text(trainer_client.get(f"/sessions/{session.id}"))
    assert sheet_url(session, slot) in today and "Afficher le QR code" in today
    assert sheet_url(session, slot) in dashboard and 'data-testid="attendance-today"' in dashboard
    assert sheet_url(session, slot) in detail and "0 demi-journée close sur 6." in detail
    with frozen_at(datetime(2030, 3, 10, 10, 0)):
        assert "Aucune demi-journée de formation aujourd'hui." in text(trainer_client.get("/emargement"))


@pytest.mark.parametrize("page", ["sheet", "overview"])
def test_sheet_and_overview_run_a_constant_number_of_queries(trainer_client, trainer, page):
    counts = []
    for year, size in ((2030, 2), (2035, 8)):
        session, _enrolments = _signed_course(trainer, trainees=size, year=year)
        url = sheet_url(session, session.slots[0]) if page == "sheet" else f"/sessions/{session.id}/emargement"
        counts.append(factories.rendered_page_queries(trainer_client, url))
    assert counts[0] == counts[1], counts


def test_overview_queries_do_not_grow_with_the_number_of_half_days(trainer_client, trainer):
    short, _ = factories.make_attendance_session(trainees=2, trainers=[trainer], start=datetime(2031, 3, 4, 9, 30),
                                                 end=datetime(2031, 3, 4, 18))
    long, _ = factories.make_attendance_session(trainees=2, trainers=[trainer], start=datetime(2032, 3, 1, 9, 30),
                                                end=datetime(2032, 3, 12, 18))
    assert len(long.slots) == 20 and len(short.slots) == 2
    counts = [factories.rendered_page_queries(trainer_client, f"/sessions/{s.id}/emargement") for s in (short, long)]
    assert counts[0] == counts[1], counts


def test_personal_link_alone_signs_remote_sessions_but_asks_for_the_qr_code_in_the_room(app):
    room_session, (in_room,) = factories.make_attendance_session(trainees=1)
    remote_session, (at_home,) = factories.make_attendance_session(
        trainees=1, modality="remote", start=datetime(2031, 3, 4, 14), end=datetime(2031, 3, 7, 12, 30))
    phone = app.test_client()
    with during(room_session.slots[0]):
        home = text(phone.get(factories.personal_path(in_room.trainee)))
        assert "scannez le QR code affiché dans la salle" in home
        path = factories.personal_path(in_room.trainee, "attendance.trainee_sign", slot_id=room_session.slots[0].id)
        page = text(phone.get(path))
        assert "scannez le QR code affiché dans la salle" in page and "<canvas" not in page
    slot = remote_session.slots[0]
    with during(slot):
        home = text(phone.get(factories.personal_path(at_home.trainee)))
        path = factories.personal_path(at_home.trainee, "attendance.trainee_sign", slot_id=slot.id)
        # the link's token is re-signed each second: compare the trainee's payload and the slot
        payload = path.split("/moi/")[1].split(".")[0]
        assert "Signer la demi-journée en cours" in home
        assert re.search(rf"/moi/{re.escape(payload)}\.[^/\"]+/emargement/{slot.id}", home)
        assert "<canvas" in text(phone.get(path))
        assert phone.post(path, data={"signature": DATA_URL()}).status_code == 302
    assert db.session.scalar(db.select(Signature.method)) == "personal_link"


@pytest.mark.parametrize("kind", ["expired", "revoked"])
def test_a_phone_whose_remembered_link_no_longer_opens_is_told_why(app, course, monkeypatch, kind):
    """The room's QR code on a phone that opened a link long ago (expired) or before the office revoked it:
    the page says so, instead of "this phone does not know you yet"."""
    from itsdangerous import TimestampSigner

    from training_app.services import trainee_links

    session, (awa, _julien, _sophie) = course
    slot = session.slots[0]
    phone = app.test_client()
    if kind == "expired":
        long_ago = datetime.now().timestamp() - (app.config["TRAINEE_LINK_MAX_AGE_DAYS"] + 1) * 86400
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(long_ago))
        phone.set_cookie("trainee_link", trainee_links.make_token(awa.trainee), path="/emargement/salle")
        monkeypatch.undo()
    else:
        assert phone.get(factories.personal_path(awa.trainee)).status_code == 200
        trainee_links.revoke_links(awa.trainee, actor=factories.make_user("admin"))
        db.session.commit()
    with during(slot):
        room = text(phone.get(f"/emargement/salle/{attendance.qr_token(slot)}"))
    assert "ne sait pas encore qui vous êtes" not in room and awa.trainee.full_name not in room
    said = {"expired": "Le lien personnel ouvert sur ce téléphone a expiré",
            "revoked": "Le lien personnel ouvert sur ce téléphone a été désactivé par l'équipe de formation"}
    assert said[kind] in room and "Recevoir mon lien personnel par e-mail" in room and "<canvas" not in room



def _file():
    return (io.BytesIO(b"data:image/png;base64,"), "s.png")


def _counts():
    return [db.session.scalar(db.select(db.func.count(model.id))) for model in (Signature, AttendanceRecord)]


@pytest.mark.parametrize("suffix, data, message", [
    ("/signer/{awa}", {"signature": _file}, "Signez dans le cadre avant de valider."),
    ("/statut/{awa}", {"r{awa}-status": "absent_unjustified", "r{awa}-reason": _file},
     "indiquez le motif de son annulation"),
    ("/statut/{awa}", {"r{awa}-status": "absent_justified", "r{awa}-justification": _file},
     "Indiquez le motif de l'absence justifiée."),
    ("/clore", {"signature": _file}, "Avant de clore, faites signer ou marquez absent·e"),
])
def test_a_file_posted_where_the_sheet_expects_text_is_refused_in_french(trainer_client, course, suffix, data,
                                                                         message):
    """A hand-made request posting a file in a text or hidden field: the field gets nothing (as if left empty),
    the usual French refusal, nothing written. (Awa signed: marking her absent asks why her signature goes.)"""
    session, (awa, *_rest) = course
    slot = session.slots[0]
    form = {name.format(awa=awa.id): value() if callable(value) else value for name, value in data.items()}
    with near_end(slot):
        trainer_client.post(sheet_url(session, slot, f"/signer/{awa.id}"), data={"signature": DATA_URL()})
        before = _counts()
        response = trainer_client.post(sheet_url(session, slot, suffix.format(awa=awa.id)), data=form,
                                       follow_redirects=True)
    assert response.status_code in (200, 422) and message in text(response)
    assert _counts() == before == [1, 1]


def test_a_file_posted_where_the_trainee_page_expects_text_is_refused_or_ignored(app, course):
    """The signature as a file: refused as an empty pad. The QR code as a file: ignored, as no QR code (a remote
    session signs by the personal link alone, an in-person one asks for the room's QR code)."""
    room_session, (in_room, *_rest) = course
    remote_session, (at_home,) = factories.make_attendance_session(
        trainees=1, modality="remote", start=datetime(2031, 3, 4, 14), end=datetime(2031, 3, 7, 12, 30))
    phone = app.test_client()

    def sign(enrolment, slot, data):
        with during(slot):
            path = factories.personal_path(enrolment.trainee, "attendance.trainee_sign", slot_id=slot.id)
            return phone.post(path, data=data)

    response = sign(at_home, remote_session.slots[0], {"signature": _file()})
    assert response.status_code == 422 and "Signez dans le cadre avant de valider." in text(response)
    response = sign(in_room, room_session.slots[0], {"signature": DATA_URL(), "qr": _file()})
    assert response.status_code == 422 and "scannez le QR code affiché dans la salle" in text(response)
    assert sign(at_home, remote_session.slots[0], {"signature": DATA_URL(), "qr": _file()}).status_code == 302
    assert [(s.enrolment_id, s.method) for s in db.session.scalars(db.select(Signature))] == [
        (at_home.id, "personal_link")]
