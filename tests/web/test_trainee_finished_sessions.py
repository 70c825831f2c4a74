"""A trainee's own page once a session is over: never "Confirmée" (an enrolment's stored state stays
"confirmed" for ever); "Formation suivie" when hours attended were recorded, "Terminée" otherwise; a request or a
waiting list place never given says so, without promising a place any more."""
import html
import re
from datetime import datetime

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.models import EnrolmentStatus
from training_app.services import enrolments as enrolment_service

AFTER = datetime(2030, 3, 9, 10, 0)  # the factory session runs from 5 to 8 March 2030
BEFORE = datetime(2030, 2, 1, 9, 0)


def _states(client, trainee, at: datetime) -> dict[str, str]:
    """{session title: the state shown on the trainee's page}, and the page."""
    with frozen_at(at):
        response = client.get(factories.personal_path(trainee))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    cards = re.findall(r'card-title">(.*?)</h3>.*?data-testid="enrolment-state">(.*?)</span>', page, re.S)
    return {title: html.unescape(state) for title, state in cards}, page


@pytest.fixture
def trainer():
    return factories.make_user("trainer")


def test_a_confirmed_trainee_reads_that_they_followed_the_course_once_it_is_over(client, trainer):
    session, (enrolment,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    factories.take_attendance(session, trainer)
    trainee = enrolment.trainee
    assert _states(client, trainee, BEFORE)[0] == {session.title: "Confirmée"}
    with frozen_at(datetime(2030, 3, 6, 10, 0)):  # running: still confirmed
        assert enrolment_service.trainee_state(enrolment, lambda: 0) == "confirmed"
    states, page = _states(client, trainee, AFTER)
    assert states == {session.title: "Formation suivie"} and "Confirmée" not in page


def test_a_confirmed_trainee_without_hours_attended_reads_that_it_is_over(client, trainer):
    session, (present, absent) = factories.make_attendance_session(trainees=2, trainers=[trainer])
    factories.take_attendance(session, trainer, absent={(absent.id, index): ("absent_unjustified", "")
                                                        for index in range(len(session.slots))})
    unmarked = factories.make_attendance_session(trainees=1)[1][0]  # nobody recorded its attendance
    for enrolment in (absent, unmarked):
        states, page = _states(client, enrolment.trainee, AFTER)
        assert states == {enrolment.session.title: "Terminée"} and "Confirmée" not in page
    assert _states(client, present.trainee, AFTER)[0] == {session.title: "Formation suivie"}


def test_a_session_marked_completed_by_the_office_is_over_before_its_end(client):
    session = factories.make_session(start=datetime(2030, 1, 7, 9, 30), end=datetime(2030, 1, 8, 18, 0),
                                     status="completed")
    enrolment = factories.make_enrolment(session)
    states, page = _states(client, enrolment.trainee, datetime(2030, 1, 8, 19, 0))
    assert states == {session.title: "Terminée"} and "Confirmée" not in page


def test_a_request_or_a_waiting_list_place_never_given_is_over_too(client):
    session = factories.make_session(capacity=1)
    waiting = factories.make_enrolment(session, status=EnrolmentStatus.WAITLISTED)
    requested = factories.make_enrolment(session, status=EnrolmentStatus.REQUESTED)

    states, page = _states(client, waiting.trainee, BEFORE)
    assert states == {session.title: "Liste d'attente"} and 'data-testid="waitlist-position"' in page
    assert "Tarif :" in page
    assert "nous vous confirmerons votre place" in _states(client, requested.trainee, BEFORE)[1]

    for enrolment in (waiting, requested):
        states, page = _states(client, enrolment.trainee, AFTER)
        assert states == {session.title: "Terminée, sans place obtenue"}
        assert 'data-testid="waitlist-position"' not in page and "nous vous confirmerons votre place" not in page
        assert "Tarif :" not in page  # no price for a seat never obtained


def test_cancelled_and_withdrawn_keep_their_state(client):
    cancelled_session = factories.make_session(status="cancelled")
    in_cancelled_session = factories.make_enrolment(cancelled_session, status=EnrolmentStatus.CANCELLED)
    withdrawn = factories.make_enrolment(factories.make_session(), status=EnrolmentStatus.WITHDRAWN)
    cancelled = factories.make_enrolment(factories.make_session(), status=EnrolmentStatus.CANCELLED)
    assert _states(client, in_cancelled_session.trainee, AFTER)[0] == {cancelled_session.title: "Annulée"}
    assert _states(client, withdrawn.trainee, AFTER)[0] == {withdrawn.session.title: "Abandon"}
    assert _states(client, cancelled.trainee, AFTER)[0] == {cancelled.session.title: "Annulée"}
