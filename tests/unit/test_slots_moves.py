"""Moving a session's dates, its timetable and weekends, and what a cancelled session keeps."""
from datetime import date, datetime

import pytest

from tests import factories
from tests.factories import t
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import ServiceError
from training_app.services import sessions as session_service

PLANNING = datetime(2030, 1, 10, 10)


def _data(session, start, end, **fields):
    return session_service.SessionData(**{
        "programme": session.programme, "start_at": start, "end_at": end, "capacity": session.capacity,
        "status": session.status, "place": session.place, "price_cents": session.price_cents, **fields})


def _plan(session):
    return [(s.date, s.start_time, s.end_time) for s in sorted(session.slots, key=lambda s: s.starts_at)]


def _with_follow_up():
    """Tue 5 Mar 14:00 - Fri 8 Mar 12:30 (6 half-days, 21 h), plus a follow-up morning on Tue 9 Apr: 24 h."""
    session = factories.make_session()
    with frozen_at(PLANNING):
        session_service.add_slot(session, date(2030, 4, 9), t("09:30"), t("12:30"))
    db.session.commit()
    return session


def test_a_session_with_a_follow_up_moved_by_a_day_keeps_its_half_days_as_they_are():
    session = _with_follow_up()
    before = [(day.replace(day=day.day - 1), start, end) for day, start, end in _plan(session)]
    with frozen_at(PLANNING):
        update = session_service.update_session(session, _data(session, datetime(2030, 3, 4, 14),
                                                               datetime(2030, 4, 8, 12, 30)))
    db.session.commit()
    assert (update.slots_regenerated, update.shifted_days, update.half_days_before) == (True, -1, (7, 24 * 60))
    assert _plan(session) == before and session.planned_minutes == 24 * 60  # not 52 half-days, 182 h
    assert (session.start_at, session.end_at) == (datetime(2030, 3, 4, 14), datetime(2030, 4, 8, 12, 30))


def test_half_days_edited_one_by_one_are_not_rebuilt_by_a_change_of_one_date():
    session = _with_follow_up()
    with frozen_at(PLANNING):
        session_service.delete_slot(session.slots[2])  # Wednesday afternoon
    db.session.commit()
    plan = _plan(session)
    for start, end in ((datetime(2030, 3, 4, 14), session.end_at),  # only the start moved
                       (datetime(2030, 3, 4, 15), datetime(2030, 4, 8, 12, 30))):  # not by whole days
        with frozen_at(PLANNING), pytest.raises(ServiceError, match="modifiées une à une"):
            session_service.update_session(session, _data(session, start, end))
        db.session.rollback()
    with frozen_at(PLANNING), pytest.raises(ServiceError, match="modifiées une à une"):  # nor a new timetable
        session_service.update_session(session, _data(session, session.start_at, session.end_at,
                                                      timetable=((t("09:00"), t("12:00")), (t("13:30"), t("17:00")))))
    db.session.rollback()
    with frozen_at(PLANNING):  # a week later: the removed half-day stays removed
        session_service.update_session(session, _data(session, datetime(2030, 3, 12, 14), datetime(2030, 4, 16, 12, 30)))
    db.session.commit()
    assert _plan(session) == [(day.replace(day=day.day + 7), start, end) for day, start, end in plan]
    with frozen_at(PLANNING):  # other fields alone: the half-days stay
        session_service.update_session(session, _data(session, session.start_at, session.end_at, capacity=12))
    db.session.commit()
    assert len(session.slots) == 6


def test_a_move_onto_a_weekend_is_refused_unless_weekends_are_included():
    session = _with_follow_up()
    moved = _data(session, datetime(2030, 3, 7, 14), datetime(2030, 4, 11, 12, 30))  # Thu - Sun
    with frozen_at(PLANNING), pytest.raises(ServiceError, match="09/03/2030, un samedi ou un dimanche") as error:
        session_service.update_session(session, moved)
    assert error.value.field == "include_weekends"
    db.session.rollback()
    with frozen_at(PLANNING):
        session_service.update_session(session, _data(session, moved.start_at, moved.end_at, include_weekends=True))
    db.session.commit()
    assert [s.date.day for s in session.slots if s.date.month == 3] == [7, 8, 8, 9, 9, 10]


