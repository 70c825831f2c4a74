import re
from datetime import datetime

from tests import factories
from training_app.extensions import db
from training_app.models import Slot, TrainingSession


def session_form(programme, **overrides):
    data = {
        "programme_id": str(programme.id), "start_date": "2030-03-05", "start_time": "14:00",
        "end_date": "2030-03-08", "end_time": "12:30", "morning_start": "09:30", "morning_end": "12:30",
        "afternoon_start": "14:00", "afternoon_end": "18:00", "place": "Rennes", "access_info": "",
        "modality": "in_person", "capacity": "15", "price": "840", "status": "open", "contact_person": "",
    }
    data.update(overrides)
    return data


def test_admin_creates_a_session_with_generated_slots(admin_client, trainer):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=dict(session_form(programme), trainers=[trainer.id]))
    assert response.status_code == 302
    session = db.session.scalar(db.select(TrainingSession))
    assert len(session.slots) == 6 and session.planned_minutes == 21 * 60
    assert session.trainers == [trainer]
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "21 h" in page and "Demi-journées (6)" in page


def test_bad_session_input_gets_french_messages_and_saves_nothing(admin_client, trainer):
    programme = factories.make_programme()
    cases = {
        "La fin doit être postérieure au début.": {"end_date": "2030-03-01"},
        "Date de début : saisissez une date au format JJ/MM/AAAA.": {"start_date": "31/02/2030"},
        "au moins 1 place": {"capacity": "0"},
        "ne peut pas être négatif": {"price": "-1"},
        "se chevauchent": {"morning_end": "15:00"},
    }
    for message, overrides in cases.items():
        response = admin_client.post("/sessions/nouvelle", data=session_form(programme, **overrides))
        assert response.status_code == 200
        assert message in response.get_data(as_text=True).replace("&#39;", "'"), message
    assert db.session.scalar(db.select(db.func.count(TrainingSession.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Slot.id))) == 0


def test_double_booked_trainer_is_refused(admin_client, trainer):
    factories.make_session(trainers=[trainer])
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=dict(
        session_form(programme, start_date="2030-03-06", start_time="09:30", end_date="2030-03-06"),
        trainers=[trainer.id]))
    assert "anime déjà une autre session" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(TrainingSession.id))) == 1


def test_moving_a_sessions_end_keeps_its_other_half_days(admin_client):
    session = factories.make_session()  # Tue 5 Mar 14:00 to Fri 8 Mar 12:30
    first_id = session.slots[0].id
    response = admin_client.post(f"/sessions/{session.id}/modifier",
                                 data=session_form(version=factories.version_of(session), programme=session.programme, end_time="18:00"))
    assert response.status_code == 302
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert len(session.slots) == 7 and session.planned_minutes == 25 * 60 and session.slots[0].id == first_id


def test_an_emptied_capacity_is_refused_below_the_confirmed(admin_client):
    session = factories.make_session(programme=factories.make_programme(capacity=15), capacity=20)
    for _ in range(18):
        factories.enrol(session)
    response = admin_client.post(f"/sessions/{session.id}/modifier",
                                 data=session_form(version=factories.version_of(session), programme=session.programme, capacity=""))
    assert response.status_code == 200
    assert "sous le nombre de places occupées (18)" in response.get_data(as_text=True).replace("&#39;", "'")
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).capacity == 20


def test_slots_are_added_edited_and_removed(admin_client):
    session = factories.make_session()
    url = f"/sessions/{session.id}"
    response = admin_client.post(f"{url}/creneaux", data={"date": "2031-04-20", "start_time": "09:30",
                                                          "end_time": "12:30"}, follow_redirects=True)
    assert "au plus un an" in response.get_data(as_text=True)
    response = admin_client.post(f"{url}/creneaux", data={"date": "2030-03-20", "start_time": "09:30",
                                                          "end_time": "12:30"})  # a follow-up morning
    assert response.status_code == 302
    slot = session.slots[-2]
    response = admin_client.post(f"{url}/creneaux/{slot.id}", data={
        "date": slot.date.isoformat(), "start_time": "09:30", "end_time": "12:00"})
    assert response.status_code == 302
    admin_client.post(f"{url}/creneaux/{session.slots[0].id}/supprimer")
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert len(session.slots) == 6
    assert session.planned_minutes == 21 * 60 - 4 * 60 - 30 + 3 * 60
    # the session's dates follow its half-days: Wednesday 9:30 to the follow-up morning
    assert (session.start_at, session.end_at) == (datetime(2030, 3, 6, 9, 30), datetime(2030, 3, 20, 12, 30))
    page = admin_client.get(url).get_data(as_text=True)
    assert "20/03/2030" in page or "20 mars 2030" in page


