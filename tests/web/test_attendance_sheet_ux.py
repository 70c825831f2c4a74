"""The trainer's half-day sheet on a tablet: the time fields each status asks for, an error on one row named at
the top and brought into view, confirmations in the row, and closing: who is left, marking the unmarked absent in
one go, a confirmation that counts."""
import re
from datetime import datetime, timedelta

import pytest

from tests import factories
from training_app import create_app
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord, AttendanceSheet, AuditEntry, Slot

DATA_URL = factories.signature_data_url


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


def test_a_refused_status_is_named_at_the_top_and_its_field_brought_into_view(trainer_client, course):
    session, (nolwenn, awa, *_rest) = course
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=30)):
        response = trainer_client.post(sheet_url(session, slot, f"/statut/{nolwenn.id}"),
                                       data={f"r{nolwenn.id}-status": "late"})
    assert response.status_code == 422
    page = text(response)
    top = page[:page.index('data-testid="row"')]
    assert "Statut non enregistré pour Nolwenn Guégan : indiquez l'heure d'arrivée." in top
    assert page.count("autofocus") == 1
    assert re.search(rf'<input[^>]*autofocus[^>]*id="r{nolwenn.id}-arrival_time"'
                     rf'|<input[^>]*id="r{nolwenn.id}-arrival_time"[^>]*autofocus', page)
    assert "failed" in page[page.rindex("<section", 0, page.index(f'id="stagiaire-{nolwenn.id}"')):
                            page.index(f'id="stagiaire-{nolwenn.id}"')]
    assert "Indiquez l'heure d'arrivée." in card(page, nolwenn)
    with frozen_at(slot.starts_at + timedelta(minutes=30)):  # a refusal of the service, on no field: the status
        response = trainer_client.post(sheet_url(session, slot, f"/statut/{awa.id}"),
                                       data={f"r{awa.id}-status": "nonsense"})
    page = text(response)
    assert response.status_code == 422 and "Statut non enregistré pour Awa Diallo : " in page
    assert re.search(rf'<select[^>]*autofocus[^>]*id="r{awa.id}-status"|<select[^>]*id="r{awa.id}-status"[^>]*'
                     r'autofocus', page)
    assert statuses() == {}


def test_a_signature_and_a_status_are_confirmed_once_in_their_row_not_at_the_top(trainer_client, course):
    session, (nolwenn, awa, *_rest) = course
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        response = trainer_client.post(sheet_url(session, slot, f"/signer/{nolwenn.id}"), data={"signature": DATA_URL()})
        assert response.headers["Location"].endswith(f"#stagiaire-{nolwenn.id}")
        page = text(trainer_client.get(response.headers["Location"]))
        assert page.count("Signature de Nolwenn Guégan enregistrée.") == 1  # in the row only, not flashed at the top
        assert re.search(r'role="status" data-testid="row-notice">Signature de Nolwenn Guégan enregistrée\.',
                         card(page, nolwenn))
        again = text(trainer_client.get(sheet_url(session, slot)))  # shown once
        assert "enregistrée" not in again
        # A refusal too: nothing was written, yet the sheet kept just above is not given again without it.
        response = trainer_client.post(sheet_url(session, slot, f"/signer/{nolwenn.id}"), data={"signature": DATA_URL()},
                                       follow_redirects=True)
        page = text(response)
        assert page.count("Nolwenn Guégan a déjà signé") == 1
        assert 'role="alert" data-testid="row-notice">Nolwenn Guégan a déjà signé' in card(page, nolwenn)
        assert "a déjà signé" not in text(trainer_client.get(sheet_url(session, slot)))
        response = trainer_client.post(sheet_url(session, slot, f"/statut/{awa.id}"),
                                       data={f"r{awa.id}-status": "absent_unjustified"}, follow_redirects=True)
        page = text(response)
        assert page.count("Statut d'Awa Diallo enregistré.") == 1
        assert 'data-testid="row-notice">Statut d\'Awa Diallo enregistré.' in card(page, awa)


