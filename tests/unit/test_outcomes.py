"""Learning outcomes: the interface the certificates read, recording rules, the session review."""
import threading
from datetime import datetime

import pytest

from tests import factories
from training_app.clock import frozen_at
from tests.conftest import is_postgres
from training_app.extensions import db
from training_app.models import AuditEntry, Enrolment, LearningOutcome, TrainingSession
from training_app.services import ServiceError
from training_app.services import outcomes
from training_app.services import sessions as session_service
from training_app.services.outcomes import Assessment


# Objectives are assessed from the session's start: these tests run on the last half-day of the default session
# (factories.make_session: Tue 5 March 2030 14:00 to Fri 8 March 12:30).
DURING_THE_COURSE = datetime(2030, 3, 8, 11, 0)


@pytest.fixture(autouse=True)
def during_the_course():
    with frozen_at(DURING_THE_COURSE):
        yield


def _session_with(trainees: int, objectives=("Préparer", "Négocier", "Suivre")):
    session = factories.make_session(programme=factories.make_programme(objectives=objectives))
    enrolments = [factories.make_enrolment(session) for _ in range(trainees)]
    return session, enrolments


def test_results_cover_every_objective_in_order_not_assessed_by_default():
    session, (enrolment,) = _session_with(1)
    rows = outcomes.results_for(enrolment)
    assert [(o.text, code, comment) for o, code, comment in rows] == [
        ("Préparer", "not_assessed", ""), ("Négocier", "not_assessed", ""), ("Suivre", "not_assessed", "")]
    first, second, _third = session.programme.objectives
    trainer = factories.make_user("trainer")
    outcomes.record_outcome(enrolment, second, "acquired", "Très à l'aise en jeu de rôle", actor=trainer)
    outcomes.record_outcome(enrolment, first, "partly_acquired", actor=trainer)
    db.session.commit()
    assert [(code, comment) for _o, code, comment in outcomes.results_for(enrolment)] == [
        ("partly_acquired", ""), ("acquired", "Très à l'aise en jeu de rôle"), ("not_assessed", "")]


def test_results_for_session_use_constant_queries_and_cover_every_enrolment():
    small, _ = _session_with(2)
    big, enrolments = _session_with(10)
    waiting = factories.make_enrolment(big, status="waitlisted")
    for enrolment in enrolments:
        for objective in big.programme.objectives:
            outcomes.record_outcome(enrolment, objective, "acquired")
    db.session.commit()
    small, big = db.session.get(TrainingSession, small.id), db.session.get(TrainingSession, big.id)
    with factories.count_queries() as few:
        outcomes.results_for_session(small)
    with factories.count_queries() as many:
        results = outcomes.results_for_session(big)
    assert len(few) == len(many) <= 3
    assert set(results) == {e.id for e in enrolments} | {waiting.id}
    for enrolment in enrolments:
        assert [code for _o, code, _c in results[enrolment.id]] == ["acquired"] * 3
    assert [code for _o, code, _c in results[waiting.id]] == ["not_assessed"] * 3


def test_recording_updates_in_place_writes_the_audit_and_skips_what_did_not_change():
    session, (enrolment,) = _session_with(1)
    objective = session.programme.objectives[0]
    trainer = factories.make_user("trainer")
    assert outcomes.record_outcome(enrolment, objective, "not_acquired", actor=trainer) == 1
    assert outcomes.record_outcome(enrolment, objective, "acquired", "Rattrapé le dernier jour", actor=trainer) == 1
    assert outcomes.record_outcome(enrolment, objective, "acquired", "Rattrapé le dernier jour", actor=trainer) == 0
    # an explicit "not assessed", even without a comment, is the trainer's choice: it is recorded (once)
    assert outcomes.record_outcome(enrolment, session.programme.objectives[1], "not_assessed", actor=trainer) == 1
    assert outcomes.record_outcome(enrolment, session.programme.objectives[1], "not_assessed", actor=trainer) == 0
    db.session.commit()
    rows = db.session.scalars(db.select(LearningOutcome).order_by(LearningOutcome.id)).all()
    assert [(r.result, r.comment, r.assessed_by_id) for r in rows] == [
        ("acquired", "Rattrapé le dernier jour", trainer.id), ("not_assessed", "", trainer.id)]
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_type == "learning_outcomes")
                                 .order_by(AuditEntry.id)).all()
    assert [(e.from_state, e.to_state, e.actor_id) for e in entries] == [
        (None, "not_acquired", trainer.id), ("not_acquired", "acquired", trainer.id), (None, "not_assessed", trainer.id)]


