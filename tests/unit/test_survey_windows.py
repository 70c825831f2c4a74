"""A session moved to other dates takes its questionnaires with it (those nobody has answered yet): a default
window becomes the new dates' default, a window chosen by hand keeps its place against the course. Half-days
edited one by one (a follow-up added weeks later) move none."""
from datetime import date, datetime, time

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import ServiceError
from training_app.services import sessions as session_service
from training_app.services import surveys as survey_service

PLANNING = datetime(2030, 1, 10, 10)  # the session runs Tue 5 - Fri 8 March 2030


def _data(session, start, end):
    return session_service.SessionData(programme=session.programme, start_at=start, end_at=end, place=session.place,
                                       capacity=session.capacity, price_cents=session.price_cents,
                                       status=session.status)


def _with_surveys():
    session = factories.make_session()
    with frozen_at(PLANNING):
        satisfaction = survey_service.attach(session, survey_service.ensure_default_satisfaction())
        positioning = survey_service.attach_positioning(session)
        follow_up = survey_service.attach(session, factories.make_questionnaire(kind="follow_up"),
                                          datetime(2030, 6, 1, 9), datetime(2030, 6, 30, 18))  # chosen by hand
        db.session.commit()
    return session, satisfaction, positioning, follow_up


def test_a_rescheduled_session_takes_its_unanswered_questionnaires_along():
    session, satisfaction, positioning, follow_up = _with_surveys()
    with frozen_at(PLANNING):
        update = session_service.update_session(session, _data(session, datetime(2030, 5, 14, 9, 30),
                                                                datetime(2030, 5, 17, 18, 0)))
        db.session.commit()
    assert update.surveys_left == []
    assert (satisfaction.opens_at, satisfaction.closes_at) == (datetime(2030, 5, 17, 14, 0),
                                                              datetime(2030, 5, 31, 23, 59))
    assert (positioning.opens_at, positioning.closes_at) == (datetime(2030, 4, 23, 9, 30),
                                                            datetime(2030, 5, 14, 9, 30))
    # chosen by hand: moved as much as the end (8 March 12:30 to 17 May 18:00, 70 days and 5 h 30 later)
    assert (follow_up.opens_at, follow_up.closes_at) == (datetime(2030, 8, 10, 14, 30), datetime(2030, 9, 8, 23, 30))
    with frozen_at(datetime(2030, 5, 17, 16, 0)):  # the last afternoon: the satisfaction questionnaire is open
        assert survey_service.window_state(satisfaction) == "open"


def test_an_answered_questionnaire_stays_and_is_reported_and_a_follow_up_half_day_moves_none():
    session, satisfaction, positioning, follow_up = _with_surveys()
    factories.answer_survey(positioning, factories.make_enrolment(session).trainee,
                            {q.position: "3" for q in positioning.questionnaire.questions if q.type == "rating"})
    before = (positioning.opens_at, positioning.closes_at)
    with frozen_at(PLANNING):
        update = session_service.update_session(session, _data(session, datetime(2030, 3, 12, 14, 0),
                                                                datetime(2030, 3, 15, 12, 30)))
        db.session.commit()
    assert update.surveys_left == [positioning] and (positioning.opens_at, positioning.closes_at) == before
    assert satisfaction.closes_at == datetime(2030, 3, 29, 23, 59)
    moved = (satisfaction.opens_at, satisfaction.closes_at)
    with frozen_at(PLANNING):  # a follow-up half-day added a month later is not the end of the course
        session_service.add_slot(session, date(2030, 4, 15), time(9, 30), time(12, 30))
        db.session.commit()
    assert session.end_at == datetime(2030, 4, 15, 12, 30)
    assert (satisfaction.opens_at, satisfaction.closes_at) == moved == (datetime(2030, 3, 15, 9, 30),
                                                                       datetime(2030, 3, 29, 23, 59))


def test_the_office_is_told_which_answered_questionnaire_did_not_move(admin_client):
    from tests.web.test_sessions import session_form
    session, _satisfaction, positioning, _follow_up = _with_surveys()
    factories.answer_survey(positioning, factories.make_enrolment(session).trainee,
                            {q.position: "3" for q in positioning.questionnaire.questions if q.type == "rating"})
    with frozen_at(PLANNING):
        response = admin_client.post(f"/sessions/{session.id}/modifier", follow_redirects=True, data=session_form(
            session.programme, version=factories.version_of(session), start_date="2030-03-12",
            end_date="2030-03-15"))
    page = response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')
    assert "Les dates des questionnaires sans réponse ont suivi." in page
    assert f"Le questionnaire « {positioning.questionnaire.title} » a déjà des réponses" in page


def test_a_window_over_already_is_refused_and_a_running_session_is_positioned_until_its_end():
    session = factories.make_session()  # Tue 5 March 2030 14:00 to Fri 8 March 12:30
    questionnaire = factories.make_questionnaire()
    with frozen_at(datetime(2030, 3, 6, 10, 0)):
        with pytest.raises(ServiceError, match=r"Ce questionnaire serait déjà fermé \(fermeture le 06/03/2030 à "
                                               r"9h00\) : personne ne pourrait y répondre"):
            survey_service.attach(session, questionnaire, datetime(2030, 3, 1, 9), datetime(2030, 3, 6, 9))
        db.session.rollback()
        positioning = survey_service.attach_positioning(session)
        db.session.commit()
        assert survey_service.window_state(positioning) == "open"  # not attached already closed
    assert (positioning.opens_at, positioning.closes_at) == (datetime(2030, 3, 6, 10, 0), session.end_at)
