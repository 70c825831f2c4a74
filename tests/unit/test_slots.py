from datetime import date, datetime

import pytest

from tests import factories
from tests.factories import t
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord, Signature, SignatureMethod
from training_app.services import ServiceError, attendance
from training_app.services import sessions as session_service


def test_reference_timetable_gives_six_half_days_and_21_hours():
    slots = session_service.generate_slots(datetime(2018, 12, 11, 14, 0), datetime(2018, 12, 14, 12, 30))
    assert [(d.day, s, e) for d, s, e in slots] == [
        (11, t("14:00"), t("18:00")),
        (12, t("09:30"), t("12:30")), (12, t("14:00"), t("18:00")),
        (13, t("09:30"), t("12:30")), (13, t("14:00"), t("18:00")),
        (14, t("09:30"), t("12:30")),
    ]
    minutes = sum((e.hour * 60 + e.minute) - (s.hour * 60 + s.minute) for _d, s, e in slots)
    assert minutes == 21 * 60


def test_half_days_are_clipped_to_the_session_and_skip_weekends():
    slots = session_service.generate_slots(datetime(2030, 3, 8, 10, 0), datetime(2030, 3, 11, 16, 0))
    assert slots == [
        (date(2030, 3, 8), t("10:00"), t("12:30")), (date(2030, 3, 8), t("14:00"), t("18:00")),
        (date(2030, 3, 11), t("09:30"), t("12:30")), (date(2030, 3, 11), t("14:00"), t("16:00")),
    ]


def test_custom_timetable():
    slots = session_service.generate_slots(datetime(2030, 3, 5, 9, 0), datetime(2030, 3, 5, 17, 0),
                                           ((t("09:00"), t("12:00")), (t("13:00"), t("17:00"))))
    assert [(s, e) for _d, s, e in slots] == [(t("09:00"), t("12:00")), (t("13:00"), t("17:00"))]


def test_created_session_has_planned_hours_from_its_slots():
    session = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30))
    assert len(session.slots) == 6
    assert session.planned_minutes == 21 * 60


def test_reversed_dates_are_refused():
    programme = factories.make_programme()
    with pytest.raises(ServiceError) as error:
        session_service.create_session(session_service.SessionData(
            programme=programme, start_at=datetime(2030, 3, 8), end_at=datetime(2030, 3, 5)))
    assert error.value.field == "end_date"
    assert "postérieure" in error.value.message


def test_the_session_runs_from_its_first_half_day_to_its_last():
    """Convocations, public pages and certificates print the session's dates: they follow its half-days."""
    session = factories.make_session()  # Tue 5 Mar 14:00 to Fri 8 Mar 12:30
    with frozen_at(datetime(2030, 1, 1)):
        first = session.slots[0]
        session_service.update_slot(first, first.date, t("14:30"), t("18:00"))
        assert session.start_at == datetime(2030, 3, 5, 14, 30)
        session_service.delete_slot(first)
        assert session.start_at == datetime(2030, 3, 6, 9, 30)
        session_service.add_slot(session, date(2030, 3, 12), t("09:30"), t("12:30"))  # a follow-up morning
        assert session.end_at == datetime(2030, 3, 12, 12, 30)
        session_service.delete_slot(session.slots[-1])
        assert session.end_at == datetime(2030, 3, 8, 12, 30)
        with pytest.raises(ServiceError, match="au plus un an"):
            session_service.add_slot(session, date(2031, 3, 12), t("09:30"), t("12:30"))
    db.session.commit()
    db.session.expire_all()
    assert (session.start_at, session.end_at) == (datetime(2030, 3, 6, 9, 30), datetime(2030, 3, 8, 12, 30))
    assert session.planned_minutes == 17 * 60


def test_no_half_day_is_added_to_a_session_that_is_over():
    session = factories.make_session()  # Tue 5 Mar 14:00 to Fri 8 Mar 2030 12:30
    with frozen_at(datetime(2030, 3, 9, 10)), pytest.raises(ServiceError, match="Cette session est terminée"):
        session_service.add_slot(session, date(2030, 3, 20), t("09:30"), t("12:30"))
    db.session.rollback()
    session.status = "completed"  # marked completed by the office before its last day
    db.session.commit()
    with frozen_at(datetime(2030, 3, 8, 9, 0)), pytest.raises(ServiceError, match="Cette session est terminée"):
        session_service.add_slot(session, date(2030, 3, 20), t("09:30"), t("12:30"))
    db.session.rollback()
    assert len(session.slots) == 6 and session.end_at == datetime(2030, 3, 8, 12, 30)


