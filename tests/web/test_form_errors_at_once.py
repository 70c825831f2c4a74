"""One submit lists every mistake next to its field, the services' rules included (forms.rules_passed); a
session is not created nor moved into the past; its planned hours are checked against the programme's."""
import html
import re
from datetime import datetime, timedelta

from tests import factories
from tests.web.test_organisation import FORM as ORGANISATION_FORM
from tests.web.test_sessions import session_form
from training_app.clock import local_now
from training_app.extensions import db
from training_app.models import Organisation, Slot, TrainingSession


def _errors(response) -> dict[str, str]:
    """{field id: its message} as the page shows them next to the fields."""
    page = html.unescape(response.get_data(as_text=True))
    return dict(re.findall(r'<div id="([\w-]+)-erreur" class="invalid-feedback d-block" role="alert">([^<]*)</div>',
                           page))


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)))


def test_a_new_session_with_every_mistake_gets_every_message_at_once(admin_client):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=session_form(
        programme, capacity="-1", start_date="2030-03-08", end_date="2030-03-05"))
    assert response.status_code == 200
    errors = _errors(response)
    assert errors["capacity"] == "La capacité doit être d'au moins 1 place."
    assert errors["end_date"] == "La fin doit être postérieure au début."
    assert _count(TrainingSession) == 0 and _count(Slot) == 0


def test_an_overlapping_timetable_is_told_with_the_other_mistakes(admin_client):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=session_form(
        programme, capacity="0", end_date="2030-03-01", morning_end="15:00"))
    errors = _errors(response)
    assert errors["capacity"] == "La capacité doit être d'au moins 1 place."
    assert errors["end_date"] == "La fin doit être postérieure au début."
    assert "Les demi-journées de l'emploi du temps se chevauchent." in html.unescape(response.get_data(as_text=True))
    assert _count(TrainingSession) == 0


def test_an_edit_with_every_mistake_gets_every_message_and_changes_nothing(admin_client):
    session = factories.make_session()
    response = admin_client.post(f"/sessions/{session.id}/modifier", data=session_form(
        session.programme, version=factories.version_of(session), capacity="-1", end_date="2030-03-01",
        place="Ailleurs"))
    assert response.status_code == 200
    errors = _errors(response)
    assert errors["capacity"] == "La capacité doit être d'au moins 1 place."
    assert errors["end_date"] == "La fin doit être postérieure au début."
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).place != "Ailleurs"


def test_the_organisation_form_with_every_mistake_gets_every_message_at_once(admin_client):
    response = admin_client.post("/admin/organisme/", data=dict(ORGANISATION_FORM, name="", siret="ABC"))
    assert response.status_code == 200
    errors = _errors(response)
    assert errors["name"] == "Indiquez le nom."
    assert errors["siret"] == "Ce SIRET n'est pas valide (14 chiffres, clé de contrôle incorrecte)."
    db.session.expire_all()
    assert Organisation.get().name == ""


def _past_dates(days_ago: int = 10) -> dict[str, str]:
    start = (local_now() - timedelta(days=days_ago)).date()
    return {"start_date": start.isoformat(), "end_date": (start + timedelta(days=3)).isoformat(),
            "include_weekends": "y"}


def test_a_session_whose_end_is_past_is_not_created(admin_client):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=session_form(programme, **_past_dates()))
    assert response.status_code == 200
    assert "est déjà passée : personne ne pourrait plus s'y inscrire ni émarger" in _errors(response)["end_date"]
    assert _count(TrainingSession) == 0 and _count(Slot) == 0


def test_a_session_running_now_is_created(admin_client):
    programme = factories.make_programme()
    start = (local_now() - timedelta(days=1)).date()
    response = admin_client.post("/sessions/nouvelle", data=session_form(
        programme, start_date=start.isoformat(), end_date=(start + timedelta(days=4)).isoformat(),
        include_weekends="y"))
    assert response.status_code == 302
    assert _count(TrainingSession) == 1


def test_a_session_is_not_moved_into_the_past(admin_client):
    session = factories.make_session()
    response = admin_client.post(f"/sessions/{session.id}/modifier", data=session_form(
        session.programme, version=factories.version_of(session), **_past_dates()))
    assert response.status_code == 200
    assert "est déjà passée" in _errors(response)["end_date"]
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).end_at == datetime(2030, 3, 8, 12, 30)


