"""A double click on "send to those who have not received it" or on the questionnaire reminder
e-mails nobody twice: the second request waits for the first under the session row lock."""
from datetime import datetime, timedelta

import pytest

from tests import factories
from tests.conftest import is_postgres
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import ConvocationSending, Enrolment, Survey, TrainingSession
from training_app.services import ServiceError, convocations
from training_app.services import surveys as survey_service

REMINDING = datetime(2030, 3, 12, 10)  # the factory survey is open from 8 to 22 March 2030


def test_sending_to_those_not_convoked_twice_in_a_row_sends_each_once(outbox):
    factories.make_organisation()
    session = factories.make_session()
    enrolments = [factories.make_enrolment(session) for _ in range(3)]
    assert len(convocations.send_all(session, only_new=True).sent) == 3
    db.session.commit()
    assert convocations.send_all(session, only_new=True).sent == []
    db.session.commit()
    assert sorted(m.to[0] for m in outbox) == sorted(e.trainee.email for e in enrolments)


@pytest.mark.postgres_only
def test_a_double_click_on_send_to_those_not_convoked_sends_each_convocation_once(app, outbox):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    factories.make_organisation()
    session = factories.make_session()
    enrolments = [factories.make_enrolment(session) for _ in range(3)]
    session_id = session.id

    def click():
        return len(convocations.send_all(db.session.get(TrainingSession, session_id), only_new=True).sent)

    results, errors = factories.run_together(app, click, click)
    assert errors == [] and sorted(results) == [0, 3]
    assert db.session.scalar(db.select(db.func.count(ConvocationSending.id))) == 3
    assert sorted(m.to[0] for m in outbox) == sorted(e.trainee.email for e in enrolments)


@pytest.mark.postgres_only
def test_a_double_click_on_one_trainee_s_convocation_sends_it_once(app, outbox):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    factories.make_organisation()
    enrolment_id = factories.make_enrolment(factories.make_session()).id

    def click():
        return convocations.send_one(db.session.get(Enrolment, enrolment_id))

    results, errors = factories.run_together(app, click, click)
    assert errors == []
    assert sum(isinstance(r, ServiceError) and "vient de lui être envoyée" in r.message for r in results) == 1
    assert db.session.scalar(db.select(db.func.count(ConvocationSending.id))) == 1 and len(outbox) == 1


@pytest.mark.postgres_only
def test_a_double_click_on_new_version_or_on_attach_makes_one_and_explains_the_other(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    from training_app.models import Questionnaire
    questionnaire_id = factories.make_questionnaire().id
    session_id = factories.make_session().id

    def new_version():
        return survey_service.new_version(db.session.get(Questionnaire, questionnaire_id)).version

    results, errors = factories.run_together(app, new_version, new_version)
    assert errors == [] and 2 in results
    assert any(isinstance(r, ServiceError) and "archivée" in r.message for r in results)
    latest = db.session.scalar(db.select(Questionnaire).where(Questionnaire.version == 2))

    def attach():
        return survey_service.attach(db.session.get(TrainingSession, session_id),
                                     db.session.get(Questionnaire, latest.id)).id

    results, errors = factories.run_together(app, attach, attach)
    assert errors == [] and any(isinstance(r, ServiceError) and "déjà proposé" in r.message for r in results)
    assert db.session.scalar(db.select(db.func.count(Survey.id))) == 1


def test_a_second_reminder_right_after_the_first_is_refused(outbox):
    survey = factories.make_survey()
    silent = [factories.make_enrolment(survey.session).trainee for _ in range(2)]
    with frozen_at(REMINDING):
        assert survey_service.send_reminders(survey) == 2
        db.session.commit()
    with frozen_at(REMINDING + timedelta(seconds=2)), pytest.raises(ServiceError, match="vient d'être envoyée"):
        survey_service.send_reminders(survey)
    db.session.rollback()
    with frozen_at(REMINDING + timedelta(hours=1)):  # a reminder later on is a decision: it goes
        assert survey_service.send_reminders(survey) == 2
        db.session.commit()
    assert sorted(m.to[0] for m in outbox) == sorted([t.email for t in silent] * 2)


@pytest.mark.postgres_only
def test_a_double_click_on_the_reminder_e_mails_each_trainee_once(app, outbox):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    survey = factories.make_survey()
    silent = [factories.make_enrolment(survey.session).trainee for _ in range(3)]
    survey_id = survey.id

    def click():
        with frozen_at(REMINDING):
            return survey_service.send_reminders(db.session.get(Survey, survey_id))

    results, errors = factories.run_together(app, click, click)
    assert errors == [] and 3 in results and len(results) == 2
    assert any(isinstance(r, ServiceError) and "vient d'être envoyée" in r.message for r in results)
    assert sorted(m.to[0] for m in outbox) == sorted(t.email for t in silent)
    db.session.expire_all()
    assert db.session.get(Survey, survey_id).reminders_sent == 1
