"""A session's positioning questionnaire asks about the objectives that session teaches (session.course):
after the office edits a programme's objectives, later sessions are asked about the new ones, a session
started under the old ones keeps them, answered questionnaires never change, and the programme's results
gather every version."""
from datetime import datetime, timedelta

import pytest

from tests import factories
from tests.unit.test_enrolment_concurrency import _run_together
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, Programme, Questionnaire, Survey, SurveyParticipation
from training_app.services import programmes as programme_service
from training_app.services import sessions as session_service
from training_app.services import survey_results
from training_app.services import surveys as survey_service
from training_app.services.surveys import QuestionData

OLD = ("Préparer une négociation", "Suivre une négociation")
NEW = ("Préparer une négociation", "Suivre et évaluer une négociation")  # the second one reworded
WHILE_2024_RUNS = datetime(2024, 3, 6, 9, 30)  # a session that is over gets no positioning questionnaire


def _asked(questionnaire) -> list[str]:
    """The objectives a positioning questionnaire rates, as written in its questions."""
    return [q.text.split("« ", 1)[1].rsplit(" »", 1)[0] for q in questionnaire.questions
            if q.type == "rating"]


def _session(programme, year):
    return factories.make_session(programme, start=datetime(year, 3, 5, 14), end=datetime(year, 3, 8, 12, 30))


def _edit(programme, objectives):
    programme_service.save_programme(programme, {}, list(objectives))
    db.session.commit()
    db.session.expire_all()


def _answer(survey):
    factories.answer_survey(survey, factories.make_enrolment(survey.session).trainee, {1: "2", 2: "4"})


def test_a_later_session_is_asked_about_the_new_objectives_and_the_answered_version_stays():
    programme = factories.make_programme(objectives=OLD)
    first = survey_service.attach_positioning(_session(programme, 2030))
    db.session.commit()
    _answer(first)
    old = first.questionnaire
    old_questions = [(q.id, q.text) for q in old.questions]

    _edit(programme, NEW)
    later = survey_service.attach_positioning(_session(programme, 2031))
    db.session.commit()
    new = later.questionnaire
    assert _asked(new) == list(NEW) and new.id != old.id
    assert [q.objective_id for q in new.questions if q.type == "rating"] == [o.id for o in programme.objectives]
    assert (new.lineage_id, new.version, new.archived) == (old.lineage_id, 2, False)
    assert old.archived and [(q.id, q.text) for q in old.questions] == old_questions
    assert db.session.get(Survey, first.id).questionnaire_id == old.id  # answered: keeps its questions
    assert survey_service.attach_positioning(_session(programme, 2032)).questionnaire_id == new.id  # reused
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Questionnaire.id))) == 2


def test_a_session_started_under_the_old_objectives_keeps_them():
    programme = factories.make_programme(objectives=OLD)
    started = _session(programme, 2024)
    upcoming = _session(programme, 2030)
    v1 = survey_service.ensure_positioning(upcoming)
    db.session.commit()
    _edit(programme, NEW)
    assert [o.text for o in db.session.get(type(started), started.id).course.objectives] == list(OLD)

    live = survey_service.ensure_positioning(db.session.get(type(upcoming), upcoming.id))
    with frozen_at(WHILE_2024_RUNS):
        kept = survey_service.attach_positioning(db.session.get(type(started), started.id))
    db.session.commit()
    assert _asked(live) == list(NEW) and not live.archived
    assert kept.questionnaire_id == v1.id and v1.archived  # the archived version it was taught under