def test_what_nobody_recorded_is_told_from_an_explicit_not_assessed():
    session, (awa, julien) = _session_with(2)
    waiting = factories.make_enrolment(session, status="waitlisted")
    first, second, third = session.programme.objectives
    assert outcomes.unrecorded_for_session(session) == {
        awa.id: outcomes.assessable_objectives(session), julien.id: outcomes.assessable_objectives(session)}
    outcomes.record_outcomes(session, [Assessment(awa.id, o.id, "not_assessed") for o in (first, second, third)]
                             + [Assessment(julien.id, second.id, "acquired")])
    db.session.commit()
    assert {eid: [o.text for o in objectives] for eid, objectives in outcomes.unrecorded_for_session(session).items()} \
        == {julien.id: ["Préparer", "Suivre"]}
    assert waiting.id not in outcomes.unrecorded_for_session(session)
    # results_for() still prints both as "Non évalué": only the certificates' check tells them apart
    assert [code for _o, code, _c in outcomes.results_for(julien)] == ["not_assessed", "acquired", "not_assessed"]


def test_a_cell_left_to_fill_writes_nothing_and_cannot_carry_a_comment_alone():
    session, (enrolment,) = _session_with(1)
    first, second, _third = session.programme.objectives
    blank = outcomes.NOT_RECORDED
    assert outcomes.record_outcomes(session, [Assessment(enrolment.id, first.id, blank, loaded_result=None)]) == 0
    assert db.session.scalar(db.select(db.func.count(LearningOutcome.id))) == 0
    with pytest.raises(ServiceError, match="Choisissez un résultat pour ce commentaire") as refused:
        outcomes.record_outcomes(session, [Assessment(enrolment.id, first.id, blank, "Absente", loaded_result=blank)])
    assert refused.value.field == f"r_{enrolment.id}_{first.id}"
    db.session.rollback()
    # a recorded result cannot be emptied again: "non évalué" says it was not assessed
    outcomes.record_outcome(enrolment, second, "acquired")
    db.session.commit()
    with pytest.raises(ServiceError, match="acquis, partiellement acquis"):
        outcomes.record_outcomes(session, [Assessment(enrolment.id, second.id, blank, loaded_result="acquired")])
    db.session.rollback()
    assert [code for _o, code, _c in outcomes.results_for(enrolment)] == ["not_assessed", "acquired", "not_assessed"]


def test_bad_assessments_are_refused():
    session, (enrolment,) = _session_with(1)
    other_session, (stranger,) = _session_with(1)
    objective = session.programme.objectives[0]
    with pytest.raises(ServiceError, match="acquis, partiellement acquis") as error:
        outcomes.record_outcomes(session, [Assessment(enrolment.id, objective.id, "brilliant")])
    assert error.value.field == f"r_{enrolment.id}_{objective.id}"
    with pytest.raises(ServiceError, match="pas inscrit"):
        outcomes.record_outcomes(session, [Assessment(stranger.id, objective.id, "acquired")])
    with pytest.raises(ServiceError, match="pas un objectif"):
        outcomes.record_outcomes(session, [Assessment(enrolment.id, other_session.programme.objectives[0].id,
                                                      "acquired")])
    with pytest.raises(ServiceError, match="trop long"):
        outcomes.record_outcomes(session, [Assessment(enrolment.id, objective.id, "acquired", "x" * 2001)])
    cancelled = factories.make_enrolment(session, status="cancelled")
    with pytest.raises(ServiceError, match="pas inscrit"):
        outcomes.record_outcomes(session, [Assessment(cancelled.id, objective.id, "acquired")])
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(LearningOutcome.id))) == 0


def test_objectives_are_not_assessed_before_the_session_starts():
    session, (enrolment,) = _session_with(1)  # starts Tue 5 March 2030 at 14:00
    objective = session.programme.objectives[0]
    with frozen_at(datetime(2030, 3, 5, 13, 59)):
        assert "à partir du début de la session (05/03/2030" in outcomes.not_yet_assessable(session)
        with pytest.raises(ServiceError, match="à partir du début de la session"):
            outcomes.record_outcomes(session, [Assessment(enrolment.id, objective.id, "acquired")])
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(LearningOutcome.id))) == 0
    with frozen_at(datetime(2030, 3, 5, 14, 0)):
        assert outcomes.not_yet_assessable(session) == ""
        assert outcomes.record_outcomes(session, [Assessment(enrolment.id, objective.id, "acquired")]) == 1