def test_a_row_notice_without_its_row_on_the_sheet_shows_at_the_top_naming_its_half_day(trainer, trainer_client,
                                                                                        course):
    """A status saved on a half-day's sheet, then another sheet opened before that one came back: the notice, shown
    at the top of the other sheet, says which half-day (and session) it is about; about a half-day gone, or of a
    session the user does not see, it is dropped."""
    session, (nolwenn, *_rest) = course
    slot, other = session.slots[1], session.slots[0]  # Wed 6 March morning; Tue 5 March afternoon
    april_2 = {"start": datetime(2030, 4, 2, 9, 30), "end": datetime(2030, 4, 2, 12, 30)}
    elsewhere, not_taught = factories.make_session(trainers=[trainer], **april_2), factories.make_session(**april_2)
    gone = db.session.scalar(db.select(db.func.max(Slot.id))) + 1  # a half-day deleted since
    expected = {
        other.id: "Feuille du mardi 5 mars 2030, après-midi — Statut de Nolwenn Guégan enregistré.",
        elsewhere.slots[0].id: (f"Session « {elsewhere.title} », feuille du mardi 2 avril 2030, matin — "
                                "Statut de Nolwenn Guégan enregistré."),
        not_taught.slots[0].id: None, gone: None}
    for left_on, message in expected.items():
        with trainer_client.session_transaction() as browser_session:  # as left by a status saved on that sheet
            browser_session["attendance_row_notice"] = {"slot": left_on, "enrolment": nolwenn.id,
                                                        "category": "success",
                                                        "message": "Statut de Nolwenn Guégan enregistré."}
        with frozen_at(slot.starts_at + timedelta(minutes=5)):
            page = text(trainer_client.get(sheet_url(session, slot)))
        assert 'data-testid="row-notice"' not in page
        if message is None:
            assert "Statut de Nolwenn Guégan enregistré." not in page
        else:
            assert page.count("Statut de Nolwenn Guégan enregistré.") == 1
            assert message in page[:page.index('data-testid="row"')]


def test_closing_lists_who_is_left_marks_the_unmarked_absent_at_once_then_confirms_with_the_counts(
        trainer_client, course):
    session, (nolwenn, awa, julien, sophie) = course
    slot = session.slots[1]
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        trainer_client.post(sheet_url(session, slot, f"/signer/{awa.id}"), data={"signature": DATA_URL()})
        trainer_client.post(sheet_url(session, slot, f"/statut/{julien.id}"), data={
            f"r{julien.id}-status": "absent_justified", f"r{julien.id}-justification": "Malade"})
        page = text(trainer_client.get(sheet_url(session, slot)))
        closing = page[page.index('id="cloture"'):]
        left = closing[closing.index('data-testid="to-settle"'):closing.index("</ul>")]
        assert re.findall(r'<a href="#stagiaire-(\d+)">([^<]+)</a>', left) == [
            (str(nolwenn.id), "Nolwenn Guégan"), (str(sophie.id), "Sophie Renaud")]
        assert "Marquer absent·es (sans justificatif) les 2 personnes non émargées" in closing
        assert 'data-confirm="Marquer absent·es, sans justificatif, les 2 personnes non émargées ?"' in closing
        assert "clore la feuille ?" not in closing  # closing would be refused: nothing to confirm
        ids = re.search(r'name="enrolments" type="hidden" value="([^"]*)"', closing).group(1)
        assert ids == f"{nolwenn.id},{sophie.id}"

        response = trainer_client.post(sheet_url(session, slot, "/absents"), data={"enrolments": ids})
        assert response.headers["Location"].endswith("#cloture")
        page = text(trainer_client.get(response.headers["Location"]))
        assert "2 personnes marquées absentes (sans justificatif)." in page
        assert statuses() == {awa.id: "present", julien.id: "absent_justified", nolwenn.id: "absent_unjustified",
                              sophie.id: "absent_unjustified"}
        closing = page[page.index('id="cloture"'):]
        assert 'data-testid="to-settle"' not in closing
        assert 'data-confirm="1 signature, 3 absences : clore la feuille ?"' in closing
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(AuditEntry.action == "marked")) == 3

        response = trainer_client.post(sheet_url(session, slot, "/clore"), data={"signature": DATA_URL(5)},
                                       follow_redirects=True)
        assert "Feuille signée et close." in text(response)
        response = trainer_client.post(sheet_url(session, slot, "/absents"), data={"enrolments": ids},
                                       follow_redirects=True)
        assert "est close" in text(response)