def test_a_version_made_for_a_session_that_keeps_former_objectives_is_not_offered_as_the_live_one():
    programme = factories.make_programme(objectives=OLD)
    started = _session(programme, 2024)
    _edit(programme, NEW)  # the session keeps OLD; no positioning questionnaire was ever made
    with frozen_at(WHILE_2024_RUNS):
        survey = survey_service.attach_positioning(db.session.get(type(started), started.id))
    db.session.commit()
    assert _asked(survey.questionnaire) == list(OLD) and survey.questionnaire.archived
    assert survey.questionnaire not in survey_service.live_questionnaires()
    live = survey_service.ensure_positioning(_session(programme, 2030))
    db.session.commit()
    assert _asked(live) == list(NEW) and not live.archived
    assert live.lineage_id == survey.questionnaire.lineage_id and live.version == 2


def test_an_objective_removed_from_the_catalogue_stays_asked_in_the_session_that_taught_it():
    programme = factories.make_programme(objectives=OLD)
    started = _session(programme, 2024)
    v1 = survey_service.ensure_positioning(_session(programme, 2030))
    db.session.commit()
    _edit(programme, OLD[:1])  # "Suivre une négociation" removed: its row is gone
    with frozen_at(WHILE_2024_RUNS):
        kept = survey_service.attach_positioning(db.session.get(type(started), started.id))
    db.session.commit()
    assert kept.questionnaire_id == v1.id and _asked(v1) == list(OLD)
    later = survey_service.ensure_positioning(_session(programme, 2031))
    db.session.commit()
    assert _asked(later) == list(OLD[:1])

    # No version at all yet: the question about the removed objective points at nothing (no dangling id).
    other = factories.make_programme(objectives=OLD)
    started = _session(other, 2024)
    _edit(other, OLD[:1])
    questionnaire = survey_service.ensure_positioning(db.session.get(type(started), started.id))
    db.session.commit()
    assert _asked(questionnaire) == list(OLD)
    assert questionnaire.questions[1].objective_id is None


def test_unanswered_positioning_of_upcoming_sessions_follows_an_edit_answered_and_started_ones_stay():
    programme = factories.make_programme(objectives=OLD)
    with frozen_at(WHILE_2024_RUNS):
        started = survey_service.attach_positioning(_session(programme, 2024))
    answered = survey_service.attach_positioning(_session(programme, 2030))
    waiting = survey_service.attach_positioning(_session(programme, 2031), datetime(2031, 1, 5, 9),
                                                datetime(2031, 3, 1, 18))
    db.session.commit()
    _answer(answered)
    v1 = answered.questionnaire_id

    _edit(programme, NEW)
    assert db.session.get(Survey, started.id).questionnaire_id == v1
    assert db.session.get(Survey, answered.id).questionnaire_id == v1
    moved = db.session.get(Survey, waiting.id)
    assert moved.questionnaire_id != v1 and _asked(moved.questionnaire) == list(NEW)
    assert (moved.opens_at, moved.closes_at) == (datetime(2031, 1, 5, 9), datetime(2031, 3, 1, 18))
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "questionnaire_changed"))
    assert (entry.entity_id, entry.details) == (waiting.id, {"from_questionnaire_id": v1,
                                                             "to_questionnaire_id": moved.questionnaire_id})

    _edit(programme, OLD)  # back to the former objectives: the version asking about them again, live again
    assert db.session.get(Survey, waiting.id).questionnaire_id == v1
    assert [q.id for q in survey_service.live_questionnaires()] == [v1]


