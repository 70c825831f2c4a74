"""Questionnaires: defaults, versions, answering rules, anonymity in the database, reminders."""
import threading
from datetime import datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError, OperationalError

from tests import factories
from tests.conftest import is_postgres
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import (Questionnaire, Survey, SurveyAnswer, SurveyParticipation, SurveyPendingAnswers,
                                 SurveyResponse, Trainee)
from training_app.services import ServiceError
from training_app.services import surveys as survey_service
from training_app.services.surveys import InvalidAnswers, QuestionData

ANSWER_TABLES = ("survey_responses", "survey_answers", "survey_pending_answers")


def _ids(survey):
    return [q.id for q in survey.questionnaire.questions]


def _count(column) -> int:
    return db.session.scalar(db.select(db.func.count(column)))


def _release_after_closing(survey) -> int:
    """The survey closes; its pending anonymous answers are released and committed."""
    with frozen_at(survey.closes_at + timedelta(minutes=1)):
        released = survey_service.release_pending(survey)
    db.session.commit()
    return released


# --- defaults -------------------------------------------------------------------------------------

def test_default_satisfaction_asks_what_the_reference_course_asks():
    questionnaire = survey_service.ensure_default_satisfaction()
    db.session.commit()
    assert questionnaire.anonymous and questionnaire.kind == "satisfaction"
    texts = " ".join(q.text for q in questionnaire.questions)
    for topic in ("vécu", "ressenti", "apporté", "objectifs", "rythme", "clairs", "organisation pratique",
                  "Recommanderiez"):
        assert topic in texts, topic
    assert {q.type for q in questionnaire.questions} == {"rating", "single_choice", "multiple_choice", "yes_no",
                                                         "free_text"}
    assert all(len(q.options) == 5 for q in questionnaire.questions if q.type == "rating")
    assert survey_service.ensure_default_satisfaction().id == questionnaire.id  # created once


def test_default_positioning_rates_each_objective_of_the_session():
    session = factories.make_session(factories.make_programme(
        objectives=("Préparer une négociation", "Suivre une négociation")))
    questionnaire = survey_service.ensure_positioning(session)
    db.session.commit()
    assert questionnaire.kind == "positioning" and not questionnaire.anonymous and not questionnaire.archived
    ratings = [q for q in questionnaire.questions if q.type == "rating"]
    assert [q.objective_id for q in ratings] == [o.id for o in session.programme.objectives]
    assert "Préparer une négociation" in ratings[0].text
    assert survey_service.ensure_positioning(session).id == questionnaire.id
    other = factories.make_session(session.programme, start=datetime(2031, 3, 4, 14), end=datetime(2031, 3, 7, 12))
    assert survey_service.ensure_positioning(other).id == questionnaire.id  # the same objectives: reused
    with pytest.raises(ServiceError, match="pas d'objectifs"):
        survey_service.ensure_positioning(factories.make_session(factories.make_programme(objectives=())))


def test_default_windows_by_kind():
    session = factories.make_session()  # Tue 5 Mar 2030 14:00 to Fri 8 Mar 12:30
    kinds = {kind: factories.make_questionnaire(kind=kind) for kind in ("positioning", "satisfaction", "follow_up")}
    assert survey_service.default_window(session, kinds["positioning"]) == (
        datetime(2030, 2, 12, 14), datetime(2030, 3, 5, 14))
    assert survey_service.default_window(session, kinds["satisfaction"]) == (
        datetime(2030, 3, 8, 9, 30), datetime(2030, 3, 22, 23, 59))  # from the last half-day
    assert kinds["follow_up"].follow_up_days == 60
    assert survey_service.default_window(session, kinds["follow_up"]) == (
        datetime(2030, 5, 7, 9), datetime(2030, 6, 4, 9))


# --- editing and versions -------------------------------------------------------------------------

