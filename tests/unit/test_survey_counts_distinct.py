"""A session's survey counts are of trainees, not of rows: a trainee with two enrolments there that are asked to
answer (a withdrawal, then a confirmed enrolment, made before a withdrawn trainee could no longer be enrolled
again) is asked once and counts once."""
from datetime import date, datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import survey_results
from training_app.services import surveys as survey_service


def _session_with_a_trainee_enrolled_twice():
    session = factories.make_session()
    awa = factories.make_trainee("Awa", "Diallo")
    withdrawn = factories.make_enrolment(session, awa, status="withdrawn")
    withdrawn.withdrawn_on = date(2030, 3, 6)
    factories.make_enrolment(session, awa)
    factories.make_enrolment(session, factories.make_trainee("Julien", "Le Bihan"))
    db.session.commit()
    return session, awa


def test_the_invited_and_the_respondents_of_a_session_are_distinct_trainees():
    session, awa = _session_with_a_trainee_enrolled_twice()
    survey = factories.make_survey(session)
    factories.answer_survey(survey, awa, {1: 4, 2: "yes", 3: "Bien"})
    db.session.commit()
    assert survey_service.invited_trainees({session.id}) == 2
    with frozen_at(datetime(2030, 3, 10, 9)):
        [row] = survey_service.surveys_of_session(session)
    assert (row["responded"], row["invited"]) == (1, 2)
    assert [t.full_name for t in survey_service.non_respondents(survey)] == ["Julien Le Bihan"]
    with frozen_at(datetime(2030, 3, 10, 9)):
        results = survey_results.survey_results(survey)
    assert (results.invited, results.responded, results.rate) == (2, 1, 50)