def test_an_edit_returns_the_answered_positioning_left_on_other_objectives_while_it_still_asks():
    programme = factories.make_programme(objectives=OLD)
    answered = survey_service.attach_positioning(_session(programme, 2030))  # open from 12 February to 5 March
    closed = survey_service.attach_positioning(_session(programme, 2031), datetime(2030, 1, 5, 9),
                                               datetime(2030, 2, 1, 18))  # closed by hand before the edit
    waiting = survey_service.attach_positioning(_session(programme, 2032))
    db.session.commit()
    _answer(answered)
    factories.answer_survey(closed, factories.make_enrolment(closed.session).trainee, {1: "3", 2: "3"})

    with frozen_at(datetime(2030, 2, 20, 10)):
        reordered = programme_service.save_programme_reporting(programme, {}, list(reversed(OLD)))
        db.session.commit()
        saved = programme_service.save_programme_reporting(programme, {}, list(NEW))
        db.session.commit()
    assert reordered.surveys_left == []  # the same objectives in another order: the answers still fit
    assert [survey.id for survey in saved.surveys_left] == [answered.id]  # not the closed one, nor the moved one
    assert _asked(db.session.get(Survey, waiting.id).questionnaire) == list(NEW)
    assert programme_service.left_behind_message(saved.surveys_left[0]).startswith(
        "Session du 05/03/2030 : son questionnaire de positionnement a déjà des réponses, ses questions ne peuvent "
        "plus changer. Il interroge encore sur « Suivre une négociation », que la formation n'enseigne plus. Il "
        "ne demande rien sur « Suivre et évaluer une négociation ». Les stagiaires qui n'ont pas répondu le "
        "recevront tel quel jusqu'au 05/03/2030 à 14h00 : avancez sa date de fermeture")


def test_a_positioning_version_is_offered_again_only_if_it_asks_about_the_current_objectives():
    """The live positioning version is the one asking about the catalogue's objectives: a version asking about
    others is not restored (beside the live one, or once that one is archived by hand); the one asking about them
    is, and the version left live on other objectives (nobody to move when they changed back) is archived."""
    from training_app.services import ServiceError
    programme = factories.make_programme(objectives=OLD)
    first = survey_service.attach_positioning(_session(programme, 2030))
    db.session.commit()
    _answer(first)  # answered: stays on the first version when the objectives change
    _edit(programme, NEW)
    second = survey_service.attach_positioning(_session(programme, 2031))
    db.session.commit()
    _answer(second)
    v1, v2 = db.session.get(Survey, first.id).questionnaire, db.session.get(Survey, second.id).questionnaire
    assert (v1.version, v1.archived, v2.version, v2.archived) == (1, True, 2, False)
    former = "Cette version n'interroge pas sur les objectifs actuels de la formation"
    with pytest.raises(ServiceError) as error:
        survey_service.set_archived(v1, False)
    assert error.value.message.startswith(former)
    db.session.rollback()

    _edit(programme, OLD)  # back to the first objectives; no unanswered survey to realign: v2 stays live
    v1, v2 = db.session.get(Questionnaire, v1.id), db.session.get(Questionnaire, v2.id)
    assert (v1.archived, v2.archived) == (True, False)
    survey_service.set_archived(v1, False)
    db.session.commit()
    db.session.expire_all()
    assert (db.session.get(Questionnaire, v1.id).archived, db.session.get(Questionnaire, v2.id).archived) == (
        False, True)
    with pytest.raises(ServiceError) as error:
        survey_service.set_archived(db.session.get(Questionnaire, v2.id), False)
    assert error.value.message.startswith(former)
    db.session.rollback()


def test_a_new_version_keeps_the_questions_the_office_added():
    programme = factories.make_programme(objectives=OLD)
    v1 = survey_service.ensure_positioning(_session(programme, 2030))
    survey_service.add_question(v1, QuestionData("yes_no", "Avez-vous déjà suivi une formation sur ce thème ?"))
    db.session.commit()
    _edit(programme, OLD + ("Conduire une délégation",))
    v2 = survey_service.ensure_positioning(_session(programme, 2031))
    db.session.commit()
    assert _asked(v2) == list(OLD) + ["Conduire une délégation"]
    assert [q.text for q in v2.questions][3:] == [q.text for q in v1.questions][2:]
    assert [q.position for q in v2.questions] == list(range(1, len(v1.questions) + 2))