def test_question_validation():
    questionnaire = factories.make_questionnaire(questions=[])
    cases = [
        (QuestionData("single_choice", "Rythme ?", options=["Adapté"]), "au moins deux choix"),
        (QuestionData("multiple_choice", "Quoi ?", options=["A", "a"]), "identiques"),
        (QuestionData("rating", "Note ?", options=["1", "2", "3"]), "cinq libellés"),
        (QuestionData("rating", "  "), "texte de la question"),
        (QuestionData("slider", "Note ?"), "Type de question inconnu"),
        (QuestionData("yes_no", "Oui ?", options=["x"]), "« Oui / non » n'a pas de choix à indiquer"),
        (QuestionData("free_text", "Quoi ?", options=["x"]), "« Texte libre » n'a pas de choix à indiquer"),
    ]
    for data, message in cases:
        with pytest.raises(ServiceError, match=message):
            survey_service.add_question(questionnaire, data)
    question = survey_service.add_question(questionnaire, QuestionData("rating", "Note ?"))
    assert question.options == survey_service.DEFAULT_RATING_LABELS
    yes_no = survey_service.add_question(questionnaire, QuestionData("yes_no", "Oui ?", options=[" ", ""]))
    assert yes_no.options == []


def test_questions_move_and_delete_keep_positions():
    questionnaire = factories.make_questionnaire()
    first, second, third = questionnaire.questions
    survey_service.move_question(third, -1)
    db.session.commit()
    assert [q.text for q in questionnaire.questions] == [first.text, third.text, second.text]
    survey_service.delete_question(first)
    db.session.commit()
    db.session.refresh(questionnaire)
    assert [(q.position, q.text) for q in questionnaire.questions] == [(1, third.text), (2, second.text)]


def test_the_last_question_of_a_questionnaire_given_in_a_session_stays():
    """Otherwise its trainees would send an empty answer, counted as one (attach refuses such a questionnaire)."""
    survey = factories.make_survey(questionnaire=factories.make_questionnaire(anonymous=False))
    questionnaire = survey.questionnaire
    for question in list(questionnaire.questions)[:2]:
        survey_service.delete_question(question)
    db.session.commit()
    with pytest.raises(ServiceError, match="C'est la dernière question de ce questionnaire, qui est proposé dans "
                                           "une session"):
        survey_service.delete_question(questionnaire.questions[0])
    db.session.rollback()
    assert len(questionnaire.questions) == 1
    unused = factories.make_questionnaire()  # given nowhere: may be emptied, then filled again
    for question in list(unused.questions):
        survey_service.delete_question(question)
    assert unused.questions == []


def test_a_named_questionnaire_does_not_promise_anonymity_in_its_introduction():
    questionnaire = survey_service.ensure_default_satisfaction()  # "Vos réponses sont anonymes : ..."
    db.session.commit()

    def named(introduction):
        survey_service.update_questionnaire(questionnaire, survey_service.QuestionnaireData(
            title=questionnaire.title, kind=questionnaire.kind, anonymous=False, introduction=introduction))

    with pytest.raises(ServiceError, match="L'introduction annonce aux stagiaires que leurs réponses sont "
                                           "anonymes, mais le questionnaire ne l'est pas") as refused:
        named(questionnaire.introduction)
    assert refused.value.field == "introduction"
    db.session.rollback()
    assert questionnaire.anonymous
    named("Vos réponses ne sont pas anonymes : l'équipe les lit pour préparer la suite.")
    assert not questionnaire.anonymous


def test_an_answered_questionnaire_cannot_change_a_new_version_is_made():
    survey = factories.make_survey()
    questionnaire = survey.questionnaire
    unanswered_elsewhere = factories.make_survey(
        factories.make_session(start=datetime(2031, 3, 4, 14), end=datetime(2031, 3, 7, 12, 30)), questionnaire)
    factories.answer_survey(survey, factories.make_enrolment(survey.session).trainee, {1: "4", 2: "yes"})
    with pytest.raises(ServiceError, match="nouvelle version"):
        survey_service.update_questionnaire(questionnaire, survey_service.QuestionnaireData(title="Autre"))
    with pytest.raises(ServiceError, match="nouvelle version"):
        survey_service.add_question(questionnaire, QuestionData("yes_no", "Encore ?"))
    with pytest.raises(ServiceError, match="nouvelle version"):
        survey_service.update_question(questionnaire.questions[0], QuestionData("yes_no", "Changé ?"))
    with pytest.raises(ServiceError, match="nouvelle version"):
        survey_service.delete_question(questionnaire.questions[0])

    copy = survey_service.new_version(questionnaire)
    db.session.commit()
    assert (copy.version, copy.lineage_id, copy.archived) == (2, questionnaire.id, False)
    assert questionnaire.archived
    assert [q.text for q in copy.questions] == [q.text for q in questionnaire.questions]
    assert survey.questionnaire_id == questionnaire.id             # answered: keeps the version answered
    assert unanswered_elsewhere.questionnaire_id == copy.id        # not answered yet: moves to the new one
    survey_service.update_questionnaire(copy, survey_service.QuestionnaireData(title="Satisfaction v2"))
    db.session.commit()
    assert copy.title == "Satisfaction v2"
    with pytest.raises(ServiceError, match="archivée"):
        survey_service.attach(factories.make_session(start=datetime(2032, 1, 6, 14), end=datetime(2032, 1, 9, 12)),
                              questionnaire)