def test_one_unmarked_trainee_is_named_in_the_question(trainer_client, course):
    session, (nolwenn, *others) = course
    slot = session.slots[1]
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        for enrolment in others:
            trainer_client.post(sheet_url(session, slot, f"/signer/{enrolment.id}"), data={"signature": DATA_URL()})
        page = text(trainer_client.get(sheet_url(session, slot)))
    assert "Marquer absent·e (sans justificatif) la personne non émargée" in page
    assert 'data-confirm="Marquer absent·e, sans justificatif, la personne non émargée (Nolwenn Guégan) ?"' in page


def test_marking_the_unmarked_absent_is_for_the_session_s_trainers_and_administrators(app, admin_client, course):
    session, enrolments = course
    slot = session.slots[1]
    ids = ",".join(str(e.id) for e in enrolments)
    outsider = factories.make_user("trainer")
    other = app.test_client()
    factories.login(other, outsider)
    anonymous = app.test_client()  # a trainee has no staff account: their personal link does not open this
    trainee_page = app.test_client()
    trainee_page.get(factories.personal_path(enrolments[0].trainee))
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        assert other.post(sheet_url(session, slot, "/absents"), data={"enrolments": ids}).status_code == 403
        for client in (anonymous, trainee_page):
            response = client.post(sheet_url(session, slot, "/absents"), data={"enrolments": ids})
            assert response.status_code == 302 and "/connexion" in response.headers["Location"]
        assert statuses() == {}
        response = admin_client.post(sheet_url(session, slot, "/absents"), data={"enrolments": ids})
    assert response.status_code == 302
    assert set(statuses().values()) == {"absent_unjustified"} and len(statuses()) == 4
    other_session, _enrolments = factories.make_attendance_session(trainees=1)
    assert admin_client.post(f"/sessions/{other_session.id}/emargement/{slot.id}/absents",
                             data={"enrolments": ids}).status_code == 404  # another session's half-day


def test_marking_the_unmarked_absent_takes_the_csrf_token(app, trainer, course):
    session, enrolments = course
    slot = session.slots[1]
    protected = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                       "WTF_CSRF_ENABLED": True})
    client = protected.test_client()
    factories.sign_in_session(client, trainer)
    ids = ",".join(str(e.id) for e in enrolments)
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        assert client.post(sheet_url(session, slot, "/absents"), data={"enrolments": ids}).status_code == 400
        page = client.get(sheet_url(session, slot)).get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post(sheet_url(session, slot, "/absents"), data={"enrolments": ids, "csrf_token": token})
    assert response.status_code == 302 and len(statuses()) == 4
    assert db.session.scalar(db.select(AttendanceSheet.status)) == "open"


def _closing(page: str) -> str:
    start = page.index('id="cloture"')
    return page[start:page.index("</section>", start)]


def test_a_refused_closing_gives_the_trainer_pad_its_signature_back_and_nothing_else_posted(trainer, trainer_client,
                                                                                            course):
    session, (nolwenn, awa, julien, sophie) = course
    slot = session.slots[1]
    signature = DATA_URL(5)
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        trainer_client.post(sheet_url(session, slot, f"/signer/{awa.id}"), data={"signature": DATA_URL()})
        response = trainer_client.post(sheet_url(session, slot, "/clore"), data={"signature": signature})
        assert response.status_code == 422
        page = text(response)
        assert "Avant de clore, faites signer ou marquez absent·e : " in page
        closing = _closing(page)
        assert (f'data-signature-pad data-max-side="1500" data-initial="{signature}" '  # the trainer's pad, which
                f'data-keep="emargement-signature-{trainer.id}-{slot.id}">') in closing  # the tab keeps (attendance.js)
        assert re.search(r'name="signature" type="hidden" value="([^"]*)"', closing).group(1) == signature
        for posted in ('data:image/png;base64,"><script>alert(1)</script>', "data:image/png;base64,AAAA",
                       "javascript:alert(1)", DATA_URL(5).replace("png", "svg+xml", 1)):
            response = trainer_client.post(sheet_url(session, slot, "/clore"), data={"signature": posted})
            page = text(response)
            assert response.status_code == 422 and "data-initial" not in page
            assert "<script>alert" not in page and "alert(1)" not in page and "AAAA" not in page
            assert re.search(r'name="signature" type="hidden" value="([^"]*)"', _closing(page)).group(1) == ""
        trainer_client.post(sheet_url(session, slot, "/absents"), data={
            "enrolments": f"{nolwenn.id},{julien.id},{sophie.id}"})
        response = trainer_client.post(sheet_url(session, slot, "/clore"), data={"signature": signature},
                                       follow_redirects=True)  # what the pad posts again, not drawn anew
    assert "Feuille signée et close." in text(response)
    assert db.session.scalar(db.select(AttendanceSheet.status)) == "closed"


