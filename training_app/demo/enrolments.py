"""Past session: twelve trainees confirmed. Upcoming session: full (15), three on the waiting list."""
from datetime import datetime

from training_app.clock import frozen_at
from training_app.demo.people import demo_trainees
from training_app.demo.sessions import past_session, upcoming_session
from training_app.extensions import db
from training_app.models import Enrolment
from training_app.services import enrolments as enrolment_service

PAST_COUNT = 12
UPCOMING_COUNT = 18  # 15 seats: the last three wait


def _enrol_all(session, trainees) -> None:
    if db.session.scalar(db.select(Enrolment.id).where(Enrolment.session_id == session.id).limit(1)):
        return
    for trainee in trainees:
        enrolment_service.enrol(session, trainee, actor_label="démo", funding_mode="opco")
        db.session.flush()


def seed() -> None:
    trainees = demo_trainees()
    with frozen_at(datetime(2018, 11, 5, 10, 0)):
        _enrol_all(past_session(), trainees[:PAST_COUNT])
    _enrol_all(upcoming_session(), trainees[len(trainees) - UPCOMING_COUNT:])
