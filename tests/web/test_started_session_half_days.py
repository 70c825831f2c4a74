"""Once a session has started, its half-days to come are still changed from its page (the cancellation page sends
the office there: « modifiez les demi-journées restantes »); those whose signing has opened, or with anything
recorded on them, stay as they are."""
from datetime import datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord, Slot, TrainingSession
from training_app.services import attendance

WEDNESDAY_MORNING = datetime(2030, 3, 6, 9, 0)  # Tuesday's half-day is over; Wednesday's signing opens at 9:15


def _started_session():
    """The reference session (Tue 5 Mar 14:00 to Fri 8 Mar 12:30), its first half-day attended."""
    trainer = factories.make_user("trainer")
    session, (awa, *_others) = factories.make_attendance_session(trainers=[trainer])
    with frozen_at(datetime(2030, 3, 5, 14, 10)):
        attendance.mark(session.slots[0], awa, "present", actor=trainer)
    db.session.commit()
    return session, awa


def _edit_url(session, slot):
    return f"/sessions/{session.id}/creneaux/{slot.id}"


def test_a_started_session_offers_to_change_its_half_days_to_come_only(admin_client):
    session, _awa = _started_session()
    first, wednesday, last = session.slots[0], session.slots[1], session.slots[-1]
    with frozen_at(WEDNESDAY_MORNING):
        page = admin_client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert f'href="{_edit_url(session, wednesday)}"' in page and f'href="{_edit_url(session, last)}"' in page
    assert f'href="{_edit_url(session, first)}"' not in page and f"{_edit_url(session, first)}/supprimer" not in page
    assert f"{_edit_url(session, last)}/supprimer" in page
    assert 'data-testid="slot-form"' in page and "Ajouter une demi-journée" in page
    with frozen_at(datetime(2030, 3, 6, 9, 20)):  # Wednesday's signing has opened: it stays too
        page = admin_client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert f'href="{_edit_url(session, wednesday)}"' not in page and f'href="{_edit_url(session, last)}"' in page
    with frozen_at(datetime(2030, 3, 8, 13, 0)):  # over: nothing to change, nothing to add
        page = admin_client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "/creneaux/" not in page and 'data-testid="slot-form"' not in page


def test_a_started_sessions_half_days_to_come_are_moved_removed_and_added(admin_client):
    session, _awa = _started_session()
    session_id, first_id, last_id = session.id, session.slots[0].id, session.slots[-1].id
    thursday_afternoon = session.slots[-2]
    with frozen_at(WEDNESDAY_MORNING):
        response = admin_client.post(_edit_url(session, session.slots[-1]), data={
            "date": "2030-03-08", "start_time": "09:30", "end_time": "12:00"})
        assert response.status_code == 302
        assert admin_client.post(f"{_edit_url(session, thursday_afternoon)}/supprimer").status_code == 302
        response = admin_client.post(f"/sessions/{session_id}/creneaux", data={
            "date": "2030-03-08", "start_time": "14:00", "end_time": "17:00"})
        assert response.status_code == 302
        # the half-day attended stays as it is: neither moved nor removed
        response = admin_client.post(f"/sessions/{session_id}/creneaux/{first_id}", data={
            "date": "2030-03-05", "start_time": "14:30", "end_time": "18:00"})
        assert response.status_code == 200 and "a commencé" in response.get_data(as_text=True)
        response = admin_client.post(f"/sessions/{session_id}/creneaux/{first_id}/supprimer", follow_redirects=True)
        assert "a commencé" in response.get_data(as_text=True)
    db.session.expire_all()
    session = db.session.get(TrainingSession, session_id)
    assert [(slot.date.day, f"{slot.start_time:%H:%M}", f"{slot.end_time:%H:%M}") for slot in session.slots] == [
        (5, "14:00", "18:00"), (6, "09:30", "12:30"), (6, "14:00", "18:00"), (7, "09:30", "12:30"),
        (8, "09:30", "12:00"), (8, "14:00", "17:00")]
    assert db.session.get(Slot, last_id).end_time.hour == 12
    assert session.end_at == datetime(2030, 3, 8, 17, 0)  # the session's end follows its last half-day


def test_a_half_day_to_come_with_attendance_recorded_is_neither_moved_nor_removed(admin_client):
    """However it came there (an import, a correction), what is recorded on a half-day keeps it as it is."""
    session, awa = _started_session()
    last = session.slots[-1]
    db.session.add(AttendanceRecord(slot_id=last.id, enrolment_id=awa.id, status="absent_justified",
                                    justification="Arrêt maladie"))
    db.session.commit()
    with frozen_at(WEDNESDAY_MORNING):
        page = admin_client.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert f'href="{_edit_url(session, last)}"' not in page
        response = admin_client.post(_edit_url(session, last), data={
            "date": "2030-03-08", "start_time": "10:00", "end_time": "12:30"})
        assert response.status_code == 200 and "a commencé" in response.get_data(as_text=True)
        admin_client.post(f"{_edit_url(session, last)}/supprimer")
    db.session.expire_all()
    last = db.session.get(Slot, last.id)
    assert last is not None and f"{last.start_time:%H:%M}" == "09:30"