def test_trainers_see_only_their_sessions(trainer_client, trainer):
    mine = factories.make_session(trainers=[trainer])
    other = factories.make_session(start=datetime(2031, 3, 4, 9, 30), end=datetime(2031, 3, 4, 18))
    listing = trainer_client.get("/sessions").get_data(as_text=True)
    assert f"/sessions/{mine.id}" in listing and f"/sessions/{other.id}\"" not in listing
    assert trainer_client.get(f"/sessions/{mine.id}").status_code == 200
    assert trainer_client.get(f"/sessions/{other.id}").status_code == 403


def test_session_list_filters_and_paginates(admin_client, app, trainer):
    programme = factories.make_programme(title="Programme A")
    past = factories.make_session(programme=programme, start=datetime(2018, 12, 11, 14),
                                  end=datetime(2018, 12, 14, 12, 30), trainers=[trainer])
    upcoming = factories.make_session(start=datetime(2030, 5, 7, 9, 30), end=datetime(2030, 5, 7, 18))
    page = admin_client.get("/sessions?phase=past").get_data(as_text=True)
    assert f"/sessions/{past.id}\"" in page and f"/sessions/{upcoming.id}\"" not in page
    page = admin_client.get(f"/sessions?trainer={trainer.id}").get_data(as_text=True)
    assert f"/sessions/{past.id}\"" in page and f"/sessions/{upcoming.id}\"" not in page
    page = admin_client.get(f"/sessions?programme={programme.id}").get_data(as_text=True)
    assert f"/sessions/{past.id}\"" in page and f"/sessions/{upcoming.id}\"" not in page
    app.config["SESSIONS_PER_PAGE"] = 1
    try:
        assert 'aria-label="Pagination"' in admin_client.get("/sessions").get_data(as_text=True)
        assert admin_client.get("/sessions?page=2").status_code == 200
    finally:
        app.config["SESSIONS_PER_PAGE"] = 20


def test_editing_a_session_keeps_its_deactivated_trainer(admin_client):
    gone = factories.make_user("trainer", name="Camille Le Gall")
    other = factories.make_user("trainer", name="Yann Morvan")
    session = factories.make_session(trainers=[gone, other])
    admin_client.post(f"/admin/comptes/{gone.id}/activation", data={"active": "0"})
    db.session.expire_all()
    assert not db.session.get(type(gone), gone.id).active
    form = admin_client.get(f"/sessions/{session.id}/modifier").get_data(as_text=True)
    assert "Camille Le Gall (compte désactivé)" in form
    response = admin_client.post(f"/sessions/{session.id}/modifier",
                                 data=session_form(version=factories.version_of(session), programme=session.programme, place="Rennes, salle 2",
                                                   trainers=[gone.id, other.id]))
    assert response.status_code == 302
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert [t.name for t in session.trainers] == ["Camille Le Gall", "Yann Morvan"]
    assert session.place == "Rennes, salle 2"
    # a deactivated account is offered only on the sessions it already teaches
    other_session = factories.make_session(start=datetime(2030, 4, 1, 9, 30), end=datetime(2030, 4, 2, 18))
    assert "Camille Le Gall" not in admin_client.get(f"/sessions/{other_session.id}/modifier").get_data(as_text=True)
    response = admin_client.post(f"/sessions/{other_session.id}/modifier",
                                 data=session_form(version=factories.version_of(other_session), programme=other_session.programme, start_date="2030-04-01",
                                                   start_time="09:30", end_date="2030-04-02", end_time="18:00",
                                                   trainers=[gone.id]))
    assert response.status_code == 200
    assert db.session.get(TrainingSession, other_session.id).trainers == []


def test_the_session_created_message_gives_hours_the_french_way(admin_client):
    programme = factories.make_programme()
    response = admin_client.post("/sessions/nouvelle", data=session_form(
        programme, start_date="2030-03-05", start_time="09:30", end_date="2030-03-07", end_time="18:00",
        morning_start="09:30", morning_end="12:00"), follow_redirects=True)
    assert "Session créée : 6 demi-journées, 19 h 30 prévues." in response.get_data(as_text=True)


def test_full_is_counted_from_the_seats_not_chosen_in_the_form(admin_client):
    """Choosing « Complète » was silently undone (a seat left reopens the session): the form does not offer it;
    « Inscriptions ouvertes » covers open and full, and the session page says which it is."""
    session = factories.make_session(capacity=1)
    form = admin_client.get(f"/sessions/{session.id}/modifier").get_data(as_text=True)
    assert 'value="full"' not in form and "Complète" not in form
    assert '<option selected value="open">Inscriptions ouvertes</option>' in form
    response = admin_client.post(f"/sessions/{session.id}/modifier",
                                 data=session_form(session.programme, version=factories.version_of(session),
                                                   capacity="1", status="full"))
    assert response.status_code == 200 and "pas un choix valide" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).status == "open"

    factories.enrol(session)  # the last seat: the session is full, by the count
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert session.status == "full"
    form = admin_client.get(f"/sessions/{session.id}/modifier").get_data(as_text=True)
    assert '<option selected value="open">Inscriptions ouvertes</option>' in form
    response = admin_client.post(f"/sessions/{session.id}/modifier",
                                 data=session_form(session.programme, version=factories.version_of(session),
                                                   capacity="1", place="Rennes, salle 2"))
    assert response.status_code == 302
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert (session.status, session.place) == ("full", "Rennes, salle 2")  # still full: its seats are taken
    assert "Complète" in admin_client.get(f"/sessions/{session.id}").get_data(as_text=True)