def _live(questionnaire) -> list[int]:
    db.session.expire_all()
    return sorted(db.session.scalars(db.select(Questionnaire.version).where(
        Questionnaire.lineage_id == questionnaire.lineage_id, Questionnaire.archived.is_(False))))


def test_only_the_latest_version_of_a_questionnaire_is_offered_again():
    """A version replaced by a newer one is not restored: it would be offered beside the newer one (two live
    versions), or instead of it once that one was archived by hand. The latest one is."""
    first = factories.make_questionnaire(anonymous=False)
    second = survey_service.new_version(first)
    db.session.commit()
    newer = "Une version plus récente de ce questionnaire existe (version 2) : seule celle-là peut être proposée"
    assert survey_service.restore_refusal(first).startswith(newer)
    with pytest.raises(ServiceError) as error:
        survey_service.set_archived(first, False)
    assert error.value.message.startswith(newer)
    db.session.rollback()
    assert _live(first) == [2]

    survey_service.set_archived(second, True)  # no version offered any more
    db.session.commit()
    with pytest.raises(ServiceError, match="version plus récente"):
        survey_service.set_archived(first, False)
    db.session.rollback()
    assert _live(first) == []
    assert survey_service.restore_refusal(second) is None
    survey_service.set_archived(second, False)
    db.session.commit()
    assert _live(first) == [2]


def test_attach_refuses_twice_and_a_bad_window():
    session = factories.make_session()
    questionnaire = factories.make_questionnaire()
    survey_service.attach(session, questionnaire)
    db.session.commit()
    with pytest.raises(ServiceError, match="déjà proposé"):
        survey_service.attach(session, questionnaire)
    with pytest.raises(ServiceError, match="postérieure"):
        survey_service.attach(session, factories.make_questionnaire(), datetime(2030, 3, 8), datetime(2030, 3, 7))
    with pytest.raises(ServiceError, match="aucune question"):
        survey_service.attach(session, factories.make_questionnaire(questions=[]))


def test_attach_refuses_another_version_of_a_questionnaire_the_session_has():
    survey = factories.make_survey()
    factories.answer_survey(survey, factories.make_enrolment(survey.session).trainee, {1: "5", 2: "yes"})
    second = survey_service.new_version(survey.questionnaire)  # the answered survey keeps version 1
    third = survey_service.new_version(second)
    db.session.commit()
    with pytest.raises(ServiceError, match="dans sa version 1 : les stagiaires qui y ont répondu") as error:
        survey_service.attach(survey.session, third)
    assert error.value.field == "questionnaire_id"
    survey_service.attach(survey.session, factories.make_questionnaire())  # another questionnaire: fine
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Survey.id))) == 2


def test_detaching_is_refused_once_answered():
    survey = factories.make_survey()
    factories.answer_survey(survey, factories.make_enrolment(survey.session).trainee, {1: "3", 2: "no"})
    with pytest.raises(ServiceError, match="déjà répondu"):
        survey_service.detach(survey)


# --- answering ------------------------------------------------------------------------------------