def test_a_refused_closing_names_every_trainee_left_in_one_refusal(trainer_client, course):
    """The advice is said once, the trainees grouped by what they lack."""
    session, (nolwenn, awa, julien, sophie) = course
    slot = session.slots[1]
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        trainer_client.post(sheet_url(session, slot, f"/signer/{awa.id}"), data={"signature": DATA_URL()})
        trainer_client.post(sheet_url(session, slot, f"/statut/{julien.id}"), data={
            f"r{julien.id}-status": "late", f"r{julien.id}-arrival_time": "10:00"})
        response = trainer_client.post(sheet_url(session, slot, "/clore"), data={"signature": DATA_URL(5)})
    assert response.status_code == 422
    page = text(response)
    top = page[:page.index('data-testid="row"')]
    assert ("Avant de clore, faites signer ou marquez absent·e. Non émargé·es : Nolwenn Guégan, Sophie Renaud. "
            "Signature manquante : Julien Le Bihan.") in top
    assert top.lower().count("faites signer ou marquez absent·e") == 1
    assert db.session.scalar(db.select(AttendanceSheet.status)) == "open"


def test_reloading_a_refused_status_or_closing_brings_the_sheet_back_not_an_error_405(app, trainer_client, course):
    """A refusal serves the sheet at the URL posted to: a refresh, a tab restored or "back" on the tablet GETs it."""
    session, (nolwenn, awa, *_rest) = course
    slot = session.slots[1]
    with frozen_at(slot.ends_at - timedelta(minutes=5)):
        refused = trainer_client.post(sheet_url(session, slot, f"/statut/{nolwenn.id}"),
                                      data={f"r{nolwenn.id}-status": "late"})
        assert refused.status_code == 422
        response = trainer_client.get(sheet_url(session, slot, f"/statut/{nolwenn.id}"))
        assert response.status_code == 302
        assert response.headers["Location"] == sheet_url(session, slot, f"#stagiaire-{nolwenn.id}")
        assert trainer_client.post(sheet_url(session, slot, "/clore"), data={"signature": DATA_URL()}).status_code == 422
        for suffix in ("/clore", "/absents", "/rouvrir"):
            response = trainer_client.get(sheet_url(session, slot, suffix))
            assert response.status_code == 302 and response.headers["Location"] == sheet_url(session, slot, "#cloture")
        response = trainer_client.get(sheet_url(session, slot, f"/signer/{awa.id}"))
        assert response.headers["Location"] == sheet_url(session, slot, f"#stagiaire-{awa.id}")
        assert trainer_client.get(response.headers["Location"]).status_code == 200
        # who may not see the sheet is not sent to it: the same refusal as the sheet's
        outsider = app.test_client()
        factories.login(outsider, factories.make_user("trainer"))
        assert outsider.get(sheet_url(session, slot, "/clore")).status_code == 403
        assert app.test_client().get(sheet_url(session, slot, "/clore")).headers["Location"].startswith("/connexion")
    assert statuses() == {}  # a GET changes nothing
    assert db.session.scalar(db.select(AttendanceSheet.status)) in (None, "open")
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(AuditEntry.action == "closed")) == 0