def test_the_session_review_is_written_and_rewritten():
    session, _ = _session_with(1)
    trainer = factories.make_user("trainer")
    outcomes.save_review(session, "  Groupe engagé.  ", actor=trainer)
    db.session.commit()
    outcomes.save_review(session, "Groupe engagé ; besoin de plus de jeux de rôle.", actor=trainer)
    db.session.commit()
    review = outcomes.review_for(session)
    assert review.text == "Groupe engagé ; besoin de plus de jeux de rôle." and review.written_by == trainer
    assert outcomes.progress(session)["review_written"]
    with pytest.raises(ServiceError, match="trop long"):
        outcomes.save_review(session, "x" * 20001)


def test_cells_left_as_loaded_are_not_written_so_an_earlier_page_keeps_a_later_change():
    session, (enrolment,) = _session_with(1)
    first, second, _third = session.programme.objectives
    cells = outcomes.recorded_cells(session).get(enrolment.id, {})  # what the page showed: nothing recorded
    loaded = {o.id: cells.get(o.id, (outcomes.NOT_RECORDED, "")) for o in (first, second)}
    colleague, trainer = factories.make_user("trainer"), factories.make_user("trainer")
    outcomes.record_outcome(enrolment, first, "acquired", "Vu en jeu de rôle", actor=colleague)  # saved meanwhile
    db.session.commit()
    page = [Assessment(enrolment.id, o.id, *loaded[o.id], loaded_result=loaded[o.id][0],
                       loaded_comment=loaded[o.id][1]) for o in (first, second)]
    page[1].result = "not_acquired"  # the only cell changed on the earlier page
    assert outcomes.record_outcomes(session, page, actor=trainer) == 1
    db.session.commit()
    assert [(code, comment) for _o, code, comment in outcomes.results_for(enrolment)] == [
        ("acquired", "Vu en jeu de rôle"), ("not_acquired", ""), ("not_assessed", "")]


def test_no_review_before_the_start_nor_on_a_cancelled_session():
    """As the outcomes (not_yet_assessable), the review is written from the session's start on; a cancelled
    session has none."""
    session, _ = _session_with(1)
    with frozen_at(datetime(2030, 1, 10, 10)):  # two months before the start
        assert outcomes.review_refusal(session).startswith("Le bilan de la session se rédige à partir de son début")
        with pytest.raises(ServiceError, match="se rédige à partir de son début \\(05/03/2030 à 14h00\\)"):
            outcomes.save_review(session, "Le groupe a tout compris.")
    db.session.rollback()
    with frozen_at(datetime(2030, 3, 5, 14, 0)):  # from the first minute on
        assert outcomes.review_refusal(session) == ""
    cancelled = factories.make_session(status="cancelled", start=datetime(2030, 3, 4, 9, 30),
                                       end=datetime(2030, 3, 4, 18))
    with pytest.raises(ServiceError, match="Cette session est annulée : elle n'a pas de bilan à rédiger."):
        outcomes.save_review(cancelled, "Bilan d'une session annulée")
    db.session.rollback()
    assert outcomes.review_for(session) is None and outcomes.review_for(cancelled) is None


def test_no_outcomes_recorded_on_a_cancelled_session_not_even_for_a_withdrawn_trainee():
    """Cancelling a session cancels its seats, not its withdrawals: a withdrawn trainee stays listed, yet a
    cancelled session has no outcomes to assess. Refused in French, nothing written."""
    session = factories.make_session()
    factories.make_enrolment(session)
    withdrawn = factories.make_enrolment(session, status="withdrawn")
    session_service.cancel_session(session, "Formatrice malade")
    db.session.commit()
    assert [e.id for e in outcomes.assessed_enrolments(session)] == [withdrawn.id]
    objective = session.programme.objectives[0]
    with pytest.raises(ServiceError, match="^Cette session est annulée : pas d'acquis à évaluer.$"):
        outcomes.record_outcomes(session, [Assessment(withdrawn.id, objective.id, "acquired")])
    db.session.rollback()
    assert outcomes.assessment_refusal(session) == "Cette session est annulée : pas d'acquis à évaluer."
    assert db.session.scalar(db.select(db.func.count(LearningOutcome.id))) == 0


