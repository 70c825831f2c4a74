"""Enrolments: the only place where an enrolment's status changes.

Capacity is checked and the row inserted under a lock on the session row
(SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers anyway), so a
session never has more confirmed enrolments than seats.
"""
from flask_babel import gettext as _
from sqlalchemy import func

from training_app.clock import local_now, utcnow
from training_app.extensions import db
from training_app.models import Enrolment, EnrolmentStatus, SessionStatus, Trainee, TrainingSession, User
from training_app.models.enrolments import LIVE_STATUSES
from training_app.services import ServiceError, audit


def lock_session(session_id: int) -> TrainingSession:
    """Load the session row and lock it until the end of the transaction."""
    session = db.session.scalar(
        db.select(TrainingSession).where(TrainingSession.id == session_id)
        .with_for_update().execution_options(populate_existing=True))
    if session is None:
        raise ServiceError(_("Cette session n'existe pas."))
    return session


def enrol(training_session: TrainingSession, trainee: Trainee, *, actor: User | None = None,
          actor_label: str = "", funding_mode: str = "") -> Enrolment:
    """Enrol `trainee`: confirmed while seats are left, waitlisted once the session is full."""
    session = lock_session(training_session.id)
    if session.status == SessionStatus.CANCELLED:
        raise ServiceError(_("Cette session est annulée : on ne peut plus s'y inscrire."))
    if session.end_at < local_now():
        raise ServiceError(_("Cette session est terminée : on ne peut plus s'y inscrire."))
    live = db.session.scalar(
        db.select(Enrolment.id).where(Enrolment.session_id == session.id, Enrolment.trainee_id == trainee.id,
                                      Enrolment.status.in_(LIVE_STATUSES)))
    if live is not None:
        raise ServiceError(_("%(name)s est déjà inscrit·e à cette session.", name=trainee.full_name))
    confirmed = db.session.scalar(
        db.select(func.count(Enrolment.id))
        .where(Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.CONFIRMED))
    status = EnrolmentStatus.CONFIRMED if confirmed < session.capacity else EnrolmentStatus.WAITLISTED
    enrolment = Enrolment(session=session, trainee=trainee, status=status, funding_mode=funding_mode,
                          requested_at=utcnow(), price_cents=session.price_cents,
                          confirmed_at=utcnow() if status == EnrolmentStatus.CONFIRMED else None)
    db.session.add(enrolment)
    audit.record(enrolment, "enrolled", actor=actor, actor_label=actor_label,
                 from_state=EnrolmentStatus.REQUESTED, to_state=status)
    return enrolment