def test_anonymous_answers_are_stored_without_the_trainee():
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session).trainee
    participation = factories.answer_survey(survey, trainee, {1: "5", 2: "yes", 3: "Très riche"})
    assert participation.trainee_id == trainee.id and participation.response_id is None
    _release_after_closing(survey)
    response = db.session.scalar(db.select(SurveyResponse))
    stored = {a.question_id: (a.rating, a.yes, a.text) for a in response.answers}
    assert [stored[k] for k in sorted(stored)] == [(5, None, None), (None, True, None), (None, None, "Très riche")]


def test_no_answer_table_links_to_a_trainee_at_the_database_level():
    """Anonymity is in the schema: no column of the answer tables can name a trainee."""
    survey = factories.make_survey()
    named = factories.make_survey(survey.session, factories.make_questionnaire(anonymous=False))
    trainees = [factories.make_enrolment(survey.session).trainee for _ in range(3)]
    for trainee in trainees:
        factories.answer_survey(survey, trainee, {1: "4", 2: "yes", 3: trainee.last_name})
        factories.answer_survey(named, trainee, {1: "2", 2: "no"})
    _release_after_closing(survey)
    inspector = inspect(db.engine)
    person_tables = {"trainees", "enrolments", "users", "survey_participations", "audit_entries"}
    for table in ANSWER_TABLES:
        targets = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
        assert not targets & person_tables, (table, targets)
        columns = {c["name"] for c in inspector.get_columns(table)}
        assert not {c for c in columns if any(w in c for w in ("trainee", "enrolment", "user", "email", "_at"))}, \
            (table, columns)
    with db.engine.connect() as conn:
        # the "has answered" rows of the anonymous survey point at no response
        linked = conn.execute(text("SELECT count(*) FROM survey_participations WHERE survey_id = :s "
                                   "AND response_id IS NOT NULL"), {"s": survey.id}).scalar()
        assert linked == 0
        assert conn.execute(text("SELECT count(*) FROM survey_participations WHERE survey_id = :s"),
                            {"s": survey.id}).scalar() == 3
        assert conn.execute(text("SELECT count(*) FROM survey_responses WHERE survey_id = :s"),
                            {"s": survey.id}).scalar() == 3
        # response ids are random, not in the order of the participations
        ids = [row[0] for row in conn.execute(text("SELECT id FROM survey_responses WHERE survey_id = :s"),
                                              {"s": survey.id})]
        assert all(i > 10 ** 6 for i in ids)
        if not is_postgres(current_app):  # no hidden sequential rowid on SQLite either
            with pytest.raises(OperationalError):
                conn.execute(text("SELECT rowid FROM survey_responses"))
            conn.rollback()
        # a questionnaire that is not anonymous does link each response, through the participation only
        assert conn.execute(text("SELECT count(*) FROM survey_participations WHERE survey_id = :s "
                                 "AND response_id IS NOT NULL"), {"s": named.id}).scalar() == 3


