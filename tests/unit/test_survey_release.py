"""Anonymous answers wait as pending rows while the questionnaire is open and are released together,
shuffled, by one transaction once it is closed: on PostgreSQL a response then carries the release's
transaction id (xmin), never that of the participation it came with. Named questionnaires are unchanged."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from tests import factories
from tests.conftest import is_postgres
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import SurveyAnswer, SurveyParticipation, SurveyPendingAnswers, SurveyResponse
from training_app.services import surveys as survey_service

# The factory survey is open from 8 March 2030 9:30 to 22 March 2030 18:00.
OPEN = datetime(2030, 3, 10, 12, 0)
CLOSED = datetime(2030, 3, 23, 9, 0)


def _count(column) -> int:
    return db.session.scalar(db.select(db.func.count(column)))


def _answered(answers, *, anonymous=True):
    """A survey answered by one trainee per (rating, yes/no, text) triple, each in their own transaction."""
    survey = factories.make_survey(questionnaire=factories.make_questionnaire(anonymous=anonymous))
    trainees = []
    for rating, yes, comment in answers:
        trainee = factories.make_enrolment(survey.session).trainee
        factories.answer_survey(survey, trainee, {1: str(rating), 2: yes, 3: comment})
        trainees.append(trainee)
    return survey, trainees


def _stored_answers(survey) -> list[tuple]:
    """(rating, yes, text) of each response of the survey, sorted."""
    per_response = {}
    for answer in db.session.scalars(db.select(SurveyAnswer).join(SurveyResponse)
                                     .where(SurveyResponse.survey_id == survey.id)):
        per_response.setdefault(answer.response_id, {})[answer.question.position] = answer
    return sorted((a[1].rating, a[2].yes, a[3].text if 3 in a else None) for a in per_response.values())


def test_an_anonymous_answer_waits_as_a_pending_row_naming_nobody():
    survey, (trainee,) = _answered([(4, "yes", "Très riche")])
    participation = db.session.scalar(db.select(SurveyParticipation))
    assert participation.trainee_id == trainee.id and participation.response_id is None
    assert _count(SurveyResponse.id) == 0 and _count(SurveyAnswer.response_id) == 0
    pending = db.session.scalar(db.select(SurveyPendingAnswers))
    rating, yes_no, free = (q.id for q in survey.questionnaire.questions)
    assert pending.survey_id == survey.id
    assert pending.answers == {str(rating): {"rating": 4}, str(yes_no): {"yes": True},
                               str(free): {"text": "Très riche"}}
    assert survey_service.response_count(survey) == 1  # the rate counts the participation


def test_nothing_is_released_while_the_survey_is_open_or_not_yet_open():
    survey, _ = _answered([(4, "yes", "A"), (5, "no", "B"), (2, "yes", "C")])
    for now in (survey.opens_at - timedelta(days=1), OPEN, survey.closes_at):  # the last minute still counts
        with frozen_at(now):
            assert survey_service.release_pending(survey) == 0
            assert survey_service.release_closed([survey]) == 0
    assert _count(SurveyPendingAnswers.id) == 3 and _count(SurveyResponse.id) == 0


def test_once_closed_the_answers_are_released_together_and_only_once():
    survey, _ = _answered([(4, "yes", "A"), (5, "no", "B"), (2, "yes", "")])
    other, _ = _answered([(1, "no", "Autre")])  # another survey, still pending after this release
    with frozen_at(CLOSED):
        assert survey_service.release_pending(survey) == 3
    db.session.commit()
    assert _stored_answers(survey) == [(2, True, None), (4, True, "A"), (5, False, "B")]
    assert db.session.scalar(db.select(db.func.count(SurveyPendingAnswers.id))
                             .where(SurveyPendingAnswers.survey_id == survey.id)) == 0
    assert _count(SurveyParticipation.response_id) == 0  # still linked to no trainee
    with frozen_at(CLOSED):
        assert survey_service.release_pending(survey) == 0  # a second call does nothing
    db.session.commit()
    assert _count(SurveyResponse.id) == 3
    assert db.session.scalars(db.select(SurveyPendingAnswers.survey_id)).all() == [other.id]


def test_several_closed_surveys_are_released_at_once_and_the_cli_releases_the_rest(app):
    first, _ = _answered([(4, "yes", "A"), (3, "no", "B")])
    second, _ = _answered([(5, "yes", "C")])
    still_open, _ = _answered([(1, "no", "D")])
    still_open.closes_at = datetime(2030, 4, 30, 18, 0)
    db.session.commit()
    with frozen_at(CLOSED):
        assert [s.id for s in survey_service.closed_with_pending()] == [first.id, second.id]
        assert survey_service.release_closed([first]) == 2
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["surveys", "release"])
    assert result.exit_code == 0, result.output
    assert "1 réponse anonyme publiée, 1 questionnaire clos." in result.output
    db.session.expire_all()
    assert _stored_answers(second) == [(5, True, "C")]
    assert db.session.scalars(db.select(SurveyPendingAnswers.survey_id)).all() == [still_open.id]
    with frozen_at(CLOSED):
        again = app.test_cli_runner().invoke(args=["surveys", "release"])
    assert "0 réponse anonyme publiée, 0 questionnaire clos." in again.output


def test_a_named_questionnaire_keeps_its_responses_linked_at_once():
    survey, trainees = _answered([(2, "no", "Trop court")], anonymous=False)
    participation = db.session.scalar(db.select(SurveyParticipation))
    assert participation.trainee_id == trainees[0].id and participation.response_id is not None
    assert _count(SurveyPendingAnswers.id) == 0
    assert _stored_answers(survey) == [(2, False, "Trop court")]
    with frozen_at(CLOSED):
        assert survey_service.release_pending(survey) == 0
    assert _count(SurveyResponse.id) == 1


@pytest.mark.postgres_only
def test_released_responses_share_the_release_transaction_id_not_the_participations(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: xmin is PostgreSQL's transaction id")
    survey, _ = _answered([(4, "yes", "A"), (5, "no", "B"), (2, "yes", "C")])  # three transactions
    with db.engine.connect() as conn:
        answered = {row[0] for row in conn.execute(
            text("SELECT xmin::text FROM survey_participations WHERE survey_id = :s"), {"s": survey.id})}
    assert len(answered) == 3
    with frozen_at(CLOSED):
        assert survey_service.release_pending(survey) == 3
    db.session.commit()  # one transaction
    with db.engine.connect() as conn:
        released = [row[0] for row in conn.execute(
            text("SELECT xmin::text FROM survey_responses WHERE survey_id = :s"), {"s": survey.id})]
        answers = {row[0] for row in conn.execute(text("SELECT xmin::text FROM survey_answers"))}
        still = {row[0] for row in conn.execute(
            text("SELECT xmin::text FROM survey_participations WHERE survey_id = :s"), {"s": survey.id})}
    assert len(released) == 3 and len(set(released)) == 1
    assert answers == set(released)
    assert still == answered and not set(released) & answered


REOPENED = (datetime(2030, 3, 23, 9, 0), datetime(2030, 3, 30, 18, 0))
CLOSED_AGAIN = datetime(2030, 3, 31, 9, 0)


def _released_then_reopened_and_released_again():
    """One answer, released at the first closing (too few to show); the office reopens the survey for a
    week, two more trainees answer, it closes again and is released again. Returns the survey and the id
    of the response released first."""
    survey, _ = _answered([(1, "no", "Très déçue par l'accueil")])
    with frozen_at(CLOSED):
        assert survey_service.release_pending(survey) == 1
        db.session.commit()
        first_id = db.session.scalar(db.select(SurveyResponse.id))
        survey_service.update_window(survey, *REOPENED)  # fewer than 3 responses: allowed
        db.session.commit()
    for comment in ("Super", "Bien"):
        factories.answer_survey(survey, factories.make_enrolment(survey.session).trainee,
                                {1: "5", 2: "yes", 3: comment})
    with frozen_at(CLOSED_AGAIN):
        assert survey_service.release_pending(survey) == 2  # the two new ones were pending
        db.session.commit()
    return survey, first_id


def test_a_reopened_survey_releases_its_earlier_answers_again_with_the_new_ones():
    survey, first_id = _released_then_reopened_and_released_again()
    assert _stored_answers(survey) == [(1, False, "Très déçue par l'accueil"), (5, True, "Bien"),
                                       (5, True, "Super")]
    assert db.session.get(SurveyResponse, first_id) is None  # written again, under a new random id
    assert _count(SurveyPendingAnswers.id) == 0 and _count(SurveyParticipation.response_id) == 0


@pytest.mark.postgres_only
def test_a_reopened_survey_has_all_its_responses_written_by_one_transaction(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: xmin is PostgreSQL's transaction id")
    survey, _ = _released_then_reopened_and_released_again()
    with db.engine.connect() as conn:
        responses = {row[0] for row in conn.execute(
            text("SELECT xmin::text FROM survey_responses WHERE survey_id = :s"), {"s": survey.id})}
        answers = {row[0] for row in conn.execute(text("SELECT xmin::text FROM survey_answers"))}
    assert len(responses) == 1 and answers == responses  # the early respondent is not alone in a batch
