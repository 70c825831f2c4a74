"""A new version of a questionnaire made while a trainee's answer is being written, and while the questionnaire is
given to a session: whichever takes the locks first, the answer is kept against the questions it answered or
refused in French (never kept against the new version's questions, never lost without a word), the session is
given the current version or told the one chosen was archived, and nobody deadlocks.

new_version locks the questionnaire then its surveys (_lock_with_its_surveys); submit holds a shared lock on its
survey; attach locks the session then the questionnaire. Real concurrency needs PostgreSQL: skipped on SQLite."""
from datetime import datetime

import pytest

from tests import factories
from tests.conftest import is_postgres
from tests.unit.test_enrolment_concurrency import _first_holds_second_waits, _first_holds_the_others_wait
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import (Questionnaire, Survey, SurveyAnswer, SurveyParticipation, SurveyResponse, Trainee,
                                 TrainingSession)
from training_app.services import surveys as survey_service

pytestmark = pytest.mark.postgres_only

CHANGED = "les questions ont changé"          # QuestionnaireChanged: the trainee is shown the new questions
ARCHIVED = "Cette version du questionnaire est archivée."
ANSWERING_TIME = datetime(2030, 3, 10, 12)    # the factory surveys are open from 8 to 22 March 2030


@pytest.fixture(autouse=True)
def _postgres_only(app):
    if not is_postgres(app):
        pytest.skip("real concurrency needs PostgreSQL row locks (set TEST_DATABASE_URL)")


@pytest.fixture
def race(app):
    """Version 1 of a questionnaire, answered in one session (which is why the office makes a new version); in
    another session a trainee has its answer page open (what it showed: `shown`); a third session has no
    questionnaire yet. Returns the ids and the three actions, each run in a thread of its own."""
    questionnaire = factories.make_questionnaire(anonymous=False)
    answered = factories.make_survey(questionnaire=questionnaire)
    factories.answer_survey(answered, factories.make_enrolment(answered.session).trainee, {1: "4", 2: "yes"})
    survey = factories.make_survey(questionnaire=questionnaire)
    trainee = factories.make_enrolment(survey.session).trainee
    ids = {"v1": questionnaire.id, "answered": answered.id, "survey": survey.id, "trainee": trainee.id,
           "other_session": factories.make_session().id,
           "v1_questions": {q.id for q in questionnaire.questions}}
    raw = dict(zip([q.id for q in questionnaire.questions], ["5", "no", "Très bien"]))
    shown = survey_service.shown_version(questionnaire.id)
    db.session.remove()

    def new_version():
        survey_service.new_version(db.session.get(Questionnaire, ids["v1"]))

    def answer():
        with frozen_at(ANSWERING_TIME):
            survey_service.submit(db.session.get(Survey, ids["survey"]), db.session.get(Trainee, ids["trainee"]),
                                  raw, shown=shown)

    def attach():
        survey_service.attach(db.session.get(TrainingSession, ids["other_session"]),
                              db.session.get(Questionnaire, ids["v1"]))

    return ids, {"new_version": new_version, "answer": answer, "attach": attach}


def _check_kept_or_refused(ids, outcome) -> None:
    """What holds whatever the order: a new version made; the trainee's answer kept against version 1 (the
    questions it answered) or refused with the French message, nothing of it kept; the other session given the
    current version, or told the chosen one was archived."""
    db.session.remove()
    v1 = db.session.get(Questionnaire, ids["v1"])
    [v2] = db.session.scalars(db.select(Questionnaire).where(Questionnaire.lineage_id == ids["v1"],
                                                             Questionnaire.id != ids["v1"])).all()
    assert outcome["new_version"] == "committed" and v1.archived and not v2.archived
    assert db.session.get(Survey, ids["answered"]).questionnaire_id == v1.id
    survey = db.session.get(Survey, ids["survey"])
    participation = db.session.scalar(db.select(SurveyParticipation).where(
        SurveyParticipation.survey_id == survey.id, SurveyParticipation.trainee_id == ids["trainee"]))
    if outcome.get("answer") == "committed":
        assert survey.questionnaire_id == v1.id  # the version the page showed, whose questions were answered
        answered_questions = set(db.session.scalars(db.select(SurveyAnswer.question_id).join(SurveyResponse)
                                                    .where(SurveyResponse.id == participation.response_id)))
        assert answered_questions == ids["v1_questions"]
    else:
        assert CHANGED in outcome.get("answer", CHANGED)
        assert participation is None
        assert db.session.scalar(db.select(db.func.count(SurveyResponse.id))
                                 .where(SurveyResponse.survey_id == survey.id)) == 0
        assert survey.questionnaire_id == v2.id  # nobody had answered it: it asks the new version's questions
    if "attach" in outcome:
        given = db.session.scalar(db.select(Survey).where(Survey.session_id == ids["other_session"]))
        if outcome["attach"] == "committed":
            assert given.questionnaire_id == v2.id  # attached, then moved with the unanswered surveys
        else:
            assert ARCHIVED in outcome["attach"] and given is None


@pytest.mark.parametrize("first, second", [("new_version", "answer"), ("answer", "new_version"),
                                           ("new_version", "attach"), ("attach", "new_version")])
def test_a_new_version_and_an_answer_or_a_session_given_the_questionnaire_happen_one_after_the_other(
        app, race, first, second):
    """new_version first: the answer waits for its survey's lock, then finds the survey moved to the new version
    and is refused in French (the trainee is shown the new questions); the session being given version 1 waits for
    its row, then finds it archived. The answer first: the new version waits for the survey, then sees it answered
    and leaves it with version 1. The session given version 1 first: the new version waits for the questionnaire,
    then moves that survey, unanswered, with the others."""
    ids, actions = race
    outcome = _first_holds_second_waits(app, actions[first], actions[second])
    outcome = {first: outcome["first"], second: outcome["second"], "waited": outcome["waited"]}
    assert outcome["waited"]
    _check_kept_or_refused(ids, outcome)
    expected = {("new_version", "answer"): CHANGED, ("new_version", "attach"): ARCHIVED}.get((first, second))
    if expected:
        assert expected in outcome[second]
    else:
        assert outcome[first] == "committed"


@pytest.mark.parametrize("first", ["new_version", "answer", "attach"])
def test_giving_the_questionnaire_to_a_session_a_new_version_and_an_answer_at_once_do_not_deadlock(
        app, race, first):
    """One holds its locks while the two others start and either finish or wait for it: no deadlock, and each
    outcome is one that some order of the three gives."""
    ids, actions = race
    others = {name: action for name, action in actions.items() if name != first}
    outcome = _first_holds_the_others_wait(app, actions[first], **others)
    outcome[first] = outcome.pop("first")
    assert outcome["waited"]
    _check_kept_or_refused(ids, outcome)
    if first == "new_version":
        assert CHANGED in outcome["answer"] and ARCHIVED in outcome["attach"]
    elif first == "answer":  # the questionnaire is given before or after the new version takes its lock
        assert outcome["answer"] == "committed"
    else:  # the answer has nothing to wait for: the new version waits for the questionnaire given meanwhile
        assert outcome["attach"] == outcome["answer"] == "committed"