def test_one_answer_per_trainee_is_enforced_by_the_database():
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session).trainee
    factories.answer_survey(survey, trainee, {1: "4", 2: "yes"})
    with pytest.raises(ServiceError, match="déjà répondu"):
        factories.answer_survey(survey, trainee, {1: "1", 2: "no"})
    db.session.add(SurveyParticipation(survey_id=survey.id, trainee_id=trainee.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert _count(SurveyPendingAnswers.id) == 1 and _count(SurveyParticipation.id) == 1


def test_closed_upcoming_and_foreign_surveys_are_refused():
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session).trainee
    raw = dict(zip(_ids(survey), ["4", "yes"]))
    with frozen_at(survey.opens_at - timedelta(minutes=1)), pytest.raises(ServiceError, match="pas encore ouvert"):
        survey_service.submit(survey, trainee, raw)
    with frozen_at(survey.closes_at + timedelta(minutes=1)), pytest.raises(ServiceError, match="fermé depuis le 22"):
        survey_service.submit(survey, trainee, raw)
    stranger = factories.make_trainee()
    waiting = factories.make_enrolment(survey.session, status="waitlisted").trainee
    with frozen_at(survey.opens_at + timedelta(hours=1)):
        for person in (stranger, waiting):
            with pytest.raises(ServiceError, match="pas destiné"):
                survey_service.submit(survey, person, raw)
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 0


def test_missing_and_wrong_answers_are_reported_per_question_and_nothing_is_saved():
    questions = [QuestionData("rating", "Note ?"), QuestionData("single_choice", "Rythme ?", options=["Lent", "Vite"]),
                 QuestionData("multiple_choice", "Quoi ?", options=["A", "B"]), QuestionData("yes_no", "Oui ?"),
                 QuestionData("free_text", "Texte ?")]
    survey = factories.make_survey(questionnaire=factories.make_questionnaire(questions))
    trainee = factories.make_enrolment(survey.session).trainee
    rating, single, multiple, yes_no, free = _ids(survey)
    with frozen_at(survey.opens_at + timedelta(hours=1)):
        with pytest.raises(InvalidAnswers) as error:
            survey_service.submit(survey, trainee, {rating: "6", single: "2", multiple: ["0", "7"], yes_no: "peut-être",
                                                    free: "   "})
        assert error.value.errors == {
            rating: "La note doit être un nombre entier de 1 à 5.",
            single: "Ce choix n'existe pas : choisissez parmi les réponses proposées.",
            multiple: "Ce choix n'existe pas : choisissez parmi les réponses proposées.",
            yes_no: "Répondez par oui ou par non.",
            free: "Cette question demande une réponse.",
        }
        with pytest.raises(InvalidAnswers) as error:
            survey_service.submit(survey, trainee, {rating: "0", single: "x", multiple: [], yes_no: "",
                                                    free: "x" * 5001})
        assert set(error.value.errors) == {rating, single, multiple, yes_no, free}
        assert "trop longue" in error.value.errors[free]
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(SurveyResponse.id))) == 0
    assert db.session.scalar(db.select(db.func.count(SurveyAnswer.response_id))) == 0
    participation = factories.answer_survey(survey, trainee, {1: "3", 2: "1", 3: ["1", "0", "1"], 4: "no",
                                                               5: "Bien"})
    assert participation.id
    _release_after_closing(survey)
    answer = db.session.scalar(db.select(SurveyAnswer).where(SurveyAnswer.question_id == multiple))
    assert answer.choices == [0, 1]


def test_a_rating_out_of_range_is_refused_by_the_database_too():
    survey = factories.make_survey()
    db.session.add(SurveyResponse(survey_id=survey.id, answers=[SurveyAnswer(question_id=_ids(survey)[0], rating=9)]))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.postgres_only
def test_two_simultaneous_submissions_of_one_trainee_keep_one(app, monkeypatch):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    survey = factories.make_survey()
    trainee = factories.make_enrolment(survey.session).trainee
    survey_id, trainee_id, raw = survey.id, trainee.id, dict(zip(_ids(survey), ["4", "yes"]))
    barrier = threading.Barrier(2, timeout=30)
    real_has_answered = survey_service.has_answered

    def has_answered_then_wait(*args):
        answered = real_has_answered(*args)
        barrier.wait()  # both requests passed the "already answered?" check before either inserts
        return answered

    monkeypatch.setattr(survey_service, "has_answered", has_answered_then_wait)
    outcomes = []

    def answer():
        with app.app_context(), frozen_at(datetime(2030, 3, 10, 12)):
            try:
                survey_service.submit(db.session.get(Survey, survey_id), db.session.get(Trainee, trainee_id), raw)
                db.session.commit()
                outcomes.append("saved")
            except ServiceError as error:
                outcomes.append("refused" if "déjà répondu" in error.message else error.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "saved"]
    assert _count(SurveyParticipation.id) == 1
    assert _count(SurveyPendingAnswers.id) == 1  # anonymous: the answers wait for the survey to close


# --- reminders ------------------------------------------------------------------------------------

