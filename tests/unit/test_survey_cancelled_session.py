"""A cancelled session's questionnaires are offered to nobody: no reminder, not listed on the trainee's page, no
answer taken (a trainee who dropped out before the cancellation keeps a withdrawn enrolment, asked to answer
otherwise)."""
from datetime import date, datetime

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import OutgoingMail
from training_app.services import ServiceError
from training_app.services import sessions as session_service
from training_app.services import surveys as survey_service

OPEN = datetime(2030, 3, 10, 9)  # the factory survey is open from 8 to 22 March 2030


def _cancelled_with_a_survey():
    session = factories.make_session()
    survey = factories.make_survey(session)
    awa = factories.make_enrolment(session, factories.make_trainee("Awa", "Diallo"), status="withdrawn")
    awa.withdrawn_on = date(2030, 3, 6)
    factories.make_enrolment(session, factories.make_trainee("Julien", "Le Bihan"))
    db.session.commit()
    with frozen_at(datetime(2030, 3, 7, 9)):
        session_service.cancel_session(session, "Formatrice malade")
    db.session.commit()
    return survey, awa.trainee


def test_no_reminder_for_a_cancelled_session():
    survey, _awa = _cancelled_with_a_survey()
    mails = db.session.scalar(db.select(db.func.count(OutgoingMail.id)))
    with frozen_at(OPEN), pytest.raises(ServiceError, match="session est annulée"):
        survey_service.send_reminders(survey)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(OutgoingMail.id))) == mails


def test_a_cancelled_session_s_survey_is_not_listed_nor_answered():
    survey, awa = _cancelled_with_a_survey()
    with frozen_at(OPEN):
        assert survey_service.surveys_for_trainee(awa.id) == {}
        with pytest.raises(ServiceError, match="session est annulée"):
            survey_service.check_can_answer(survey, awa)


def test_the_results_page_offers_no_reminder_for_a_cancelled_session(admin_client):
    survey, _awa = _cancelled_with_a_survey()
    with frozen_at(OPEN):
        page = admin_client.get(f"/sessions/{survey.session_id}/questionnaires/{survey.id}").get_data(as_text=True)
    assert "/relancer" not in page


@pytest.mark.postgres_only
def test_an_answer_sent_while_the_session_is_being_cancelled_waits_for_it_and_is_refused(app):
    """submit() takes the session's row (shared) before reading its status, as cancel_session holds it: an answer
    arriving during the cancellation waits, then is refused; nothing is kept."""
    from tests.conftest import is_postgres
    from tests.unit.test_enrolment_concurrency import _first_holds_second_waits
    from training_app.models import SurveyParticipation, Trainee, TrainingSession
    from training_app.models import Survey
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    session = factories.make_session()
    survey = factories.make_survey(session)
    awa = factories.make_enrolment(session, factories.make_trainee("Awa", "Diallo"), status="withdrawn")
    awa.withdrawn_on = date(2030, 3, 6)
    db.session.commit()
    session_id, survey_id, trainee_id = session.id, survey.id, awa.trainee_id
    db.session.remove()
    during = datetime(2030, 3, 8, 10)  # the survey is open, the session not over

    def cancel():
        with frozen_at(during):
            session_service.cancel_session(db.session.get(TrainingSession, session_id), "Formatrice malade")

    def answer():
        with frozen_at(during):
            survey = db.session.get(Survey, survey_id)
            survey_service.submit(survey, db.session.get(Trainee, trainee_id), _answers(survey))

    outcome = _first_holds_second_waits(app, cancel, answer)
    assert outcome["waited"] and outcome["first"] == "committed"
    assert outcome["second"] == "Cette session est annulée : ce questionnaire n'est plus proposé."
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 0


def _answers(survey) -> dict:
    values = {1: "4", 2: "yes", 3: ""}
    return {q.id: values[q.position] for q in survey.questionnaire.questions}