def test_moving_a_session_keeps_its_own_timetable():
    session = factories.make_session(timetable=((t("09:00"), t("12:00")), (t("13:30"), t("17:00"))),
                                     start=datetime(2030, 3, 5, 9), end=datetime(2030, 3, 6, 17))
    assert session_service.session_timetable(session) == ((t("09:00"), t("12:00")), (t("13:30"), t("17:00")))
    with frozen_at(PLANNING):
        session_service.update_session(session, _data(session, datetime(2030, 3, 6, 9), datetime(2030, 3, 7, 17)))
    db.session.commit()
    assert {(s.start_time, s.end_time) for s in session.slots} == {(t("09:00"), t("12:00")), (t("13:30"), t("17:00"))}
    assert session.planned_minutes == 13 * 60


def test_weekends_are_included_when_asked_and_named_when_they_alone_are_covered():
    programme = factories.make_programme()
    saturday = dict(programme=programme, start_at=datetime(2030, 12, 14, 9, 30), end_at=datetime(2030, 12, 14, 18))
    with pytest.raises(ServiceError, match="que le samedi ou le dimanche") as error:
        session_service.create_session(session_service.SessionData(**saturday))
    assert error.value.field == "include_weekends"
    db.session.rollback()
    friday_saturday = session_service.SessionData(programme=programme, start_at=datetime(2030, 12, 13, 9, 30),
                                                  end_at=datetime(2030, 12, 14, 18))
    assert session_service.weekend_half_days_left_out(friday_saturday) == 2
    session = session_service.create_session(session_service.SessionData(**saturday, include_weekends=True))
    assert len(session.slots) == 2 and session_service.has_weekend_half_days(session)


def test_a_new_session_runs_from_its_first_half_day_to_its_last():
    session = session_service.create_session(session_service.SessionData(
        programme=factories.make_programme(), start_at=datetime(2030, 12, 17, 8), end_at=datetime(2030, 12, 18, 20),
        timetable=((t("09:30"), t("12:30")), (t("14:00"), t("17:00")))))
    assert (session.start_at, session.end_at) == (datetime(2030, 12, 17, 9, 30), datetime(2030, 12, 18, 17))


def test_a_cancelled_sessions_half_days_and_dates_stay():
    session = factories.make_session()
    with frozen_at(PLANNING):
        session_service.cancel_session(session, "Formatrice malade")
        db.session.commit()
        slot = session.slots[0]
        for change in (lambda: session_service.add_slot(session, date(2030, 3, 12), t("09:30"), t("12:30")),
                       lambda: session_service.update_slot(slot, slot.date, t("15:00"), t("18:00")),
                       lambda: session_service.delete_slot(slot),
                       lambda: session_service.update_session(session, _data(
                           session, datetime(2030, 3, 12, 14), datetime(2030, 3, 15, 12, 30)))):
            with pytest.raises(ServiceError, match="annulée : ses dates et ses demi-journées"):
                change()
            db.session.rollback()
    assert len(session.slots) == 6 and session.start_at == datetime(2030, 3, 5, 14)


def test_a_session_is_marked_completed_only_after_its_end():
    session = factories.make_session()
    with frozen_at(datetime(2030, 3, 6, 10)), pytest.raises(ServiceError, match="qu'après sa fin") as error:
        session_service.update_session(session, _data(session, session.start_at, session.end_at, status="completed"))
    assert error.value.field == "status"
    db.session.rollback()
    with frozen_at(datetime(2030, 3, 9)):
        session_service.update_session(session, _data(session, session.start_at, session.end_at, status="completed"))
    assert session.status == "completed"


def test_a_future_session_cannot_be_created_completed():
    programme = factories.make_programme()
    with frozen_at(PLANNING), pytest.raises(ServiceError, match="« Terminée » qu'après sa fin") as error:
        session_service.create_session(session_service.SessionData(
            programme=programme, start_at=datetime(2030, 3, 5, 10), end_at=datetime(2030, 3, 6, 16),
            status="completed"))
    assert error.value.field == "status"


def test_a_start_typed_before_the_first_half_day_is_its_start_when_the_half_days_stay():
    session = factories.make_session()  # first half-day Tue 5 Mar 14:00 - 18:00
    with frozen_at(PLANNING):
        update = session_service.update_session(session, _data(session, datetime(2030, 3, 5, 13), session.end_at))
    db.session.commit()
    assert not update.slots_regenerated and session.start_at == datetime(2030, 3, 5, 14)
