"""A cancelled session of the reference course: planned for 19-22 March 2019, six trainees enrolled
and convoked, then cancelled a week before (the trainer fell ill). Its trainees' enrolments are
cancelled with the reason and each of them was told by e-mail."""
from datetime import datetime

from training_app.clock import frozen_at
from training_app.demo.catalogue import reference_programme
from training_app.demo.people import demo_trainees
from training_app.demo.sessions import ACCESS, PLACE, _trainers
from training_app.extensions import db
from training_app.models import SessionStatus, TrainingSession, User
from training_app.services import convocations
from training_app.services import enrolments as enrolment_service
from training_app.services import sessions as session_service

START = datetime(2019, 3, 19, 14, 0)
END = datetime(2019, 3, 22, 12, 30)
REASON = ("La formatrice est indisponible (arrêt maladie). La session est reportée : nous vous proposerons "
          "de nouvelles dates dès que possible.")


def cancelled_session() -> TrainingSession | None:
    return db.session.scalar(db.select(TrainingSession).where(
        TrainingSession.programme_id == reference_programme().id, TrainingSession.start_at == START))


def seed() -> None:
    if cancelled_session() is not None:
        return
    with frozen_at(datetime(2019, 1, 7, 9, 0)):
        session = session_service.create_session(session_service.SessionData(
            programme=reference_programme(), start_at=START, end_at=END, place=PLACE, access_info=ACCESS,
            modality="in_person", capacity=15, price_cents=84000, status=SessionStatus.OPEN,
            contact_person="Claire Bernard, sionsalliait@gmail.com — 02 99 00 00 00", trainers=_trainers()))
    with frozen_at(datetime(2019, 1, 21, 10, 0)):
        for trainee in demo_trainees()[12:18]:
            enrolment_service.enrol(session, trainee, actor_label="démo", funding_mode="opco")
            db.session.flush()
    with frozen_at(datetime(2019, 3, 5, 9, 30)):
        for enrolment in convocations.confirmed_enrolments(session):
            convocations.send(enrolment, actor_label="Claire Bernard (démo)")
    office = db.session.scalar(db.select(User).where(User.role == "admin").order_by(User.id))
    with frozen_at(datetime(2019, 3, 12, 11, 0)):
        session_service.cancel_session(session, REASON, actor=office, actor_label="" if office else "démo")
