"""Many devices signing the same trainee on the same half-day at once: exactly one signature."""
import re
import threading
from datetime import timedelta

import pytest

from tests import factories
from tests.conftest import is_postgres
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord, Enrolment, Signature, Slot
from training_app.services import ServiceError, attendance

pytestmark = pytest.mark.postgres_only

THREADS = 12


def test_concurrent_signatures_of_one_trainee_give_exactly_one(app):
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises every writer, so there is no real concurrency to test")
    session, (awa,) = factories.make_attendance_session(trainees=1)
    slot_id, enrolment_id = session.slots[0].id, awa.id
    moment = session.slots[0].starts_at + timedelta(minutes=3)
    barrier = threading.Barrier(THREADS)
    outcomes = []

    def sign(n: int) -> None:
        with app.app_context():
            try:
                slot, enrolment = db.session.get(Slot, slot_id), db.session.get(Enrolment, enrolment_id)
                barrier.wait(timeout=30)
                with frozen_at(moment):
                    attendance.sign(slot, enrolment, factories.signature_data_url(n), method="qr",
                                    ip_address=f"192.0.2.{n}")
                db.session.commit()
                outcomes.append("signed")
            except ServiceError as error:
                db.session.rollback()
                outcomes.append(error.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("signed") == 1
    assert len(outcomes) == THREADS
    assert all("a déjà signé" in o for o in outcomes if o != "signed")
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 1
    assert db.session.scalar(db.select(db.func.count(AttendanceRecord.id))) == 1


def test_a_signature_racing_the_cancellation_of_the_session_never_lands_on_it(app, monkeypatch):
    """The worst moment: the trainee's phone has read the enrolment (confirmed) and the session (running)
    when the office's cancellation commits. The signature waits for the session row's lock, then sees the
    cancellation: of the two, exactly one happens (a cancellation refuses a session with attendance)."""
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite serialises every writer, so there is no real concurrency to test")
    from training_app.models import TrainingSession
    from training_app.services import sessions

    session, (awa,) = factories.make_attendance_session(trainees=1)
    session_id, slot_id, enrolment_id = session.id, session.slots[0].id, awa.id
    moment = session.slots[0].starts_at + timedelta(minutes=3)
    cancelled = threading.Event()
    real_lock = attendance._lock

    def lock_once_cancelled(slot):
        cancelled.wait(timeout=30)
        return real_lock(slot)
    monkeypatch.setattr(attendance, "_lock", lock_once_cancelled)
    outcomes = {}

    def run(name, action, done=None):
        with app.app_context(), frozen_at(moment):
            try:
                action()
                db.session.commit()
                outcomes[name] = "done"
            except ServiceError as error:
                db.session.rollback()
                outcomes[name] = error.message
            finally:
                db.session.remove()
                if done is not None:
                    done.set()

    def sign():
        slot, enrolment = db.session.get(Slot, slot_id), db.session.get(Enrolment, enrolment_id)
        enrolment.status, slot.session.status  # read before the cancellation, as a request would
        attendance.sign(slot, enrolment, factories.signature_data_url(), method="qr")

    def cancel():
        sessions.cancel_session(db.session.get(TrainingSession, session_id), "Formateur malade")

    threads = [threading.Thread(target=run, args=("sign", sign)),
               threading.Thread(target=run, args=("cancel", cancel, cancelled))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes["cancel"] == "done"
    assert "annulée" in outcomes["sign"] or "n'est pas confirmée" in outcomes["sign"]
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 0


def test_every_write_locks_the_session_row_then_the_slot_row(app, trainer, admin):
    """The order of services/enrolments and services/sessions (the session's row first), so that an attendance
    write and a withdrawal, a move or a cancellation never each wait for the other's lock."""
    if not is_postgres(app):
        pytest.skip("needs PostgreSQL: SQLite takes no row locks")
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    slot = session.slots[0]

    def locked_tables(action):
        with factories.count_queries() as statements:
            action()
        db.session.commit()
        return [re.search(r"FROM (\w+)", s).group(1) for s in statements if "FOR UPDATE" in s]

    with frozen_at(slot.starts_at + timedelta(minutes=3)):
        assert locked_tables(lambda: attendance.sign(slot, awa, factories.signature_data_url(),
                                                     method="device")) == ["training_sessions", "slots"]
        assert locked_tables(lambda: attendance.mark(slot, awa, "late", actor=trainer,
                                                     arrival=factories.t("14:02"))) == ["training_sessions", "slots"]
    with frozen_at(slot.ends_at - timedelta(minutes=3)):
        assert locked_tables(lambda: attendance.close_slot(slot, trainer, factories.signature_data_url(9))) \
            == ["training_sessions", "slots"]
        assert locked_tables(lambda: attendance.reopen_slot(slot, admin, "Vérification")) \
            == ["training_sessions", "slots"]
