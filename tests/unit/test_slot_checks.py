"""What a half-day typed one by one may be: 30 minutes to 5 hours (refused otherwise), and what is only worth a
warning (a weekend day, a date months away from the session's other half-days)."""
from datetime import date, datetime

import pytest

from tests import factories
from tests.factories import t
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import ServiceError
from training_app.services import sessions as session_service


@pytest.mark.parametrize(("start", "end", "refusal"), [
    ("14:00", "14:05", "au moins 30 minutes"), ("14:00", "14:29", "au moins 30 minutes"),
    ("00:00", "23:59", "au plus 5 h"), ("09:00", "17:00", "au plus 5 h"), ("13:00", "18:01", "au plus 5 h")])
def test_a_half_day_too_short_or_too_long_is_refused(start, end, refusal):
    session = factories.make_session()  # Tue 5 Mar 14:00 to Fri 8 Mar 2030 12:30: 6 half-days, 21 h
    last = session.slots[-1]
    with frozen_at(datetime(2030, 1, 1)):
        with pytest.raises(ServiceError, match=refusal) as error:
            session_service.add_slot(session, date(2030, 3, 11), t(start), t(end))
        assert error.value.field == "end_time"
        db.session.rollback()
        with pytest.raises(ServiceError, match=refusal):
            session_service.update_slot(last, last.date, t(start), t(end))
        db.session.rollback()
    db.session.expire_all()
    assert len(session.slots) == 6 and session.planned_minutes == 21 * 60
    assert session.end_at == datetime(2030, 3, 8, 12, 30)


def test_half_days_of_30_minutes_to_5_hours_are_taken():
    session = factories.make_session()
    with frozen_at(datetime(2030, 1, 1)):
        session_service.add_slot(session, date(2030, 3, 11), t("09:00"), t("09:30"))
        session_service.add_slot(session, date(2030, 3, 11), t("13:00"), t("18:00"))
    db.session.commit()
    assert session.planned_minutes == 21 * 60 + 30 + 5 * 60
    assert session.end_at == datetime(2030, 3, 11, 18, 0)  # the session's end follows its last half-day


def test_a_timetable_gives_half_days_of_30_minutes_to_5_hours():
    with pytest.raises(ServiceError, match="au plus 5 h") as error:
        session_service.validate_timetable(((t("08:00"), t("13:30")), (t("14:00"), t("18:00"))))
    assert error.value.field == "timetable"
    with pytest.raises(ServiceError, match="au moins 30 minutes"):
        session_service.validate_timetable(((t("09:30"), t("12:30")), (t("14:00"), t("14:10"))))
    session_service.validate_timetable(((t("08:00"), t("13:00")), (t("14:00"), t("18:00"))))


def test_a_weekend_day_or_a_date_months_away_is_only_warned_about():
    session = factories.make_session()  # Tue 5 Mar to Fri 8 Mar 2030
    with frozen_at(datetime(2030, 1, 1)):
        sunday = session_service.add_slot(session, date(2030, 3, 10), t("09:30"), t("12:30"))
        assert session_service.half_day_warnings(sunday) == [
            "La demi-journée du 10/03/2030 tombe un dimanche : vérifiez sa date."]
        saturday = session_service.add_slot(session, date(2030, 3, 9), t("09:30"), t("12:30"))
        assert session_service.half_day_warnings(saturday) == []  # the session has weekend half-days already
        follow_up = session_service.add_slot(session, date(2030, 4, 8), t("09:30"), t("12:30"))  # a month later
        assert session_service.half_day_warnings(follow_up) == []
        months_later = session_service.update_slot(follow_up, date(2030, 8, 30), t("09:30"), t("12:30"))
        assert session_service.half_day_warnings(months_later) == [
            "La demi-journée du 30/08/2030 tombe à 173 jours des autres demi-journées de la session (du 05/03/2030 "
            "au 10/03/2030) : vérifiez sa date."]
    db.session.commit()
    assert session.end_at == datetime(2030, 8, 30, 12, 30)  # added, not refused; the session's end follows


def test_a_half_day_moved_into_the_past_is_told_so():
    session = factories.make_session()
    last = session.slots[-1]
    with frozen_at(datetime(2030, 3, 6, 8, 0)):
        with pytest.raises(ServiceError) as error:
            session_service.update_slot(last, date(2030, 3, 5), t("09:30"), t("12:30"))  # yesterday
        assert (error.value.message, error.value.field) == (
            "On ne peut pas déplacer une demi-journée dans le passé.", "date")
        with pytest.raises(ServiceError, match="On ne peut pas ajouter une demi-journée dans le passé"):
            session_service.add_slot(session, date(2030, 3, 5), t("09:30"), t("12:30"))