def test_slot_in_the_past_or_overlapping_is_refused():
    session = factories.make_session()
    with frozen_at(datetime(2030, 1, 1)):
        with pytest.raises(ServiceError, match="dans le passé"):
            session_service.add_slot(session, date(2029, 12, 31), t("09:30"), t("12:30"))
        with pytest.raises(ServiceError, match="chevauche"):
            session_service.add_slot(session, date(2030, 3, 6), t("11:00"), t("13:00"))
        with pytest.raises(ServiceError, match="après l'heure de début"):
            session_service.add_slot(session, date(2030, 3, 6), t("13:00"), t("12:00"))
        added = session_service.add_slot(session, date(2030, 3, 6), t("12:45"), t("13:45"))
    db.session.commit()
    assert added.minutes == 60
    assert session.planned_minutes == 21 * 60 + 60


def test_slots_cannot_change_once_the_session_has_started():
    session = factories.make_session()
    first = session.slots[0]
    with frozen_at(datetime(2030, 3, 6, 10, 0)):
        with pytest.raises(ServiceError, match="a commencé"):
            session_service.update_slot(first, first.date, t("14:30"), t("18:00"))
        with pytest.raises(ServiceError, match="a commencé"):
            session_service.delete_slot(first)


def _dates(session, start, end, **fields):
    return session_service.SessionData(programme=session.programme, start_at=start, end_at=end,
                                       capacity=session.capacity, status=session.status, place=session.place,
                                       **fields)


def test_changing_the_dates_keeps_the_half_days_that_do_not_move():
    session = factories.make_session()  # Tue 5 Mar 14:00 to Fri 8 Mar 12:30
    kept = {(s.date, s.start_time): s.id for s in session.slots}
    with frozen_at(datetime(2030, 1, 10)):  # the end moves to Friday evening: one half-day more
        assert session_service.update_session(session, _dates(session, session.start_at,
                                                              datetime(2030, 3, 8, 18))).slots_regenerated
    db.session.commit()
    assert [(s.date.day, s.start_time, s.end_time) for s in session.slots] == [
        (5, t("14:00"), t("18:00")), (6, t("09:30"), t("12:30")), (6, t("14:00"), t("18:00")),
        (7, t("09:30"), t("12:30")), (7, t("14:00"), t("18:00")), (8, t("09:30"), t("12:30")),
        (8, t("14:00"), t("18:00"))]
    assert all(kept[(s.date, s.start_time)] == s.id for s in session.slots[:6])  # the same rows, kept
    with frozen_at(datetime(2030, 1, 10)):  # a day earlier, ending at 16:00: one removed, one shortened
        session_service.update_session(session, _dates(session, datetime(2030, 3, 5, 9, 30),
                                                       datetime(2030, 3, 7, 16)))
    db.session.commit()
    assert [(s.date.day, s.start_time, s.end_time) for s in session.slots] == [
        (5, t("09:30"), t("12:30")), (5, t("14:00"), t("18:00")), (6, t("09:30"), t("12:30")),
        (6, t("14:00"), t("18:00")), (7, t("09:30"), t("12:30")), (7, t("14:00"), t("16:00"))]
    assert session.planned_minutes == 3 * 7 * 60 - 120


def test_the_schedule_is_fixed_once_trainees_may_sign():
    """Trainees sign from 15 minutes before a half-day starts: from then on (or once anything is recorded)
    the half-day cannot be moved or removed, nor the session's dates changed, or a signature would end up
    on another half-day than the one it was given for, or be deleted."""
    trainer = factories.make_user("trainer")
    session, (awa, *_others) = factories.make_attendance_session(trainers=[trainer])
    first, wednesday = session.slots[0], session.slots[1]  # Tue 14:00, Wed 9:30
    moved_later = _dates(session, datetime(2030, 3, 5, 14, 30), session.end_at, trainers=(trainer,))
    with frozen_at(datetime(2030, 3, 5, 13, 46)):  # signing opens at 13:45
        with pytest.raises(ServiceError, match="a commencé"):
            session_service.update_session(session, moved_later)
        attendance.sign(first, awa, factories.signature_data_url(), method=SignatureMethod.DEVICE, actor=trainer)
    db.session.commit()
    with frozen_at(datetime(2030, 3, 6, 9, 20)):
        with pytest.raises(ServiceError, match="a commencé"):
            session_service.update_slot(wednesday, wednesday.date, t("10:30"), t("12:30"))
        with pytest.raises(ServiceError, match="a commencé"):
            session_service.delete_slot(wednesday)
    db.session.rollback()
    assert (wednesday.start_time, len(session.slots)) == (t("09:30"), 6)
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 1
    with frozen_at(datetime(2030, 3, 6, 9, 14)):  # before its own margin, Wednesday morning may still move
        session_service.update_slot(wednesday, wednesday.date, t("10:00"), t("12:30"))
    db.session.commit()
    assert wednesday.minutes == 150


