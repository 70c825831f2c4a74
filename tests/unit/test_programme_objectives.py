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