def test_programme_results_gather_every_version():
    programme = factories.make_programme(objectives=OLD)
    first = survey_service.attach_positioning(_session(programme, 2030))
    db.session.commit()
    _answer(first)
    _edit(programme, NEW)
    later = survey_service.attach_positioning(_session(programme, 2031))
    db.session.commit()
    factories.answer_survey(later, factories.make_enrolment(later.session).trainee, {1: "5", 2: "3"})

    (lineage,) = survey_results.lineages(programme)
    query = survey_results.ProgrammeQuery(programme, lineage.lineage_id, datetime(2030, 1, 1).date(),
                                          datetime(2031, 12, 31).date())
    results, split = survey_results.programme_results(query)
    assert {s.id for s in split.counted} == {first.id, later.id} and results.responded == 2
    ratings = {q.text.split("« ")[1].split(" »")[0]: (q.answered, q.average)
               for q in results.questions if q.type == "rating"}
    # the objective unchanged gathers both sessions; the reworded one is asked apart, under each wording
    assert ratings == {OLD[0]: (2, 3.5), OLD[1]: (1, 4), NEW[1]: (1, 3)}


def test_a_session_moved_to_another_programme_before_anyone_answered_is_asked_about_its_objectives():
    programme = factories.make_programme(objectives=OLD)
    session = _session(programme, 2030)
    survey = survey_service.attach_positioning(session)
    db.session.commit()
    other = factories.make_programme(objectives=("Animer une réunion", "Rédiger un compte rendu"))
    data = session_service.SessionData(
        programme=other, start_at=session.start_at, end_at=session.end_at, place=session.place,
        capacity=session.capacity, price_cents=session.price_cents, status=session.status, trainers=(),
        timetable=session_service.DEFAULT_TIMETABLE)
    update = session_service.update_session(session, data)
    db.session.commit()
    survey = db.session.get(Survey, survey.id)
    assert _asked(survey.questionnaire) == ["Animer une réunion", "Rédiger un compte rendu"]
    assert survey.questionnaire.programme_id == other.id
    assert update.positioning_left == []  # it followed: nothing to tell


def _moved(session, programme):
    return session_service.update_session(session, session_service.SessionData(
        programme=programme, start_at=session.start_at, end_at=session.end_at, place=session.place,
        capacity=session.capacity, price_cents=session.price_cents, status=session.status, trainers=(),
        timetable=session_service.DEFAULT_TIMETABLE))


def test_a_session_moved_to_another_programme_tells_the_office_its_answered_positioning_stays_on_the_former_one():
    """Someone answered its positioning questionnaire, then cancelled (the session may move again): the answered
    version keeps its questions, so the others would be asked about the former programme's objectives; moving
    the session returns it, and the office is told as for an edit of the objectives (left_behind_message). One
    already closed is not returned: nobody is asked any more."""
    from training_app.services import enrolments
    programme = factories.make_programme(objectives=OLD)
    session = _session(programme, 2030)
    closed_session = _session(programme, 2031)
    survey = survey_service.attach_positioning(session)  # open from 12 February to 5 March 2030
    closed = survey_service.attach_positioning(closed_session, datetime(2030, 1, 6, 9), datetime(2030, 1, 31, 18))
    db.session.commit()
    for answered in (survey, closed):
        enrolment = factories.make_enrolment(answered.session)
        factories.answer_survey(answered, enrolment.trainee, {1: "2", 2: "4"})
        enrolments.cancel(enrolment, "Empêchement")
    db.session.commit()
    other = factories.make_programme(objectives=("Préparer une négociation", "Animer une réunion"))

    with frozen_at(datetime(2030, 2, 20, 10)):
        update = _moved(session, other)
        db.session.commit()
        assert [left.id for left in update.positioning_left] == [survey.id]
        assert _moved(closed_session, other).positioning_left == []
        db.session.commit()
    assert _asked(db.session.get(Survey, survey.id).questionnaire) == list(OLD)  # answered: kept as answered
    assert programme_service.left_behind_message(update.positioning_left[0]) == (
        "Session du 05/03/2030 : son questionnaire de positionnement a déjà des réponses, ses questions ne peuvent "
        "plus changer. Il interroge encore sur « Suivre une négociation », que la formation n'enseigne plus. Il "
        "ne demande rien sur « Animer une réunion ». Les stagiaires qui n'ont pas répondu le recevront tel quel "
        "jusqu'au 05/03/2030 à 14h00 : avancez sa date de fermeture sur la page de la session pour ne plus "
        "l'envoyer, et faites le point sur les nouveaux objectifs en début de formation.")


