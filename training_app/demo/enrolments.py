"""Past session: twelve trainees confirmed and convoked. Upcoming session: full (15), three on the
waiting list, convocations sent to the confirmed trainees, and one pre-registration request."""
from datetime import datetime, timedelta

from training_app.clock import frozen_at, local_now
from training_app.demo.people import demo_trainees
from training_app.demo.sessions import past_session, upcoming_session
from training_app.extensions import db
from training_app.models import ConvocationSending, Enrolment
from training_app.services import convocations
from training_app.services import enrolments as enrolment_service

PAST_COUNT = 12
UPCOMING_COUNT = 18  # 15 seats: the last three wait


def _enrol_all(session, trainees) -> None:
    if db.session.scalar(db.select(Enrolment.id).where(Enrolment.session_id == session.id).limit(1)):
        return
    for trainee in trainees:  # an employee's OPCO pays; someone without an employer pays for themselves
        enrolment_service.enrol(session, trainee, actor_label="démo",
                                funding_mode="opco" if trainee.employer_id else "personal")
        db.session.flush()


def _convoke_all(session) -> None:
    already = db.session.scalar(
        db.select(ConvocationSending.id).join(ConvocationSending.enrolment)
        .where(Enrolment.session_id == session.id).limit(1))
    if already is None:
        for enrolment in convocations.confirmed_enrolments(session):
            convocations.send(enrolment, actor_label="Claire Bernard (démo)")


def seed() -> None:
    trainees = demo_trainees()
    with frozen_at(datetime(2018, 11, 5, 10, 0)):
        _enrol_all(past_session(), trainees[:PAST_COUNT])
    with frozen_at(datetime(2018, 11, 26, 9, 30)):
        _convoke_all(past_session())
    upcoming = upcoming_session()
    _enrol_all(upcoming, trainees[len(trainees) - UPCOMING_COUNT:])
    # Convocations go out about two weeks before the course (or today, if that is sooner).
    with frozen_at(min(local_now(), upcoming.start_at - timedelta(days=14)).replace(microsecond=0)):
        _convoke_all(upcoming)