def test_a_review_changed_since_the_page_was_loaded_is_not_overwritten():
    session, _ = _session_with(1)
    first, second = factories.make_user("trainer", name="Camille"), factories.make_user("trainer")
    blank = outcomes.review_version(None)
    outcomes.save_review(session, "Première version.", actor=first, loaded_version=blank)
    db.session.commit()
    with pytest.raises(outcomes.ReviewChanged, match="Camille a enregistré le bilan"):
        outcomes.save_review(session, "Ma version.", actor=second, loaded_version=blank)
    db.session.rollback()
    loaded = outcomes.review_version(outcomes.review_for(session))
    outcomes.save_review(session, "Ma version, après lecture.", actor=second, loaded_version=loaded)
    db.session.commit()
    assert outcomes.review_for(session).text == "Ma version, après lecture."


@pytest.mark.postgres_only
def test_two_first_reviews_at_once_neither_collide_nor_overwrite(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    session, _ = _session_with(1)
    session_id = session.id

    def first_save(text):
        def save():
            with frozen_at(DURING_THE_COURSE):  # a thread of its own: the review is written from the start on
                outcomes.save_review(db.session.get(TrainingSession, session_id), text,
                                     loaded_version=outcomes.review_version(None))
            return text
        return save

    results, errors = factories.run_together(app, first_save("Version A"), first_save("Version B"))
    saved = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, outcomes.ReviewChanged)]
    assert errors == [] and len(saved) == len(refused) == 1
    assert outcomes.review_for(session).text == saved[0]


def test_progress_counts_assessed_objectives():
    session, enrolments = _session_with(2)
    outcomes.record_outcome(enrolments[0], session.programme.objectives[0], "acquired")
    outcomes.record_outcome(enrolments[1], session.programme.objectives[1], "not_assessed", "Absente ce jour-là")
    db.session.commit()
    assert outcomes.progress(session) == {"assessed": 1, "expected": 6, "trainees": 2, "objectives": 3,
                                          "review_written": False}


@pytest.mark.postgres_only
def test_two_trainers_saving_at_once_do_not_collide(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    session, (enrolment,) = _session_with(1)
    session_id, enrolment_id = session.id, enrolment.id
    objective_ids = [o.id for o in session.programme.objectives]
    barrier = threading.Barrier(2, timeout=30)
    errors = []

    def save(result):
        with app.app_context(), frozen_at(DURING_THE_COURSE):  # a new thread does not inherit the frozen clock
            try:
                target = db.session.get(TrainingSession, session_id)
                barrier.wait()
                outcomes.record_outcomes(target, [Assessment(enrolment_id, o, result) for o in objective_ids])
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - any failure is the test's failure
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=(r,)) for r in ("acquired", "partly_acquired")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = db.session.scalars(db.select(LearningOutcome)).all()
    assert len(rows) == 3 and len({r.result for r in rows}) == 1  # one trainer's save, then the other's


@pytest.mark.postgres_only
def test_a_cell_changed_by_a_trainer_whose_save_waited_for_another_s_is_refused(app):
    """The second trainer's page was read before the first saved; their save waits for the session's row lock,
    then compares with what the first wrote (read again, not the values it had loaded) and writes nothing."""
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    from tests.unit.test_enrolment_concurrency import _first_holds_second_waits

    session, (enrolment,) = _session_with(1)
    objective = session.programme.objectives[0]
    outcomes.record_outcome(enrolment, objective, "not_acquired", "Au début")
    db.session.commit()
    ids = (session.id, enrolment.id, objective.id)
    db.session.remove()

    def save(result):
        def run():
            with frozen_at(DURING_THE_COURSE):
                target = db.session.get(TrainingSession, ids[0])
                # The page, read before the other save is committed, its rows still held in this session.
                page = db.session.scalars(db.select(LearningOutcome)).all()
                outcomes.record_outcomes(target, [Assessment(ids[1], ids[2], result, "Au début",
                                                             loaded_result="not_acquired", loaded_comment="Au début")])
                assert page
        return run

    outcome = _first_holds_second_waits(app, save("acquired"), save("partly_acquired"))
    assert outcome["waited"]
    assert outcome["first"] == "committed" and outcome["second"].startswith("Des évaluations de cette grille")
    assert [(code, comment) for _o, code, comment in outcomes.results_for(db.session.get(Enrolment, ids[1]))][0] == (
        "acquired", "Au début")
