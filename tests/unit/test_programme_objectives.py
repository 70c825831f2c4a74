"""Editing a programme's objectives keeps the learning outcomes recorded against them where they were."""
import pytest

from tests import factories
from tests.certificate_course import OBJECTIVES, assess, completed_course
from training_app.extensions import db
from training_app.models import LearningOutcome
from training_app.services import ServiceError, outcomes, programmes


def _results(enrolment):
    return [(objective.text, code, comment) for objective, code, comment in outcomes.results_for(enrolment)]


def test_removing_an_assessed_objective_is_refused_with_its_name_and_nothing_changes():
    course = completed_course()
    awa = course.enrolments[0]
    assess(course, awa, {1: ("acquired", "A"), 2: ("not_acquired", "B"), 3: ("partly_acquired", "C")})
    before = _results(awa)
    with pytest.raises(ServiceError) as refused:
        programmes.save_programme(course.programme, {"title": "Nouveau titre"}, list(OBJECTIVES[1:]))
    db.session.rollback()
    assert refused.value.field == "objectives"
    assert f"« {OBJECTIVES[0]} » (acquis évalués dans 1 session)" in refused.value.message
    assert _results(awa) == before
    assert course.programme.title != "Nouveau titre"
    assert db.session.scalar(db.select(db.func.count(LearningOutcome.id))) == 3


def test_removing_or_reordering_objectives_keeps_the_results_on_their_objective():
    course = completed_course()
    awa = course.enrolments[0]
    assess(course, awa, {2: ("not_acquired", "B"), 3: ("partly_acquired", "C")})
    ids = {o.text: o.id for o in course.programme.objectives}
    # the first one (never assessed) goes, the last two swap, a new one comes at the end
    programmes.save_programme(course.programme, {}, [OBJECTIVES[2], OBJECTIVES[1], "Suivre une négociation"])
    db.session.commit()
    # the 2018 session keeps the course it was taught (its results on their objectives); the catalogue moved
    assert _results(awa) == [(OBJECTIVES[0], "not_assessed", ""), (OBJECTIVES[1], "not_acquired", "B"),
                             (OBJECTIVES[2], "partly_acquired", "C")]
    assert [o.text for o in course.programme.objectives] == [OBJECTIVES[2], OBJECTIVES[1], "Suivre une négociation"]
    assert [o.id for o in course.programme.objectives][:2] == [ids[OBJECTIVES[2]], ids[OBJECTIVES[1]]]
    assert [o.position for o in course.programme.objectives] == [1, 2, 3]


def test_a_reworded_objective_keeps_its_row_only_at_its_place_in_a_list_of_the_same_length():
    programme = factories.make_programme(objectives=("A", "B", "C"))
    ids = [o.id for o in programme.objectives]
    programmes.save_programme(programme, {}, ["A", "B reformulé", "C"])
    db.session.commit()
    assert [(o.id, o.text) for o in programme.objectives] == [(ids[0], "A"), (ids[1], "B reformulé"),
                                                             (ids[2], "C")]
    # one objective reworded and another one added: the reworded text cannot be told from a new one
    programmes.save_programme(programme, {}, ["A", "B encore reformulé", "C", "D"])
    db.session.commit()
    assert [o.id for o in programme.objectives][0::2] == [ids[0], ids[2]]
    assert ids[1] not in [o.id for o in programme.objectives]


# --- a session under way, and a trainer recording a result while the objective is removed ---------------------

def _running_course():
    """The reference programme's session of 5-8 March 2030, on its Thursday (frozen), with one trainee."""
    programme = factories.make_programme(objectives=OBJECTIVES)
    session = factories.make_session(programme=programme)  # Tue 5 March 2030 14:00 to Fri 8 March 12:30
    return programme, session, factories.make_enrolment(session)


