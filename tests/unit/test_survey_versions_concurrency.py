"""A new version of a questionnaire made while a trainee's answer is being written, and while the questionnaire is
given to a session: whichever takes the locks first, the answer is kept against the questions it answered or
refused in French (never kept against the new version's questions, never lost without a word), the session is
given the current version or told the one chosen was archived, and nobody deadlocks.

new_version locks the questionnaire then its surveys (_lock_with_its_surveys), and so does archiving it; submit holds a
shared lock on its survey; attach locks the session then the questionnaire. A positioning questionnaire's changes
and the realignment after an edit of the programme's objectives lock the programme's row first. Real concurrency
needs PostgreSQL: skipped on SQLite."""
import re
from datetime import datetime

import pytest

from tests import factories
from tests.conftest import is_postgres
from tests.unit.test_enrolment_concurrency import (_first_holds_others_wait_at, _first_holds_second_waits,
                                                   _first_holds_the_others_wait)
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import (AuditEntry, Programme, Questionnaire, Survey, SurveyAnswer, SurveyParticipation,
                                 SurveyResponse, Trainee, TrainingSession)
from training_app.services import programmes as programme_service
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


# --- archiving a questionnaire takes the same locks -------------------------------------------------------------

VERSION_ARCHIVED = "Cette version est archivée : partez de la version en cours."


def _archive_actions(ids, actions) -> dict:
    def archive():
        survey_service.set_archived(db.session.get(Questionnaire, ids["v1"]), True)

    return {**actions, "archive": archive}


def _archiving_recorded(questionnaire_id) -> int:
    return db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(
        AuditEntry.entity_type == "questionnaires", AuditEntry.entity_id == questionnaire_id,
        AuditEntry.action == "archived"))


@pytest.mark.parametrize("first, second", [("archive", "attach"), ("attach", "archive"),
                                           ("archive", "new_version"), ("new_version", "archive"),
                                           ("archive", "answer"), ("answer", "archive")])
def test_archiving_a_questionnaire_and_giving_it_answering_it_or_making_a_new_version_happen_one_after_the_other(
        app, race, first, second):
    """Archiving locks the questionnaire and its surveys as the other changes do: a session being given the
    questionnaire is waited for (then keeps it), one given it after is refused; a new version under way is waited
    for, then the questionnaire is found archived already (nothing more recorded); an archiving under way makes
    the new version wait, then refused; an answer being written is waited for, one coming after waits too."""
    ids, race_actions = race
    actions = _archive_actions(ids, race_actions)
    outcome = _first_holds_second_waits(app, actions[first], actions[second])
    assert outcome["waited"] and outcome["first"] == "committed", outcome
    expected = {("archive", "attach"): ARCHIVED, ("archive", "new_version"): VERSION_ARCHIVED}.get((first, second),
                                                                                                  "committed")
    assert outcome["second"] == expected or expected in outcome["second"], outcome
    db.session.remove()
    assert db.session.get(Questionnaire, ids["v1"]).archived
    given = db.session.scalar(db.select(Survey).where(Survey.session_id == ids["other_session"]))
    if "attach" in (first, second):
        assert (given is None) == (first == "archive")  # given before the archiving, or refused after it
    assert _archiving_recorded(ids["v1"]) == (0 if first == "new_version" else 1)  # archived once, by one of them


def test_archiving_under_way_makes_a_session_given_the_questionnaire_an_answer_and_a_new_version_wait(app, race):
    """The three wait for the archiving at once, without deadlock: then the session is refused the archived
    questionnaire, the new version refused, and the answer (to a survey given before) kept."""
    ids, race_actions = race
    actions = _archive_actions(ids, race_actions)
    outcome = _first_holds_the_others_wait(app, actions.pop("archive"), **actions)
    assert outcome["waited"] == 3 and outcome["first"] == "committed", outcome
    assert ARCHIVED in outcome["attach"] and VERSION_ARCHIVED in outcome["new_version"]
    assert outcome["answer"] == "committed"
    db.session.remove()
    assert db.session.scalar(db.select(Survey).where(Survey.session_id == ids["other_session"])) is None
    assert db.session.scalar(db.select(db.func.count(Questionnaire.id))
                             .where(Questionnaire.lineage_id == ids["v1"])) == 1


# --- a positioning questionnaire: its programme's row first ------------------------------------------------------

