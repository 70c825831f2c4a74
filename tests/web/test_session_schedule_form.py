"""The session form: its own timetable, weekends, what a move did to the half-days, when "Terminée" is offered."""
import re
from datetime import date, datetime

from tests import factories
from tests.factories import t
from tests.web.test_sessions import session_form
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import TrainingSession
from training_app.services import sessions as session_service

PLANNING = datetime(2030, 1, 10, 10)


def _form_values(page):
    """The edit form's values as the page fills them (text inputs, ticked boxes, selected options)."""
    values = {}
    for attributes in re.findall(r"<input([^>]*)>", page):
        name, value = re.search(r'name="([^"]+)"', attributes), re.search(r'value="([^"]*)"', attributes)
        if name and ('type="checkbox"' not in attributes or " checked" in attributes):
            values.setdefault(name.group(1), value.group(1) if value else "")
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option(?=[^>]*selected)[^>]*value="([^"]*)"', options)
        values[name] = chosen.group(1) if chosen else ""
    return values


def _flashes(response):
    return [message.replace("&#39;", "'") for message in
            re.findall(r'class="alert alert-\w+[^"]*"[^>]*>(.*?)<', response.get_data(as_text=True))]


def test_the_edit_form_shows_the_sessions_own_timetable_and_a_move_keeps_it(admin_client):
    session = factories.make_session(timetable=((t("09:00"), t("12:00")), (t("13:30"), t("17:00"))),
                                     start=datetime(2030, 3, 5, 9), end=datetime(2030, 3, 6, 17))
    with frozen_at(PLANNING):
        values = _form_values(admin_client.get(f"/sessions/{session.id}/modifier").get_data(as_text=True))
        assert [values[name] for name in ("morning_start", "morning_end", "afternoon_start", "afternoon_end")] == [
            "09:00", "12:00", "13:30", "17:00"]
        assert "include_weekends" not in values
        response = admin_client.post(f"/sessions/{session.id}/modifier", follow_redirects=True,
                                     data=dict(values, start_date="06/03/2030", end_date="07/03/2030"))
    assert ("Les demi-journées ont été recalculées selon l'emploi du temps : 4 demi-journées, 13 h prévues "
            "(avant : 4 demi-journées, 13 h).") in " ".join(_flashes(response))
    db.session.expire_all()
    assert {(s.start_time, s.end_time) for s in db.session.get(TrainingSession, session.id).slots} == {
        (t("09:00"), t("12:00")), (t("13:30"), t("17:00"))}


def test_a_session_starting_at_ten_keeps_the_default_timetable_and_can_be_extended(admin_client):
    """Tue 10:00 - Wed 16:00: its first morning and last afternoon are cut by its times, not edited."""
    session = factories.make_session(start=datetime(2030, 3, 5, 10), end=datetime(2030, 3, 6, 16))
    with frozen_at(PLANNING):
        values = _form_values(admin_client.get(f"/sessions/{session.id}/modifier").get_data(as_text=True))
        assert [values[name] for name in ("morning_start", "morning_end", "afternoon_start", "afternoon_end")] == [
            "09:30", "12:30", "14:00", "18:00"]
        response = admin_client.post(f"/sessions/{session.id}/modifier", follow_redirects=True,
                                     data=dict(values, end_date="07/03/2030"))
    assert "modifiées une à une" not in response.get_data(as_text=True)
    db.session.expire_all()
    assert [(s.date.day, s.start_time, s.end_time) for s in sorted(
        db.session.get(TrainingSession, session.id).slots, key=lambda s: s.starts_at)] == [
        (5, t("10:00"), t("12:30")), (5, t("14:00"), t("18:00")), (6, t("09:30"), t("12:30")),
        (6, t("14:00"), t("18:00")), (7, t("09:30"), t("12:30")), (7, t("14:00"), t("16:00"))]


def test_a_session_with_a_follow_up_is_moved_as_it_is_and_the_message_says_so(admin_client):
    session = factories.make_session()
    with frozen_at(PLANNING):
        session_service.add_slot(session, date(2030, 4, 9), t("09:30"), t("12:30"))
        db.session.commit()
        values = _form_values(admin_client.get(f"/sessions/{session.id}/modifier").get_data(as_text=True))
        refused = admin_client.post(f"/sessions/{session.id}/modifier", data=dict(values, start_date="04/03/2030"))
        assert refused.status_code == 200 and "modifiées une à une" in refused.get_data(as_text=True)
        response = admin_client.post(f"/sessions/{session.id}/modifier", follow_redirects=True,
                                     data=dict(values, start_date="04/03/2030", end_date="08/04/2030"))
    assert ("Les 7 demi-journées de la session ont été avancées de 1 jour, telles quelles (24 h prévues)."
            in " ".join(_flashes(response)))
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).planned_minutes == 24 * 60


def test_weekends_are_a_choice_of_the_form(admin_client):
    programme = factories.make_programme()
    friday_saturday = session_form(programme, start_date="13/12/2030", start_time="09:30", end_date="14/12/2030",
                                   end_time="18:00")
    with frozen_at(PLANNING):
        response = admin_client.post("/sessions/nouvelle", data=friday_saturday, follow_redirects=True)
        assert "2 demi-journées tombant un samedi ou un dimanche n'ont pas été prévues" in " ".join(
            _flashes(response))
        saturday = dict(friday_saturday, start_date="14/12/2030")
        page = admin_client.post("/sessions/nouvelle", data=saturday).get_data(as_text=True)
        assert "cochez « Inclure le samedi et le dimanche »" in page
        admin_client.post("/sessions/nouvelle", data=dict(saturday, include_weekends="y"))
        session = db.session.scalars(db.select(TrainingSession).order_by(TrainingSession.id.desc())).first()
        assert [s.date for s in session.slots] == [date(2030, 12, 14)] * 2
        values = _form_values(admin_client.get(f"/sessions/{session.id}/modifier").get_data(as_text=True))
    assert values["include_weekends"] == "y"


def test_a_change_of_programme_alone_does_not_tell_again_of_the_weekend_left_out(admin_client):
    programme, other = factories.make_programme(), factories.make_programme(title="Autre formation")
    with frozen_at(PLANNING):
        admin_client.post("/sessions/nouvelle", data=session_form(
            programme, start_date="13/12/2030", start_time="09:30", end_date="16/12/2030", end_time="18:00"))
        session = db.session.scalars(db.select(TrainingSession).order_by(TrainingSession.id.desc())).first()
        values = _form_values(admin_client.get(f"/sessions/{session.id}/modifier").get_data(as_text=True))
        response = admin_client.post(f"/sessions/{session.id}/modifier", follow_redirects=True,
                                     data=dict(values, programme_id=str(other.id)))
    told = " ".join(_flashes(response))
    assert "Session mise à jour." in told
    assert "samedi ou un dimanche" not in told
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).programme_id == other.id


def test_completed_is_offered_only_once_the_session_is_over(admin_client):
    session = factories.make_session()

    def choices():
        page = admin_client.get(f"/sessions/{session.id}/modifier").get_data(as_text=True)
        return re.findall(r'<option[^>]*value="(\w+)"', re.search(r'name="status".*?</select>', page, re.S).group(0))

    with frozen_at(datetime(2030, 3, 6, 10)):
        assert choices() == ["planned", "open", "running"]
    with frozen_at(datetime(2030, 3, 9)):
        assert choices() == ["planned", "open", "running", "completed"]
