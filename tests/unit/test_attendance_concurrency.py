"""Many devices signing the same trainee on the same half-day at once: exactly one signature."""
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