OLD_OBJECTIVES = ["Préparer une négociation", "Suivre une négociation"]
NEW_OBJECTIVES = ["Préparer une négociation", "Suivre et évaluer une négociation"]
# Where a change of a programme's positioning waits: at the programme's row, its first lock (_lock_programme, or
# the UPDATE of the programme's edit), holding nothing yet that the first one needs.
AT_THE_PROGRAMME = re.compile(r"\s*(UPDATE programmes SET |SELECT programmes\.id\s+FROM programmes\s+WHERE .* FOR UPDATE)",
                              re.S)


@pytest.fixture
def positioning(app):
    """A programme's live positioning questionnaire, given (unanswered) in an upcoming session of it; the two
    actions: a new version of it, and an edit of the programme's objectives (which realigns the positioning)."""
    programme = factories.make_programme(objectives=OLD_OBJECTIVES)
    survey = survey_service.attach_positioning(factories.make_session(programme))
    db.session.commit()
    ids = {"programme": programme.id, "v1": survey.questionnaire_id, "survey": survey.id}
    db.session.remove()

    def new_version():
        survey_service.new_version(db.session.get(Questionnaire, ids["v1"]))

    def edit_objectives():
        programme_service.save_programme(db.session.get(Programme, ids["programme"]), {}, NEW_OBJECTIVES)

    return ids, {"new_version": new_version, "edit_objectives": edit_objectives}


@pytest.mark.parametrize("first, second", [("new_version", "edit_objectives"), ("edit_objectives", "new_version")])
def test_a_new_version_of_the_positioning_and_an_edit_of_the_objectives_lock_the_programme_first(
        app, positioning, first, second):
    """new_version of a live positioning questionnaire and the realignment that follows an edit of the objectives
    take their locks in one order, the programme's row before the questionnaire's and its surveys': whichever
    goes first, the second waits at the programme's row, holding nothing (taken the other way round, each held
    what the other waited for: a deadlock). The new version first: the edit then realigns the survey on a version
    made from it. The edit first: the new version then finds the questionnaire archived (replaced by the version
    asking about the new objectives)."""
    ids, actions = positioning
    outcome, waiting = _first_holds_others_wait_at(app, actions[first], {second: actions[second]})
    assert outcome["waited"] == 1 and AT_THE_PROGRAMME.match(waiting[0]), waiting
    assert outcome["first"] == "committed"
    assert outcome[second] == ("committed" if second == "edit_objectives" else VERSION_ARCHIVED)
    db.session.remove()
    survey = db.session.get(Survey, ids["survey"])
    [live] = db.session.scalars(db.select(Questionnaire).where(Questionnaire.lineage_id == ids["v1"],
                                                               Questionnaire.archived.is_(False))).all()
    assert survey.questionnaire_id == live.id
    assert survey_service.objectives_asked(live) == [survey_service.objective_question(text)
                                                     for text in NEW_OBJECTIVES]


@pytest.mark.parametrize("first", ["answer", "detach"])
def test_a_questionnaire_removed_while_a_trainee_answers_it_is_refused_or_the_answer_is(app, first):
    """detach locks the survey's row (FOR UPDATE) before counting the answers: an answer being written (submit holds
    a shared lock on it) is waited for, then counted, and the removal refused in French (it used to delete the row
    once the answer was committed, and fail on the participation's foreign key: a 500). Removed first: the answer
    waits, then finds the questionnaire gone."""
    survey = factories.make_survey(questionnaire=factories.make_questionnaire(anonymous=True))
    ids = {"survey": survey.id, "trainee": factories.make_enrolment(survey.session).trainee.id}
    raw = dict(zip([q.id for q in survey.questionnaire.questions], ["5", "no", ""]))
    db.session.remove()

    def answer():
        with frozen_at(ANSWERING_TIME):
            survey_service.submit(db.session.get(Survey, ids["survey"]), db.session.get(Trainee, ids["trainee"]), raw)

    def detach():
        survey_service.detach(db.session.get(Survey, ids["survey"]))

    actions = {"answer": answer, "detach": detach}
    second = "detach" if first == "answer" else "answer"
    outcome = _first_holds_second_waits(app, actions[first], actions[second])
    assert outcome["first"] == "committed" and outcome["waited"] == 1
    db.session.remove()
    if first == "answer":
        assert outcome["second"] == ("Des stagiaires ont déjà répondu : ce questionnaire ne peut plus être retiré de "
                                     "la session. Vous pouvez avancer sa date de fermeture.")
        assert db.session.get(Survey, ids["survey"]) is not None
        assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 1
    else:
        assert outcome["second"] == "Ce questionnaire n'est plus proposé."
        assert db.session.get(Survey, ids["survey"]) is None
