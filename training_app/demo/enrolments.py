"""Past session: twelve trainees confirmed and convoked. Upcoming session: full (15), three on the
waiting list, convocations sent to the confirmed trainees, and one request waiting for the office: a person
who asked by telephone, recorded « à confirmer plus tard » until her employer's OPCO agrees to fund her (it
takes no seat meanwhile; confirmed, she would join the waiting list). And a request made on the public page a
couple of hours ago, not confirmed yet: its link (in the outbox) waits in its e-mail; it holds no place."""
from datetime import datetime, timedelta

from training_app.clock import frozen_at, local_now
from training_app.demo.people import EMPLOYERS, demo_email, demo_trainees
from training_app.demo.sessions import past_session, upcoming_session
from training_app.extensions import db
from training_app.models import ConvocationSending, Enrolment, SessionStatus, Trainee, User
from training_app.services import convocations
from training_app.services import enrolments as enrolment_service
from training_app.services import registration_requests, registrations

PAST_COUNT = 12
UPCOMING_COUNT = 18  # 15 seats: the last three wait
REQUEST = registrations.PersonDetails(  # works at the Maison de quartier de Villejean
    civility="Mme", first_name="Nadia", last_name="Belkacem", email=demo_email("Nadia", "Belkacem"),
    job_title="Conseillère en insertion professionnelle", employer_name=EMPLOYERS[3][0],
    employer_siret=EMPLOYERS[3][1], category="employee")

UNCONFIRMED = registrations.PersonDetails(  # asked on the public page, for the Collectif Logement Bretagne
    civility="M.", first_name="Erwan", last_name="Le Dantec", email=demo_email("Erwan", "Le Dantec"),
    phone="06 12 34 56 78", job_title="Chargé d'accompagnement", employer_name=EMPLOYERS[4][0],
    employer_siret=EMPLOYERS[4][1])


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


def _request(session) -> None:
    """REQUEST's request for `session`, recorded by the office (once: whatever became of it since)."""
    trainee = db.session.scalar(db.select(Trainee).where(Trainee.email == REQUEST.email))
    if trainee is not None and db.session.scalar(db.select(Enrolment.id).where(
            Enrolment.session_id == session.id, Enrolment.trainee_id == trainee.id).limit(1)):
        return
    trainee, _created = registrations.find_or_create_trainee(REQUEST)
    office = db.session.scalar(db.select(User).where(User.role == "admin").order_by(User.id))
    enrolment_service.enrol(session, trainee, actor=office, actor_label="" if office else "démo",
                            funding_mode="opco", confirm=False)


def _unconfirmed_request(session) -> None:
    """UNCONFIRMED's request of the public page for `session`, a couple of hours old and not confirmed: made
    again when the one made before was confirmed or has expired (the demo shows one waiting)."""
    if any(asked.email == UNCONFIRMED.email for asked in registration_requests.unconfirmed(session)):
        return
    with frozen_at((local_now() - timedelta(hours=2)).replace(microsecond=0)):
        registration_requests.ask(session, UNCONFIRMED, "opco")


def seed() -> None:
    trainees = demo_trainees()
    with frozen_at(datetime(2018, 11, 5, 10, 0)):
        _enrol_all(past_session(), trainees[:PAST_COUNT])
    with frozen_at(datetime(2018, 11, 26, 9, 30)):
        _convoke_all(past_session())
    past_session().status = SessionStatus.COMPLETED  # as the office marks it once over: it takes nobody since
    upcoming = upcoming_session()
    _enrol_all(upcoming, trainees[len(trainees) - UPCOMING_COUNT:])
    # Convocations go out about two weeks before the course (or today, if that is sooner).
    with frozen_at(min(local_now(), upcoming.start_at - timedelta(days=14)).replace(microsecond=0)):
        _convoke_all(upcoming)
    _request(upcoming)
    _unconfirmed_request(upcoming)