def test_opening_a_planned_session_gives_its_pre_registrations_their_seats(admin_client, client, outbox):
    session = factories.make_session(capacity=1, status="planned")
    for n in (1, 2):
        factories.register_and_confirm(client, session, {
            "first_name": f"Personne{n}", "last_name": "Test", "email": f"personne{n}@example.org",
            "funding_mode": "personal", "consent": "y"})
    outbox.clear()
    response = admin_client.post(f"/sessions/{session.id}/modifier", follow_redirects=True,
                                 data=session_form(session.programme, version=factories.version_of(session),
                                                   capacity="1", status="open"))
    page = response.get_data(as_text=True)
    assert ("Inscriptions ouvertes : 1 pré-inscription confirmée, 1 en liste d&#39;attente, dans l&#39;ordre "
            "des demandes") in page
    assert [(m.to[0], m.subject) for m in outbox] == [
        ("personne1@example.org", "Votre inscription est confirmée"),
        ("personne2@example.org", "Vous êtes sur la liste d'attente")]


def test_the_state_shown_follows_the_calendar_unless_the_session_is_cancelled(admin_client):
    """The office does not have to move each session to "En cours" then "Terminée": the list and the page show
    it from the dates. A cancelled session stays cancelled, an upcoming one keeps its stored state."""
    from training_app.clock import frozen_at
    from training_app.services import sessions as session_service
    upcoming = factories.make_session(start=datetime(2030, 3, 5, 14, 0), end=datetime(2030, 3, 8, 12, 30))
    running = factories.make_session(start=datetime(2030, 2, 4, 9, 30), end=datetime(2030, 2, 8, 12, 30))
    past = factories.make_session(start=datetime(2030, 1, 7, 9, 30), end=datetime(2030, 1, 8, 18, 0))
    cancelled = factories.make_session(start=datetime(2030, 1, 14, 9, 30), end=datetime(2030, 1, 15, 18, 0),
                                       status="cancelled")
    with frozen_at(datetime(2030, 2, 5, 10, 0)):
        assert [session_service.shown_status(s) for s in (upcoming, running, past, cancelled)] == [
            "open", "running", "completed", "cancelled"]
        listed = admin_client.get("/sessions").get_data(as_text=True)
        shown = {s.id: admin_client.get(f"/sessions/{s.id}").get_data(as_text=True)
                 for s in (upcoming, running, past, cancelled)}
    badges = [state for state in ("Inscriptions ouvertes", "En cours", "Terminée", "Annulée")
              for _ in range(listed.count(f'text-bg-light">{state}<'))]
    assert sorted(badges) == sorted(["Inscriptions ouvertes", "En cours", "Terminée", "Annulée"])
    for session, state in ((upcoming, "Inscriptions ouvertes"), (running, "En cours"), (past, "Terminée"),
                           (cancelled, "Annulée")):
        assert f'text-bg-light">{state}<' in shown[session.id]
    assert db.session.get(TrainingSession, running.id).status == "open"  # shown, not stored


def test_removing_a_trainer_who_signed_the_sheets_is_refused_on_the_field_and_the_form_keeps_what_was_typed(
        admin_client):
    from tests.certificate_course import completed_course

    camille = factories.make_user("trainer", name="Camille Le Gall")  # signs and closes every half-day
    yann = factories.make_user("trainer", name="Yann Morvan")
    session = completed_course(trainers=[camille]).session
    data = session_form(session.programme, version=factories.version_of(session), start_date="2018-12-11",
                        end_date="2018-12-14", status="completed", place="Rennes, salle 3", trainers=[yann.id])
    response = admin_client.post(f"/sessions/{session.id}/modifier", data=data)
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 200
    assert "Camille Le Gall a signé des feuilles d'émargement de cette session : impossible de l'en retirer" in page
    assert "Rennes, salle 3</textarea>" in page  # what was typed stays
    assert re.search(rf'<input checked class="form-check-input" id="trainers-\d+" name="trainers" type="checkbox" '
                     rf'value="{yann.id}">', page)
    assert 'id="trainers-erreur"' in page
    db.session.expire_all()
    stored = db.session.get(TrainingSession, session.id)
    assert [t.name for t in stored.trainers] == ["Camille Le Gall"] and stored.place != "Rennes, salle 3"

    # adding a trainer stays possible
    response = admin_client.post(f"/sessions/{session.id}/modifier", data=dict(data, trainers=[camille.id, yann.id]))
    assert response.status_code == 302
    db.session.expire_all()
    stored = db.session.get(TrainingSession, session.id)
    assert [t.name for t in stored.trainers] == ["Camille Le Gall", "Yann Morvan"] and stored.place == "Rennes, salle 3"
