"""An erasure racing a trainee's answer or the office's e-mail of the certificates (PostgreSQL row locks).

Both writers read the trainee's row again under a shared lock (enrolments.lock_trainee): the erasure, which
locks it FOR UPDATE, happens wholly before them (they are refused in French) or wholly after (it removes
what they wrote). Never a named answer, or an e-mail to the real address, written after the erasure.
"""
from datetime import datetime

import pytest

from tests import certificate_course, factories
from tests.conftest import is_postgres
from tests.unit.test_enrolment_concurrency import _first_holds_second_waits
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Enrolment, OutgoingMail, Survey, SurveyAnswer, Trainee
from training_app.services import certificates, personal_data
from training_app.services import surveys as survey_service
from training_app.services.surveys import QuestionData

pytestmark = pytest.mark.postgres_only

AFTER_THE_COURSE = datetime(2019, 1, 20, 10, 0)  # the December 2018 course is over: erasure is allowed
ANSWER = "J'en retiens surtout la préparation des rencontres."


@pytest.fixture(autouse=True)
def _postgres_only(app):
    if not is_postgres(app):
        pytest.skip("real concurrency needs PostgreSQL row locks (set TEST_DATABASE_URL)")


@pytest.fixture
def course():
    course = certificate_course.completed_course(trainees=("Awa Diallo",))
    questionnaire = factories.make_questionnaire([QuestionData("free_text", "Qu'en retenez-vous ?")],
                                                 anonymous=False, title="À froid")
    survey = factories.make_survey(course.session, questionnaire, datetime(2019, 1, 10, 9, 0),
                                   datetime(2019, 2, 10, 18, 0))
    [enrolment] = course.enrolments
    ids = {"trainee": enrolment.trainee_id, "enrolment": enrolment.id, "survey": survey.id,
           "question": questionnaire.questions[0].id}
    with frozen_at(datetime(2018, 12, 20, 10, 0)):
        certificates.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    db.session.remove()
    return ids


def _erase(ids):
    def erase():
        with frozen_at(AFTER_THE_COURSE):
            personal_data.erase(db.session.get(Trainee, ids["trainee"]), "Demande de la personne", None,
                                actor_label="bureau")
    return erase


def _answer(ids):
    def answer():
        with frozen_at(AFTER_THE_COURSE):
            survey_service.submit(db.session.get(Survey, ids["survey"]), db.session.get(Trainee, ids["trainee"]),
                                  {ids["question"]: ANSWER})
    return answer


def _answers_kept() -> list[str]:
    return list(db.session.scalars(db.select(SurveyAnswer.text).where(SurveyAnswer.text == ANSWER)))


def test_an_answer_waiting_for_an_erasure_under_way_is_refused_in_french(app, course):
    outcome = _first_holds_second_waits(app, _erase(course), _answer(course))
    assert outcome["waited"] and outcome["first"] == "committed"
    assert outcome["second"] == ("Les données de cette personne viennent d'être effacées : les réponses n'ont pas été "
                                 "enregistrées.")
    assert _answers_kept() == []


def test_an_erasure_waiting_for_an_answer_being_written_removes_it(app, course):
    outcome = _first_holds_second_waits(app, _answer(course), _erase(course))
    assert outcome["waited"] and outcome == {"first": "committed", "second": "committed", "waited": True}
    assert _answers_kept() == []
    assert db.session.get(Trainee, course["trainee"]).erased_at is not None


def test_certificates_e_mailed_while_an_erasure_is_under_way_are_not_sent(app, course):
    address = db.session.get(Trainee, course["trainee"]).email

    def send():
        certificates.send_to_trainee(db.session.get(Enrolment, course["enrolment"]))

    outcome = _first_holds_second_waits(app, _erase(course), send)
    assert outcome["waited"] and outcome["first"] == "committed"
    assert outcome["second"] == "Les données d'Awa Diallo viennent d'être effacées : rien n'a été envoyé."
    assert [m for m in db.session.scalars(db.select(OutgoingMail)) if address in str(m.recipients)] == []