def test_a_signature_fixes_its_half_day_even_before_the_margin():
    """A record made ahead of time (the office may note a justified absence in advance) fixes the half-day."""
    session, (awa, *_others) = factories.make_attendance_session()
    friday = session.slots[-1]
    db.session.add(AttendanceRecord(slot=friday, enrolment=awa, status="absent_justified", minutes_attended=0))
    db.session.commit()
    with frozen_at(datetime(2030, 3, 1)):
        with pytest.raises(ServiceError, match="a commencé"):
            session_service.delete_slot(friday)
        with pytest.raises(ServiceError, match="a commencé"):
            session_service.update_session(session, _dates(session, session.start_at, datetime(2030, 3, 8, 18)))


def test_trainer_cannot_be_booked_on_two_overlapping_sessions():
    trainer = factories.make_user("trainer", name="Camille")
    factories.make_session(trainers=[trainer])
    programme = factories.make_programme()
    with frozen_at(datetime(2000, 1, 1)):
        with pytest.raises(ServiceError, match="Camille anime déjà"):
            session_service.create_session(session_service.SessionData(
                programme=programme, start_at=datetime(2030, 3, 6, 9, 30), end_at=datetime(2030, 3, 6, 18),
                trainers=(trainer,)))
    db.session.rollback()
    # the next week is free
    with frozen_at(datetime(2000, 1, 1)):
        other = session_service.create_session(session_service.SessionData(
            programme=programme, start_at=datetime(2030, 3, 13, 9, 30), end_at=datetime(2030, 3, 13, 18),
            trainers=(trainer,)))
    assert other.trainers == [trainer]


def test_capacity_cannot_drop_below_confirmed_enrolments():
    session = factories.make_session(capacity=3)
    for _ in range(3):
        factories.make_enrolment(session)
    data = session_service.SessionData(programme=session.programme, start_at=session.start_at,
                                       end_at=session.end_at, capacity=2, status="open")
    with pytest.raises(ServiceError, match=r"\(3\)"):
        session_service.update_session(session, data)


def test_an_emptied_capacity_field_cannot_take_the_capacity_below_the_confirmed():
    """An empty capacity means the programme's default: the check compares with that, not the old capacity."""
    programme = factories.make_programme(capacity=15)
    session = factories.make_session(programme=programme, capacity=20)
    for _ in range(18):
        factories.enrol(session)
    emptied = session_service.SessionData(programme=programme, start_at=session.start_at, end_at=session.end_at,
                                          capacity=None, status=session.status)
    with frozen_at(datetime(2030, 1, 10)), pytest.raises(ServiceError, match=r"\(18\)"):
        session_service.update_session(session, emptied)
    db.session.rollback()
    assert session.capacity == 20


def test_session_takes_programme_defaults_and_internal_is_free():
    programme = factories.make_programme(price_cents=56000, capacity=12)
    session = factories.make_session(programme=programme, capacity=None, price_cents=None)
    assert (session.capacity, session.price_cents) == (12, 56000)
    internal = factories.make_programme(kind="internal", price_cents=0)
    assert factories.make_session(programme=internal, price_cents=9900).price_cents == 0


def test_no_session_is_created_in_or_moved_to_an_archived_programme_one_of_it_is_still_edited():
    from training_app.services import programmes as programme_service
    archived = factories.make_programme(title="Ancienne formation")
    kept = factories.make_session(programme=archived)
    other = factories.make_session(start=datetime(2030, 5, 7, 14), end=datetime(2030, 5, 10, 12, 30))
    programme_service.set_archived(archived, True)
    db.session.commit()

    def data(session, programme, **changes):
        return session_service.SessionData(**{
            "programme": programme, "start_at": session.start_at, "end_at": session.end_at, "place": session.place,
            "capacity": session.capacity, "price_cents": session.price_cents, "status": session.status, **changes})

    refusal = "La formation « Ancienne formation » est archivée : on n'y programme plus de session."
    with pytest.raises(ServiceError) as error:
        session_service.create_session(data(other, archived))
    assert error.value.field == "programme_id" and error.value.message.startswith(refusal)
    db.session.rollback()
    with pytest.raises(ServiceError) as error:
        session_service.update_session(other, data(other, archived))
    assert error.value.message.startswith(refusal)
    db.session.rollback()
    session_service.update_session(kept, data(kept, archived, place="Brest"))  # its own programme: still edited
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(type(kept)).where(
        type(kept).programme_id == archived.id)) == 1 and other.programme_id != archived.id


def test_phase():
    session = factories.make_session()
    assert session_service.phase(session, datetime(2030, 3, 1)) == "upcoming"
    assert session_service.phase(session, datetime(2030, 3, 6, 10)) == "running"
    assert session_service.phase(session, datetime(2030, 3, 9)) == "past"