def test_a_past_session_keeps_its_dates_and_may_still_be_edited(admin_client):
    session = factories.make_session(start=datetime(2018, 12, 11, 14, 0), end=datetime(2018, 12, 14, 12, 30),
                                     status="completed")
    response = admin_client.post(f"/sessions/{session.id}/modifier", data=session_form(
        session.programme, version=factories.version_of(session), start_date="2018-12-11", end_date="2018-12-14",
        status="completed", place="Rennes, salle 3"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).place == "Rennes, salle 3"


def _flashes(client, response) -> str:
    return html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))


def test_planned_hours_unlike_the_programmes_duration_are_told_not_refused(admin_client):
    programme = factories.make_programme(title="Négocier")  # 21 h
    response = admin_client.post("/sessions/nouvelle", data=session_form(programme, end_time="09:30"))
    assert response.status_code == 302  # Tue 14:00 to Fri 9:30: 4 + 7 + 7 = 18 h
    page = _flashes(admin_client, response)
    assert ("Les demi-journées prévues font 18 h, alors que la formation « Négocier » dure 21 h : vérifiez les "
            "dates et l'emploi du temps.") in page
    session = db.session.scalar(db.select(TrainingSession))

    response = admin_client.post(f"/sessions/{session.id}/modifier", data=session_form(
        programme, version=factories.version_of(session), end_time="12:30"))
    assert response.status_code == 302
    assert "Les demi-journées prévues font" not in _flashes(admin_client, response)  # 21 h again

    response = admin_client.post(f"/sessions/{session.id}/modifier", data=session_form(
        programme, version=factories.version_of(session), end_time="18:00"))
    assert "Les demi-journées prévues font 25 h, alors que la formation « Négocier » dure 21 h" in _flashes(
        admin_client, response)


def test_planned_hours_as_the_programmes_give_no_warning(admin_client):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=session_form(programme))
    assert "Les demi-journées prévues font" not in _flashes(admin_client, response)


def test_a_new_account_with_every_mistake_gets_every_message_at_once(admin_client, trainer):
    from training_app.models import User

    response = admin_client.post("/admin/comptes", data={"name": "", "email": trainer.email.upper(),
                                                         "role": "trainer", "password": "court"})
    errors = _errors(response)
    assert errors["name"] == "Indiquez le nom."
    assert errors["email"] == "Un compte existe déjà avec cette adresse e-mail."
    assert errors["password"] == "Le mot de passe doit compter au moins 10 caractères."
    assert _count(User) == 2  # the administrator and the trainer


def test_an_account_edit_with_every_mistake_gets_every_message_at_once(admin_client, admin, trainer):
    response = admin_client.post(f"/admin/comptes/{trainer.id}/modifier", data={
        "name": "", "email": admin.email, "role": "trainer", "version": trainer.version})
    errors = _errors(response)
    assert errors["name"] == "Indiquez le nom."
    assert errors["email"] == "Un compte existe déjà avec cette adresse e-mail."
    response = admin_client.post(f"/admin/comptes/{trainer.id}/modifier", data={
        "name": "Thomas", "email": trainer.email, "role": "trainer", "version": trainer.version})
    assert response.status_code == 302  # its own address is no other account's


def test_a_programme_with_every_mistake_gets_every_message_at_once(admin_client):
    from tests.web.test_catalogue import FORM as PROGRAMME_FORM
    from training_app.models import Programme

    response = admin_client.post("/admin/formations/nouvelle", data=dict(PROGRAMME_FORM, title="", price=""))
    errors = _errors(response)
    assert errors["title"] == "Indiquez l'intitulé."
    assert errors["price"].startswith("Indiquez un prix supérieur à")
    assert _count(Programme) == 0


def test_dates_between_which_no_half_day_falls_are_told_next_to_the_end(admin_client):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=session_form(
        programme, start_date="2030-03-05", start_time="18:30", end_date="2030-03-05", end_time="19:30"))
    assert response.status_code == 200
    assert _errors(response)["end_date"] == "Aucune demi-journée de l'emploi du temps ne tombe entre le début et la fin."
    assert _count(TrainingSession) == 0