def test_objectives_emptied_leave_the_unanswered_positioning_as_it_is():
    programme = factories.make_programme(objectives=OLD)
    survey = survey_service.attach_positioning(_session(programme, 2030))
    db.session.commit()
    v1 = survey.questionnaire_id
    _edit(programme, ())  # the service takes it (the form asks for one at least): no positioning to build
    assert db.session.get(Survey, survey.id).questionnaire_id == v1


def test_an_answer_sent_while_the_office_changed_the_objectives_is_refused_not_kept_on_the_old_questions(app):
    programme = factories.make_programme(objectives=OLD)
    waiting = survey_service.attach_positioning(_session(programme, 2031))
    db.session.commit()
    trainee = factories.make_enrolment(waiting.session).trainee
    survey = db.session.get(Survey, waiting.id)
    old_id = survey.questionnaire_id
    raw = {q.id: "3" for q in survey.questionnaire.questions if q.type == "rating"}  # the page as answered
    programme_id = programme.id

    def office_saves(_):  # in its own transaction, between the trainee's page and the answer being kept
        _edit(db.session.get(Programme, programme_id), NEW)

    assert _run_together(app, 1, office_saves) == []
    with frozen_at(survey.opens_at + timedelta(minutes=1)), pytest.raises(survey_service.QuestionnaireChanged):
        survey_service.submit(survey, trainee, raw)
    db.session.rollback()

    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 0
    moved = db.session.get(Survey, waiting.id)
    assert moved.questionnaire_id != old_id and _asked(moved.questionnaire) == list(NEW)


def test_giving_a_session_its_positioning_locks_the_session_before_the_programme(app):
    """While the session's row is held (an edit of the session, or of its programme, under way), giving it its
    positioning waits for it without holding the programme's row: the order every other path takes, so the
    two cannot deadlock."""
    import threading

    from sqlalchemy.exc import OperationalError

    from tests.conftest import is_postgres
    from tests.unit.test_enrolment_concurrency import _join, _look_until, _someone_waits_for_a_row_lock
    from training_app.services.enrolments import lock_session
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no lock order to test")
    programme = factories.make_programme(objectives=list(OLD))
    session = _session(programme, 2030)
    session_id, programme_id = session.id, programme.id
    db.session.remove()
    held, release, outcome = threading.Event(), threading.Event(), {}

    def hold_the_session():
        with app.app_context():
            lock_session(session_id)
            held.set()
            release.wait()
            db.session.rollback()
            db.session.remove()

    def give_positioning():
        with app.app_context():
            held.wait()
            try:
                survey_service.attach_positioning(db.session.get(type(session), session_id))
                db.session.commit()
                outcome["given"] = True
            finally:
                outcome.setdefault("given", False)
                db.session.remove()

    threads = [threading.Thread(target=hold_the_session), threading.Thread(target=give_positioning)]
    for thread in threads:
        thread.start()
    held.wait()
    waited = _look_until(lambda: "given" in outcome or _someone_waits_for_a_row_lock()) and "given" not in outcome
    try:
        with db.engine.connect() as connection:  # the programme's row is free meanwhile
            connection.execute(db.text("SELECT id FROM programmes WHERE id = :id FOR UPDATE NOWAIT"),
                               {"id": programme_id})
            programme_free = True
    except OperationalError:
        programme_free = False
    release.set()
    _join(threads)
    assert waited, f"giving the positioning did not wait for the session's lock: {outcome}"
    assert programme_free and outcome == {"given": True}
