"""Moving a session to another programme (services/sessions.update_session): refused once it has trainees, holds
evidence, or awaits the confirmation of a public request; decided under the session's row lock, so that an
enrolment made meanwhile is seen; never for a cancelled session."""
import threading
from datetime import datetime, timedelta

import pytest

from tests import factories
from tests.unit.test_registrations import _details
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Enrolment, Trainee, TrainingSession
from training_app.services import ServiceError, enrolments, registration_requests
from training_app.services import sessions as session_service
from training_app.services.sessions import SessionData

CHANGE_REFUSED = "La formation d'une session ne peut plus être changée"
ASKED = datetime(2030, 2, 1, 10, 0)  # a month before the session (Tue 5 March 2030)


def _data(session, programme) -> SessionData:
    return SessionData(programme=programme, start_at=session.start_at, end_at=session.end_at, place=session.place,
                       capacity=session.capacity, price_cents=session.price_cents, status=session.status,
                       trainers=tuple(session.trainers))


def _programme_id(session_id) -> int:
    db.session.expire_all()
    return db.session.get(TrainingSession, session_id).programme_id


def test_an_enrolment_made_while_the_move_waits_for_the_lock_is_seen(app, monkeypatch):
    """The check runs under the session's lock: an enrolment committed by someone else before the lock is granted
    keeps the session on its programme (it used to be checked before the lock, and the move went through)."""
    session = factories.make_session()
    other = factories.make_programme(title="Mobiliser les habitant·es", objectives=("Aller vers",))
    session_id, trainee_id = session.id, factories.make_trainee().id
    db.session.commit()
    real_lock, enrolled = enrolments.lock_session, []

    def enrol_elsewhere():
        with app.app_context():
            try:
                enrolments.enrol(db.session.get(TrainingSession, session_id), db.session.get(Trainee, trainee_id))
                db.session.commit()
                enrolled.append(True)
            finally:
                db.session.remove()

    def lock_after_an_enrolment(locked_id):
        if not enrolled and threading.current_thread() is threading.main_thread():
            thread = threading.Thread(target=enrol_elsewhere)
            thread.start()
            thread.join(timeout=30)
            assert enrolled, "the other transaction's enrolment did not commit"
        return real_lock(locked_id)

    monkeypatch.setattr(enrolments, "lock_session", lock_after_an_enrolment)
    with pytest.raises(ServiceError, match=CHANGE_REFUSED) as refused:
        session_service.update_session(session, _data(session, other))
    assert refused.value.field == "programme_id"
    db.session.rollback()
    assert _programme_id(session_id) != other.id
    assert db.session.scalar(db.select(db.func.count(Enrolment.id)).where(Enrolment.session_id == session_id)) == 1


def test_a_public_request_awaiting_its_confirmation_keeps_the_programme_until_its_link_expires(app, outbox):
    """The person asked for this programme: confirming would enrol them in another one. Once the link expired (or
    the request was confirmed: an enrolment, refused as any), the session can move."""
    session = factories.make_session()
    other = factories.make_programme(title="Mobiliser les habitant·es", objectives=("Aller vers",))
    with frozen_at(ASKED):
        registration_requests.ask(session, _details(), "opco")
        db.session.commit()
    with frozen_at(ASKED + timedelta(hours=1)):
        with pytest.raises(ServiceError, match="attendent la confirmation de leur adresse") as refused:
            session_service.update_session(session, _data(session, other))
        assert refused.value.field == "programme_id"
        assert "03/02/2030" in refused.value.message  # when the last link expires (48 hours)
        db.session.rollback()
        assert _programme_id(session.id) != other.id
    with frozen_at(ASKED + timedelta(hours=49)):
        session = db.session.get(TrainingSession, session.id)
        session_service.update_session(session, _data(session, other))
        db.session.commit()
    assert _programme_id(session.id) == other.id


def test_a_request_made_for_another_programme_keeps_no_session_on_its_programme(app, outbox):
    """A request recorded while its session moved (ask() takes no lock) kept the programme it was made for: it can
    never be confirmed in this one, so it does not hold the session on it; one made before the programme was kept
    (none stored) still does."""
    session = factories.make_session()
    asked_for, other = session.programme, factories.make_programme(title="Mobiliser", objectives=("Aller vers",))
    with frozen_at(ASKED):
        stale = registration_requests.ask(session, _details(), "opco")
        db.session.commit()
    session.programme = other  # the move that raced with the request, committed
    db.session.commit()
    with frozen_at(ASKED + timedelta(hours=1)):
        session_service.update_session(session, _data(session, asked_for))  # back, or on to a third one
        db.session.commit()
        assert _programme_id(session.id) == asked_for.id
        stale.details = {key: value for key, value in stale.details.items()
                         if key != registration_requests.PROGRAMME_KEY}  # as recorded before it was kept
        db.session.commit()
        session = db.session.get(TrainingSession, session.id)
        with pytest.raises(ServiceError, match="attendent la confirmation de leur adresse"):
            session_service.update_session(session, _data(session, other))
        db.session.rollback()


def test_a_cancelled_session_keeps_its_programme(outbox):
    """Its trainees were told that this course was cancelled: it is not reused for another one."""
    session = factories.make_session()
    factories.enrol(session)
    session_service.cancel_session(session, "La formatrice est malade.")
    db.session.commit()
    other = factories.make_programme(title="Mobiliser les habitant·es", objectives=("Aller vers",))
    with pytest.raises(ServiceError, match="Cette session est annulée : sa formation ne peut plus être changée") \
            as refused:
        session_service.update_session(session, _data(session, other))
    assert refused.value.field == "programme_id"
    db.session.rollback()
    assert _programme_id(session.id) != other.id