def test_reminders_go_after_commit_to_those_who_have_not_answered(outbox):
    survey = factories.make_survey()
    answered = factories.make_enrolment(survey.session).trainee
    silent = factories.make_enrolment(survey.session).trainee
    factories.make_enrolment(survey.session, status="cancelled")
    factories.answer_survey(survey, answered, {1: "4", 2: "yes"})
    with frozen_at(datetime(2030, 3, 12, 10)):
        assert survey_service.send_reminders(survey) == 1
        assert outbox == []  # not before the commit
        db.session.rollback()
        assert outbox == []  # a rollback e-mails nobody
        survey = db.session.get(Survey, survey.id)
        survey_service.send_reminders(survey)
        db.session.commit()
    assert [m.to for m in outbox] == [[silent.email]]
    assert f"/questionnaires/{survey.id}" in outbox[0].body and "anonymes" in outbox[0].body
    assert outbox[0].subject.startswith("Votre avis")
    assert survey.reminders_sent == 1
    with frozen_at(datetime(2030, 3, 13, 10)):
        survey_service.send_reminders(survey)
        db.session.commit()
    assert outbox[1].subject.startswith("Rappel")
    with frozen_at(datetime(2030, 4, 1)), pytest.raises(ServiceError, match="pas ouvert"):
        survey_service.send_reminders(survey)


def test_questionnaire_rows_are_plain(app):
    """The Questionnaire model keeps its versions together."""
    questionnaire = factories.make_questionnaire()
    assert questionnaire.lineage_id == questionnaire.id and questionnaire.version == 1
    assert db.session.get(Questionnaire, questionnaire.id).questions[0].position == 1


@pytest.mark.parametrize("released", [False, True])
def test_answers_kept_after_their_author_was_erased_still_freeze_the_questionnaire(released):
    """An anonymous answer outlives its author's erasure (it names nobody); so does its questionnaire's meaning:
    the questionnaire stays frozen, the survey stays attached and moves to no new version, and the release
    still works (it used to be edited in place, then released against a question that no longer existed)."""
    from training_app.services import enrolments, personal_data
    admin = factories.make_user("admin")
    session = factories.make_session()  # 5 to 8 March 2030
    questionnaire = factories.make_questionnaire(anonymous=True, kind="positioning", title="Attentes")
    survey = factories.make_survey(session, questionnaire, opens_at=datetime(2030, 2, 10, 9),
                                   closes_at=datetime(2030, 2, 25, 23))
    enrolment = factories.make_enrolment(session)
    factories.answer_survey(survey, enrolment.trainee, {1: "2", 2: "yes", 3: "Je suis inquiète pour mon poste"})
    with frozen_at(datetime(2030, 2, 20, 10)):
        enrolments.cancel(enrolment, "Raison personnelle", actor=admin)
        db.session.commit()
        personal_data.erase(enrolment.trainee, "Demande écrite", admin)
        db.session.commit()
    assert db.session.scalar(db.select(db.func.count(SurveyParticipation.id))) == 0  # deleted with the person
    if released:
        with frozen_at(datetime(2030, 3, 1)):
            assert survey_service.release_pending(survey) == 1
            db.session.commit()
    assert survey_service.has_answers(questionnaire) and survey_service.response_count(survey) == 1
    with pytest.raises(ServiceError, match="déjà des réponses"):
        survey_service.update_question(questionnaire.questions[0], QuestionData("rating", "Autre chose ?"))
    with pytest.raises(ServiceError, match="déjà répondu"):
        survey_service.detach(survey)
    db.session.rollback()
    copy = survey_service.new_version(questionnaire)
    db.session.commit()
    assert db.session.get(Survey, survey.id).questionnaire_id == questionnaire.id != copy.id
    with frozen_at(datetime(2030, 3, 1)):
        survey_service.release_pending(survey)
        db.session.commit()
    kept = db.session.scalars(db.select(SurveyAnswer)).all()
    assert sorted(a.question_id for a in kept) == sorted(q.id for q in questionnaire.questions)


def test_reminders_go_to_those_who_can_receive_them(outbox):
    """A trainee whose data was erased (a completed session keeps their enrolment) has no address left: the
    reminder neither writes to them nor counts them."""
    survey = factories.make_survey()
    erased, waiting = (factories.make_enrolment(survey.session).trainee for _ in range(2))
    erased.erased_at = datetime(2030, 3, 1)  # as personal_data.erase leaves a kept person (tested there)
    erased.email = "efface-1@efface.invalid"
    db.session.commit()
    with frozen_at(datetime(2030, 3, 12, 10)):
        assert survey_service.send_reminders(survey) == 1
        db.session.commit()
    assert [m.to for m in outbox] == [[waiting.email]]