def test_an_objective_a_running_session_teaches_cannot_be_removed_and_stays_assessable_there():
    from datetime import datetime

    from training_app.clock import frozen_at
    programme, session, enrolment = _running_course()
    with frozen_at(datetime(2030, 3, 7, 10, 0)):
        with pytest.raises(ServiceError) as refused:
            programmes.save_programme(programme, {"title": "Nouveau titre"}, list(OBJECTIVES[1:]))
        db.session.rollback()
        assert refused.value.field == "objectives"
        assert refused.value.message.startswith(
            f"Impossible de retirer « {OBJECTIVES[0]} » : une session en cours l'enseigne jusqu'au ")
        assert "jusqu'au 08/03/2030 à 12h30 (ses formateur·rices l'évaluent" in refused.value.message
        assert [o.text for o in programme.objectives] == list(OBJECTIVES) and programme.title != "Nouveau titre"
        assert [o.text for o in outcomes.assessable_objectives(session)] == list(OBJECTIVES)
        assert outcomes.record_outcome(enrolment, programme.objectives[0], "acquired") == 1
        db.session.commit()
        # reordering and rewording in place stay possible: no objective goes
        programmes.save_programme(programme, {}, [OBJECTIVES[1], OBJECTIVES[0], OBJECTIVES[2] + " (reformulé)"])
        db.session.commit()
    with frozen_at(datetime(2030, 3, 8, 12, 30)):  # once the session is over, an objective never assessed can go
        programmes.save_programme(programme, {}, [OBJECTIVES[1], OBJECTIVES[0]])
        db.session.commit()
    assert [o.text for o in programme.objectives] == [OBJECTIVES[1], OBJECTIVES[0]]


def test_a_cancelled_or_upcoming_session_does_not_keep_an_objective():
    from datetime import datetime

    from training_app.clock import frozen_at
    programme, session, _enrolment = _running_course()
    session.status = "cancelled"
    factories.make_session(programme=programme, start=datetime(2030, 6, 3, 9, 30), end=datetime(2030, 6, 4, 18))
    db.session.commit()
    with frozen_at(datetime(2030, 3, 7, 10, 0)):
        programmes.save_programme(programme, {}, list(OBJECTIVES[1:]))
        db.session.commit()
    assert [o.text for o in programme.objectives] == list(OBJECTIVES[1:])


def _kept_course():
    """The completed 2018 course, which keeps what it was taught since a first edit of the catalogue: no
    removal touches its row, so a trainer recording a result waits for nothing but the objective's row."""
    course = completed_course(trainees=("Awa Diallo",))
    programmes.save_programme(course.programme, {"title": "Négocier localement"}, list(OBJECTIVES))
    db.session.commit()
    assert course.session.taught_title is not None
    return course


@pytest.mark.postgres_only
@pytest.mark.parametrize("first", ["trainer", "admin"])
def test_a_result_recorded_while_its_objective_is_removed_is_never_lost(app, first):
    """Either the trainer's result is committed and the removal refused, or the objective is removed and the
    trainer's save refused in French: never a committed result deleted with its objective."""
    from tests.conftest import is_postgres
    from tests.unit.test_enrolment_concurrency import _first_holds_second_waits
    from training_app.models import Enrolment, Programme, ProgrammeObjective
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    course = _kept_course()
    programme_id, enrolment_id = course.programme.id, course.enrolments[0].id
    objective_id = course.programme.objectives[0].id
    db.session.remove()

    def record():
        outcomes.record_outcome(db.session.get(Enrolment, enrolment_id), db.session.get(ProgrammeObjective, objective_id),
                                "acquired", "Vu en jeu de rôle")

    def remove():
        programmes.save_programme(db.session.get(Programme, programme_id), {}, list(OBJECTIVES[1:]))

    actions = {"trainer": record, "admin": remove}
    second = "admin" if first == "trainer" else "trainer"
    outcome = _first_holds_second_waits(app, actions[first], actions[second])
    assert outcome["waited"] and outcome["first"] == "committed", outcome
    kept = db.session.scalars(db.select(LearningOutcome)).all()
    if first == "trainer":
        assert f"Impossible de retirer « {OBJECTIVES[0]} » (acquis évalués dans 1 session)" in outcome["second"]
        assert [(o.objective_id, o.result, o.comment) for o in kept] == [(objective_id, "acquired", "Vu en jeu de rôle")]
        assert db.session.get(ProgrammeObjective, objective_id) is not None
    else:
        assert outcome["second"] == "Cet objectif n'est pas un objectif de la formation."
        assert kept == [] and db.session.get(ProgrammeObjective, objective_id) is None
